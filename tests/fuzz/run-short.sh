#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time from its seed corpus, for
# CI. Usage: tests/fuzz/run-short.sh [BUILD_DIR] [SECONDS_PER_TARGET]
# (defaults: build-fuzz, 30). Build first with `make fuzz`. New inputs go to
# a temporary corpus, never into the repository; a crash leaves its input
# in the temporary directory, whose path is printed, and fails the run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../../build-fuzz}" && pwd)"
seconds="${2:-30}"
work="$(mktemp -d "${TMPDIR:-/tmp}/mfb-fuzz-XXXXXX")"
status=0
targets=(fuzz_api fuzz_daemon_api fuzz_parsers fuzz_ui)
for target in "${targets[@]}"; do
  exe="$build/tests/fuzz/$target"
  if [ ! -x "$exe" ]; then
    echo "run-short: $exe is missing; run 'make fuzz' first" >&2
    exit 2
  fi
  mkdir -p "$work/$target/corpus"
  cp "$here/corpus/$target/"* "$work/$target/corpus/"
  echo "run-short: $target for ${seconds}s" >&2
  if ! (cd "$work/$target" &&
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$exe" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
               -print_final_stats=1 corpus > log 2>&1); then
    echo "run-short: $target FAILED; input and log in $work/$target" >&2
    tail -40 "$work/$target/log" >&2
    status=1
  else
    grep -E "^(stat::number_of_executed_units|stat::new_units_added)" "$work/$target/log" >&2 || true
  fi
done
if [ $status -eq 0 ]; then
  rm -rf "$work"
  echo "${#targets[@]} passed, 0 failed"
else
  echo "0 passed, 1 failed"
fi
exit $status
