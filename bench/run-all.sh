#!/usr/bin/env bash
# bench/run-all.sh - runs every benchmark (bench/*.sh but this one and lib.sh,
# which the others source), one after another so they do not compete for
# the cores, and keeps each one's output in bench/out/<name>.txt.
# `make bench` calls it.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p out
status=0
for script in *.sh; do
  case $script in run-all.sh | lib.sh) continue ;; esac
  echo "== bench/$script"
  if ! bash "$script" 2>&1 | tee "out/${script%.sh}.txt"; then
    echo "bench/$script FAILED" >&2
    status=1
  fi
  echo
done
exit $status
