#!/usr/bin/env bash
# bench/backup.sh - the downtime and total time of one cold backup of a real
# MariaDB server, by `mfb backup` with each restart policy and by a shell
# script doing what the requirements literally describe.
#
# Data: the sysbench data directory of bench/archive.sh (8 tables x 1,000,000
# rows, about 2.4 GB; BENCH_TABLES / BENCH_ROWS), made once and cached in
# bench/data/. Each run works on a copy of it (cp --reflink=auto), so the
# cached directory stays as prepared. Client and receiver on this machine.
#
# In one run, each of these backs up the same server, one after another
# (BENCH_RUNS times, interleaved; the best run counts):
#   mfb upload    mfb backup, default policy: restart after the upload
#   mfb archive   mfb backup --restart-after archive
#   mfb snapshot  mfb backup --restart-after snapshot
#   script        SHUTDOWN; wait until mariadbd has exited; zip -r Data.zip
#                 DATADIR; curl -T Data.zip over HTTPS to nginx (a WebDAV PUT
#                 location, as in bench/transfer.sh); start mariadbd; wait
#                 until SELECT 1 answers
# Downtime is from the stop command to the first successful query (for mfb,
# the job's downtime_ms; for the script, the same two moments measured in
# the script); total is the wall time of the whole command. For mfb, the
# client's peak RSS and its CPU seconds (user + system) per GB of input
# files, from /usr/bin/time.
#
# The target's chunk size and connections: BENCH_CHUNK (16M) and
# BENCH_CONNECTIONS (4). Then the memory table: one default-policy backup
# for each chunk size in BENCH_RSS_CHUNKS ("16M 64M") and each number of
# connections in BENCH_RSS_CONNECTIONS ("4 8"), with its peak RSS (set
# BENCH_RSS_CHUNKS= to skip it).
#
# Goals (docs/backup.md): mfb's default downtime <= 0.10x the script's; the
# client's peak RSS under 48 MiB, whatever the chunk size and connections.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
export MFB=${MFB:-$ROOT/build/mfb}
export MFB_SERVER=${MFB_SERVER:-$ROOT/build/mfb-server}
TABLES=${BENCH_TABLES:-8}
CHUNK=${BENCH_CHUNK:-16M}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
RSS_CHUNKS=${BENCH_RSS_CHUNKS-16M 64M}
RSS_CONNECTIONS=${BENCH_RSS_CONNECTIONS-4 8}
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-1}
DATA=$ROOT/bench/data/sysbench-${TABLES}x${ROWS}
OUT=$ROOT/bench/out/backup
export MFB_TEST_TMP=${MFB_TEST_TMP:-$ROOT/bench/out/tmp}

for tool in "$MFB" "$MFB_SERVER" zip curl nginx openssl sysbench mariadbd mariadb python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/backup.sh: $tool is missing (run make deps)" >&2; exit 1; }
done

if [ "${1:-}" != --inner ]; then
  bench_sysbench_data "$DATA" "$TABLES" "$ROWS"
  rm -rf "$OUT"
  mkdir -p "$OUT"
  trap 'rm -rf "$OUT"' EXIT
  echo "copying the data directory ..."
  cp -a --reflink=auto "$DATA" "$OUT/datadir"
  # A server of the size the data was prepared with; it runs during the
  # whole benchmark and is stopped and started by each method in turn.
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
input_bytes=$(du -sb --apparent-size "$DATADIR" | cut -f1)
echo "data:    $DATA ($((input_bytes / 1000000)) MB of files)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"

# -- nginx with a WebDAV PUT location, for curl -T --------------------------------
NGX=$WORK/nginx
bench_nginx_start "$NGX"

# -- the receiver, and mfb configured through its commands -----------------------------
bench_receiver_init "$WORK/receiver" --reserve 0 || { cat "$WORK/receiver/init.err" >&2; exit 1; }
bench_receiver_client bench "$WORK/token"
bench_receiver_serve

export MFB_DB=$WORK/mfb.db
mkdir -p "$WORK/spool"
"$MFB" init >/dev/null
start_cmd="mariadbd --defaults-file=$SERVER_CNF >/dev/null 2>&1 &"
for policy in upload archive snapshot; do
  "$MFB" instance add "bench-$policy" --socket "$MFB_MARIADB_SOCKET" --user "$MFB_MARIADB_USER" \
    --password-file "$MFB_MARIADB_PASSWORD_FILE" --datadir "$DATADIR" --spool "$WORK/spool" \
    --control shutdown-sql --start-cmd "$start_cmd" --restart-after "$policy" >/dev/null
done
"$MFB" target add rx --url "https://127.0.0.1:$RX_PORT" --token-file "$WORK/token" \
  --fingerprint "$RX_FP" --chunk-size "$CHUNK" --connections "$CONNECTIONS" >/dev/null

# -- the methods -------------------------------------------------------------------------
RESULTS=$WORK/results
: >"$RESULTS"

run_mfb() { # POLICY [LABEL]
  local policy=$1 label=${2:-mfb-$1} t0 t1
  t0=$(now)
  # %M: peak RSS in KiB; %U %S: CPU seconds in user and system mode.
  /usr/bin/time -f "%M %U %S" -o "$WORK/mfb.time" \
    "$MFB" backup "bench-$policy" --progress=none --log-level warn --json >"$WORK/mfb.json"
  t1=$(now)
  python3 - "$WORK/mfb.json" "$label" "$t0" "$t1" "$MFB_DB" "$WORK/mfb.time" "$input_bytes" \
    >>"$RESULTS" <<'EOF'
import json, sqlite3, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "ok", r
con = sqlite3.connect(sys.argv[5])
con.row_factory = sqlite3.Row
job = con.execute("SELECT * FROM jobs WHERE id = ?", (r["job_id"],)).fetchone()
rss_kib, user, system = open(sys.argv[6]).read().split()[-3:]
steps = " ".join(f"{s}={job[s + '_ms'] / 1000:.2f}" for s in
                 ("stop", "snapshot", "archive", "upload", "start", "verify", "finish")
                 if job[s + "_ms"] is not None)
cpu_per_gb = (float(user) + float(system)) / (int(sys.argv[7]) / 1e9)
print(f"{sys.argv[2]} {job['downtime_ms'] / 1000:.3f} {float(sys.argv[4]) - float(sys.argv[3]):.3f} "
      f"{r['archive_bytes']} rss={int(rss_kib) / 1024:.1f}MiB cpu={cpu_per_gb:.2f}s/GB {steps}")
EOF
  # The receiver's disk is not what is measured: drop the backup again.
  curl -sS --fail -X DELETE --cacert "$RX_CERT" -H "Authorization: Bearer $(cat "$WORK/token")" \
    "https://127.0.0.1:$RX_PORT/v1/backups/$(python3 -c "import json; print(json.load(open('$WORK/mfb.json'))['backup_id'])")" \
    >/dev/null || true
}

server_pid() { cat "$MFB_MARIADB_PID_FILE" 2>/dev/null || true; }

run_script() {
  # What the requirements literally describe, with standard tools.
  local t0 t_stop t_zip t_up t_start t_answer pid
  rm -f "$WORK/Data.zip" "$NGX/data/dav/Data.zip"
  pid=$(server_pid)
  t0=$(now)
  mariadb --defaults-file="$CLIENT_CNF" -e SHUTDOWN
  while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
  t_stop=$(now)
  (cd "$DATADIR" && zip -r -q "$WORK/Data.zip" . -x mariadbd.sock -x '*.pid')
  t_zip=$(now)
  curl -sS --fail -T "$WORK/Data.zip" --cacert "$NGX/cert.pem" "https://127.0.0.1:$NGX_PORT/dav/Data.zip"
  t_up=$(now)
  bash -c "$start_cmd"
  t_start=$(now)
  until mariadb --defaults-file="$CLIENT_CNF" -e 'SELECT 1' >/dev/null 2>&1; do sleep 0.02; done
  t_answer=$(now)
  local size
  size=$(stat -c %s "$WORK/Data.zip")
  rm -f "$WORK/Data.zip" "$NGX/data/dav/Data.zip"
  awk -v a="$t0" -v b="$t_stop" -v c="$t_zip" -v d="$t_up" -v e="$t_start" -v f="$t_answer" -v s="$size" \
    'BEGIN { printf "script %.3f %.3f %d stop=%.2f zip=%.2f upload=%.2f start+verify=%.2f\n",
             f - a, f - a, s, b - a, c - b, d - c, f - d }' >>"$RESULTS"
}

cat "$DATADIR"/*/*.ibd >/dev/null 2>&1 || true # warm the page cache, for every method alike
for run in $(seq "$RUNS"); do
  for m in upload archive snapshot script; do
    echo "run $run: $m ..." >&2
    if [ "$m" = script ]; then run_script; else run_mfb "$m"; fi
    tail -1 "$RESULTS" | awk '{ printf "  %-13s downtime %7.2f s   total %7.2f s   %s\n", $1, $2, $3, substr($0, index($0, $5)) }' >&2
  done
done

echo
printf '%-14s %12s %10s %12s  %s\n' method "downtime s" "total s" "archive MB" "client rss, cpu per GB of files, steps (best run, s)"
best() { grep "^$1 " "$RESULTS" | sort -k2 -n | head -1; }
script_down=$(best script | awk '{print $2}')
for m in mfb-upload mfb-archive mfb-snapshot script; do
  best "$m" | awk -v sd="$script_down" '{
    steps = ""; for (i = 5; i <= NF; i++) steps = steps " " $i
    printf "%-14s %12.2f %10.2f %12.1f  %s   downtime = %.3fx script\n", $1, $2, $3, $4 / 1e6, steps, $2 / sd }'
done

# -- the client's memory against the chunk size and the connections ----------------------
if [ -n "$RSS_CHUNKS" ]; then
  echo
  printf '%-8s %12s %14s %12s\n' chunk connections "peak RSS MiB" "CPU s/GB"
  for chunk in $RSS_CHUNKS; do
    for conns in $RSS_CONNECTIONS; do
      "$MFB" target set rx --chunk-size "$chunk" --connections "$conns" >/dev/null
      echo "memory: chunk $chunk, $conns connections ..." >&2
      run_mfb upload "rss-$chunk-$conns"
      tail -1 "$RESULTS" | awk -v c="$chunk" -v n="$conns" '{
        rss = $5; sub("rss=", "", rss); sub("MiB", "", rss); cpu = $6; sub("cpu=", "", cpu); sub("s/GB", "", cpu)
        printf "%-8s %12s %14s %12s\n", c, n, rss, cpu }'
    done
  done
  "$MFB" target set rx --chunk-size "$CHUNK" --connections "$CONNECTIONS" >/dev/null
fi
mfb_down=$(best mfb-upload | awk '{print $2}')
awk -v m="$mfb_down" -v s="$script_down" 'BEGIN {
  printf "\ngoal: mfb default downtime <= 0.10x the script'"'"'s: %.3fx (%.2f s vs %.2f s): %s\n",
         m / s, m, s, m / s <= 0.10 ? "met" : "NOT met" }'
