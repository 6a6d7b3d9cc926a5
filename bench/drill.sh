#!/usr/bin/env bash
# bench/drill.sh - how long a restore drill (`mfb drill`, docs/drill.md)
# takes next to the backup it proves, on the benchmark's sysbench data.
#
# Data: the sysbench data directory of bench/archive.sh and bench/backup.sh
# (8 tables x 1,000,000 rows, about 2.4 GB), so the drill is timed on the
# data the backup benchmark uses; made once and cached in bench/data/,
# copied for each run. BENCH_TABLES / BENCH_ROWS choose another size (4 x
# 100,000, about 100 MB, takes a minute). Client, receiver and both
# servers on this machine.
#
# Each run (BENCH_RUNS, default 1; the best counts): `mfb backup` of the
# server, then `mfb drill` of that backup. Printed: the wall time of each,
# the backup's downtime, and the drill's steps from the job log (preflight
# = find + download + SHA-256 + directory check, archive = extraction (every CRC checked), start =
# the throwaway server answers, verify = CHECK TABLE and row counts of
# every table, stop, finish).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
export MFB=${MFB:-$ROOT/build/mfb}
export MFB_SERVER=${MFB_SERVER:-$ROOT/build/mfb-server}
TABLES=${BENCH_TABLES:-8}
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-1}
DATA=$ROOT/bench/data/sysbench-${TABLES}x${ROWS}
OUT=$ROOT/bench/out/drill
export MFB_TEST_TMP=${MFB_TEST_TMP:-$ROOT/bench/out/tmp}

for tool in "$MFB" "$MFB_SERVER" sysbench mariadbd mariadb python3; do
  command -v "$tool" >/dev/null || { echo "bench/drill.sh: $tool is missing (run make deps)" >&2; exit 1; }
done

if [ "${1:-}" != --inner ]; then
  bench_sysbench_data "$DATA" "$TABLES" "$ROWS"
  rm -rf "$OUT"
  mkdir -p "$OUT"
  trap 'rm -rf "$OUT"' EXIT
  cp -a --reflink=auto "$DATA" "$OUT/datadir"
  python3 tests/lib/mariadb.py run --datadir "$OUT/datadir" \
    --option innodb_buffer_pool_size=256M --option innodb_log_file_size=96M \
    -- bash "$0" --inner
  exit $?
fi

# ---- inside: the server runs; MFB_MARIADB_* say where ----------------------------
WORK=$OUT/work
mkdir -p "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
now() { date +%s.%N; }

DATADIR=$MFB_MARIADB_DATADIR
input_bytes=$(du -sb --apparent-size "$DATADIR" | cut -f1)
echo "data:    $DATA ($((input_bytes / 1000000)) MB of files)"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at start"

bench_receiver_init "$WORK/receiver" --reserve 0 || { cat "$WORK/receiver/init.err" >&2; exit 1; }
bench_receiver_client bench "$WORK/token"
bench_receiver_serve

export MFB_DB=$WORK/mfb.db
mkdir -p "$WORK/spool"
"$MFB" init >/dev/null
"$MFB" instance add bench --socket "$MFB_MARIADB_SOCKET" --user "$MFB_MARIADB_USER" \
  --password-file "$MFB_MARIADB_PASSWORD_FILE" --datadir "$DATADIR" --spool "$WORK/spool" \
  --control shutdown-sql --start-cmd "mariadbd --defaults-file=$MFB_MARIADB_SERVER_CNF >/dev/null 2>&1 &" \
  >/dev/null
"$MFB" target add rx --url "https://127.0.0.1:$RX_PORT" --token-file "$WORK/token" \
  --fingerprint "$RX_FP" >/dev/null

RESULTS=$WORK/results
: >"$RESULTS"
# Prints "KIND TOTAL_S EXTRA STEPS" for the newest job of KIND.
job_line() { # KIND TOTAL_S
  python3 - "$MFB_DB" "$1" "$2" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.row_factory = sqlite3.Row
job = con.execute("SELECT * FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT 1",
                  (sys.argv[2],)).fetchone()
assert job["status"] == "ok", dict(job)
steps = " ".join(f"{s}={job[s + '_ms'] / 1000:.2f}" for s in
                 ("preflight", "stop", "archive", "upload", "start", "verify", "finish")
                 if job[s + "_ms"] is not None)
extra = (f"downtime={job['downtime_ms'] / 1000:.2f}" if job["downtime_ms"] is not None
         else f"extracted={job['bytes_in'] / 1e6:.0f}MB")
print(f"{sys.argv[2]} {float(sys.argv[3]):.3f} {extra} {steps}")
PY
}

for run in $(seq "$RUNS"); do
  echo "run $run: backup ..." >&2
  t0=$(now)
  "$MFB" backup bench --progress=none --log-level warn >/dev/null
  t1=$(now)
  job_line backup "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >>"$RESULTS"
  echo "run $run: drill ..." >&2
  t0=$(now)
  "$MFB" drill bench latest --log-level warn >"$WORK/drill.out"
  t1=$(now)
  job_line drill "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >>"$RESULTS"
  grep -E "tables checked" "$WORK/drill.out" >&2 || true
done

echo
printf '%-8s %9s  %s\n' job "total s" "detail (best run, s)"
for k in backup drill; do
  grep "^$k " "$RESULTS" | sort -k2 -n | head -1 | awk '{
    rest = ""; for (i = 3; i <= NF; i++) rest = rest " " $i
    printf "%-8s %9.2f %s\n", $1, $2, rest }'
done
b=$(grep "^backup " "$RESULTS" | sort -k2 -n | head -1 | awk '{print $2}')
d=$(grep "^drill " "$RESULTS" | sort -k2 -n | head -1 | awk '{print $2}')
awk -v b="$b" -v d="$d" 'BEGIN { printf "\ndrill / backup wall time: %.2fx\n", d / b }'
