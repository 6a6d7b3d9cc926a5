#!/usr/bin/env bash
# bench/restore.sh - the downtime and total time of `mfb restore` of a real
# MariaDB server, staged (the default) and --in-place, the time of
# `mfb restore --to DIR`, and the same archive extracted by unzip, bsdtar
# and 7z in the same run; and the time of `mfb fetch` of the same backup
# beside a staged restore that downloads it (which extracts while it
# downloads), so that "restore total <= 1.3x the download" reads off one
# run (docs/restore.md).
#
# Data: the sysbench data directory of bench/archive.sh, made once and
# cached in bench/data/ (BENCH_TABLES x BENCH_ROWS; small defaults here,
# 4 x 200,000 rows, about 0.2 GB: BENCH_TABLES=8 BENCH_ROWS=1000000 is the
# set of bench/backup.sh). The server runs on a copy. One `mfb backup` puts
# it on a receiver on this machine. `mfb fetch` downloads it once (timed);
# then "staged-dl", a staged restore with no download in the spool, fetches
# it from the receiver and keeps it (--keep-download); every other restore
# reuses that file, so what they measure is the restore, not the network.
#
# Downtime is measured from outside: a prober runs `SELECT 1` (a new
# connection each time, as a client would) every 50 ms during each restore;
# the downtime is the longest time between two answers. mfb's own figure
# (from its stop to the first answer) is printed beside it. Extraction MB/s
# is the uncompressed size over the time the extraction took: for a staged
# restore the staging step, for the others the whole command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
export MFB=${MFB:-$ROOT/build/mfb}
export MFB_SERVER=${MFB_SERVER:-$ROOT/build/mfb-server}
TABLES=${BENCH_TABLES:-4}
ROWS=${BENCH_ROWS:-200000}
DATA=$ROOT/bench/data/sysbench-${TABLES}x${ROWS}
OUT=$ROOT/bench/out/restore
export MFB_TEST_TMP=${MFB_TEST_TMP:-$ROOT/bench/out/tmp}

for tool in "$MFB" "$MFB_SERVER" unzip bsdtar 7z sysbench mariadbd mariadb python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/restore.sh: $tool is missing (run make deps)" >&2; exit 1; }
done

if [ "${1:-}" != --inner ]; then
  bench_sysbench_data "$DATA" "$TABLES" "$ROWS"
  rm -rf "$OUT"
  mkdir -p "$OUT"
  trap 'rm -rf "$OUT"' EXIT
  echo "copying the data directory ..."
  cp -a --reflink=auto "$DATA" "$OUT/datadir"
  python3 tests/lib/mariadb.py run --datadir "$OUT/datadir" \
    --option innodb_buffer_pool_size=256M --option innodb_log_file_size=96M \
    -- bash "$0" --inner
  exit $?
fi

# ---- inside: the server runs; MFB_MARIADB_* say where ----------------------------
WORK=$OUT/work
mkdir -p "$WORK"
chmod 755 "$OUT" "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

now() { date +%s.%N; }

DATADIR=$MFB_MARIADB_DATADIR
SERVER_CNF=$MFB_MARIADB_SERVER_CNF
CLIENT_CNF=$MFB_MARIADB_CLIENT_CNF
echo "data:    $DATA ($(($(du -sb --apparent-size "$DATADIR" | cut -f1) / 1000000)) MB of files)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"

bench_receiver_init "$WORK/receiver" --reserve 0 || { cat "$WORK/receiver/init.err" >&2; exit 1; }
bench_receiver_client bench "$WORK/token"
bench_receiver_serve

export MFB_DB=$WORK/mfb.db
SPOOL=$WORK/spool
mkdir -p "$SPOOL"
"$MFB" init >/dev/null
start_cmd="mariadbd --defaults-file=$SERVER_CNF >/dev/null 2>&1 &"
"$MFB" instance add bench --socket "$MFB_MARIADB_SOCKET" --user "$MFB_MARIADB_USER" \
  --password-file "$MFB_MARIADB_PASSWORD_FILE" --datadir "$DATADIR" --spool "$SPOOL" \
  --control shutdown-sql --start-cmd "$start_cmd" >/dev/null
"$MFB" target add rx --url "https://127.0.0.1:$RX_PORT" --token-file "$WORK/token" \
  --fingerprint "$RX_FP" >/dev/null

echo "backing up ..."
bid=$("$MFB" backup bench --progress=none --log-level warn --json --no-alerts |
  python3 -c "import json,sys; print(json.load(sys.stdin)['backup_id'])")
ZIP=$SPOOL/restore-$bid.zip
FETCHED=$WORK/fetched.zip
f0=$(now)
/usr/bin/time -f "%U %S" -o "$WORK/cpu-fetch" "$MFB" fetch "$bid" "$FETCHED" --target rx --log-level warn >/dev/null
f1=$(now)
fetch_s=$(awk -v a="$f0" -v b="$f1" 'BEGIN { printf "%.3f", b - a }')
zip_mb=$(($(stat -c %s "$FETCHED") / 1000000))
data_bytes=$(python3 -c "import zipfile,sys; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))" "$FETCHED")
rm -f "$FETCHED"
echo "archive: $ZIP ($zip_mb MB, $((data_bytes / 1000000)) MB uncompressed)"

# The prober: one line per attempt, "<unix time> ok|down".
probe() { # LOG
  while :; do
    t=$(now)
    if mariadb --defaults-file="$CLIENT_CNF" -N -e 'SELECT 1' >/dev/null 2>&1; then
      echo "$t ok"
    else
      echo "$t down"
    fi
    sleep 0.05
  done >"$1"
}
longest_gap() { # LOG: the longest time between two answers around a "down"
  awk '$2 == "ok" { if (down && last) { g = $1 - last; if (g > best) best = g } last = $1; down = 0 }
       $2 == "down" { down = 1 }
       END { printf "%.2f", best }' "$1"
}

RESULTS=$WORK/results
: >"$RESULTS"

run_restore() { # NAME ARGS...
  local name=$1 t0 t1 log=$WORK/probe-$1.log out=$WORK/out-$1.txt
  shift
  probe "$log" &
  local prober=$!
  pids+=("$prober")
  sleep 0.3
  t0=$(now)
  /usr/bin/time -f "%U %S" -o "$WORK/cpu-$name" \
    "$MFB" restore bench "$bid" --keep-download --log-level info "$@" >"$out" 2>"$WORK/err-$name"
  t1=$(now)
  sleep 0.3
  kill "$prober" 2>/dev/null || true
  wait "$prober" 2>/dev/null || true
  local own staged_s
  own=$(sed -n 's/.*; downtime \(.*\)$/\1/p' "$out")
  staged_s=$(sed -n 's/^staged [0-9]* entries in \([0-9.]*\)s while.*/\1/p' "$out")
  [ -n "$staged_s" ] || staged_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  awk -v n="$name" -v a="$t0" -v b="$t1" -v d="$(longest_gap "$log")" -v o="${own:--}" \
    -v x="$staged_s" -v bytes="$data_bytes" -v cpu="$(awk '{ print $1 + $2 }' "$WORK/cpu-$name")" \
    'BEGIN { printf "%-12s total %7.2f s   downtime (prober) %6.2f s   mfb says %-8s   extraction %7.1f MB/s   mfb cpu %5.2f s\n",
             n, b - a, d, o, bytes / 1e6 / x, cpu }' | tee -a "$RESULTS"
  # the old directories are kept by design; the benchmark does not need them
  rm -rf "$DATADIR".mfb-before-restore-*
}

run_tool() { # NAME COMMAND...
  local name=$1 t0 t1 dir=$WORK/x-$1
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  t0=$(now)
  (cd "$dir" && "$@" >/dev/null)
  t1=$(now)
  rm -rf "$dir"
  awk -v n="$name" -v a="$t0" -v b="$t1" -v bytes="$data_bytes" \
    'BEGIN { printf "%-12s total %7.2f s   %41s   extraction %7.1f MB/s\n", n, b - a, "", bytes / 1e6 / (b - a) }' |
    tee -a "$RESULTS"
}

echo
awk -v s="$fetch_s" -v mb="$zip_mb" -v cpu="$(awk '{ print $1 + $2 }' "$WORK/cpu-fetch")" \
  'BEGIN { printf "%-12s total %7.2f s   %41s   download   %7.1f MB/s   mfb cpu %5.2f s\n", "mfb fetch", s, "", mb / s, cpu }' |
  tee -a "$RESULTS"
run_restore staged-dl # downloads (and, since it can, extracts while downloading)
# how long the staging went on after the download's last byte (mfb's log)
sed -n 's/.*step=stream .*download_ms=\([0-9]*\) extract_ms=\([0-9]*\) extract_after_download_ms=\([0-9]*\) .*/staged-dl: download \1 ms, staging done at \2 ms, \3 ms after the last byte/p' \
  "$WORK/err-staged-dl" | tee -a "$RESULTS"
ratio=$(awk -v s="$fetch_s" '$1 == "staged-dl" { printf "%.2f", $3 / s }' "$RESULTS")
echo "restore total / fetch: $ratio (a staged restore that downloads, against the download alone)" |
  tee -a "$RESULTS"
cat "$ZIP" >/dev/null # warm the page cache, for every method alike
run_restore staged
run_restore in-place --in-place
rm -rf "$WORK/to"
run_restore to --to "$WORK/to"
rm -rf "$WORK/to"
run_tool unzip unzip -q "$ZIP"
run_tool bsdtar bsdtar -xf "$ZIP"
run_tool 7z 7z x -y "$ZIP"
