#!/usr/bin/env bash
# bench/concurrency.sh - the receiver's concurrency check at full size: 32 clients, each with
# its own token, push 200 MB each to one receiver at the same time over TLS
# (`mfb push`, 4 connections each: 128 connections at once). Every backup is
# then verified: the published file's .sha256 passes `sha256sum -c`, and each
# client lists exactly its own backup through the API.
#
# Prints the aggregate throughput (MB/s of wall time, 10^6 bytes), the CPU
# seconds per GB of the receiver (utime + stime from /proc/PID/stat) and of
# all clients together, and the receiver's peak RSS (VmHWM from
# /proc/PID/status).
#
# All clients push the same source file (one 200 MB file in the page cache
# instead of 6.4 GB of sources); the receiver does the same work either way.
# The receiver's storage is on disk under bench/out unless BENCH_DIR says
# otherwise (6.4 GB: tmpfs would take that much RAM); every chunk is
# fsynced, so the disk is part of what is measured.
#
# Knobs: BENCH_CLIENTS (32), BENCH_CONCURRENCY_MB (200), BENCH_CONNECTIONS (4),
# BENCH_CHUNK (16M), BENCH_DIR, BENCH_KEEP (keep the files).
# The small version of this check runs in `make check`:
# tests/integration/server_concurrency.py.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
MFB=${MFB:-$ROOT/build/mfb}
MFB_SERVER=${MFB_SERVER:-$ROOT/build/mfb-server}
CLIENTS=${BENCH_CLIENTS:-32}
SIZE_MB=${BENCH_CONCURRENCY_MB:-200}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
CHUNK=${BENCH_CHUNK:-16M}

for tool in "$MFB" "$MFB_SERVER" curl openssl python3 sha256sum /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/concurrency.sh: $tool is missing (run make deps)" >&2; exit 1; }
done

base=${BENCH_DIR:-$ROOT/bench/out}
mkdir -p "$base"
need_kb=$((SIZE_MB * 1000 * (CLIENTS + 1) * 1024 / 1000))
avail_kb=$(df -Pk "$base" | awk 'NR==2 {print $4}')
if [ "$avail_kb" -lt "$need_kb" ]; then
  echo "bench/concurrency.sh: $base has $((avail_kb / 1024)) MiB free, needs $((need_kb / 1024)) MiB" >&2
  exit 1
fi
WORK=$(mktemp -d "$base/mfb-concurrency.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

echo "bench/concurrency.sh: $CLIENTS clients x $SIZE_MB MB, $CONNECTIONS connections each, chunk $CHUNK, files in $base"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

FILE=$WORK/data.bin
head -c $((SIZE_MB * 1000000)) /dev/urandom >"$FILE"
BYTES=$(stat -c %s "$FILE")
SHA=$(openssl dgst -sha256 -r "$FILE" | cut -c1-64)

bench_receiver_init "$WORK/receiver" || { cat "$WORK/receiver/init.err" >&2; exit 1; }
for i in $(seq -w 1 "$CLIENTS"); do
  bench_receiver_client "c$i" "$WORK/c$i.token"
done
bench_receiver_serve --reserve 0 --max-connections $((CLIENTS * CONNECTIONS + 16))
cat "$FILE" >/dev/null # the source in the page cache

rss_before=$(status_kib "$RX_PID" VmRSS)
cpu_before=$(bench_cpu_of "$RX_PID")
start=$(date +%s.%N)
client_pids=()
for i in $(seq -w 1 "$CLIENTS"); do
  /usr/bin/time -f '%U %S' -o "$WORK/c$i.time" "$MFB" push "$FILE" --log-level warn --json \
    --url "https://127.0.0.1:$RX_PORT" --token-file "$WORK/c$i.token" --fingerprint "$RX_FP" \
    --instance bench --chunk-size "$CHUNK" --connections "$CONNECTIONS" \
    >"$WORK/c$i.out" 2>"$WORK/c$i.err" &
  client_pids+=($!)
done
failed=0
for idx in "${!client_pids[@]}"; do
  wait "${client_pids[$idx]}" || { failed=$((failed + 1)); echo "client $((idx + 1)) FAILED: $(tail -2 "$WORK/c$(printf %0${#CLIENTS}d $((idx + 1))).err")" >&2; }
done
end=$(date +%s.%N)
cpu_after=$(bench_cpu_of "$RX_PID")
peak=$(status_kib "$RX_PID" VmHWM)
[ "$failed" -eq 0 ] || { echo "$failed of $CLIENTS pushes failed" >&2; exit 1; }

# -- verify every backup ---------------------------------------------------------
echo "verifying $CLIENTS backups (sha256sum -c of each published .sha256, and each client's list) ..."
bad=0
client_cpu=0
for i in $(seq -w 1 "$CLIENTS"); do
  read -r bid path sha < <(python3 -c "import json; j=json.load(open('$WORK/c$i.out')); print(j['backup_id'], j['path'], j['sha256'])")
  [ "$sha" = "$SHA" ] || { echo "c$i: pushed sha256 $sha, expected $SHA" >&2; bad=$((bad + 1)); }
  listed=$(curl -s --fail --cacert "$RX_CERT" -H "Authorization: Bearer $(cat "$WORK/c$i.token")" \
    "https://127.0.0.1:$RX_PORT/v1/backups" | python3 -c "import json,sys; print(' '.join(b['backup_id'] for b in json.load(sys.stdin)['backups']))")
  [ "$listed" = "$bid" ] || { echo "c$i: lists '$listed', expected $bid" >&2; bad=$((bad + 1)); }
  echo "$RX_DIR/store/$path"
  client_cpu=$(awk -v a="$client_cpu" '{printf "%.3f", a + $1 + $2}' "$WORK/c$i.time")
done >"$WORK/published"
while read -r f; do
  (cd "$(dirname "$f")" && sha256sum -c --quiet "$(basename "$f").sha256") || bad=$((bad + 1))
done <"$WORK/published"
[ "$bad" -eq 0 ] || { echo "$bad verification failures" >&2; exit 1; }

awk -v n="$CLIENTS" -v b="$BYTES" -v s="$start" -v e="$end" -v c0="$cpu_before" -v c1="$cpu_after" \
  -v cc="$client_cpu" -v r0="$rss_before" -v hwm="$peak" 'BEGIN {
    gb = n * b / 1e9; w = e - s
    printf "%d clients x %.0f MB in %.1f s: %.1f MB/s in total, %.1f MB/s per client\n", n, b / 1e6, w, n * b / 1e6 / w, b / 1e6 / w
    printf "CPU: receiver %.2f s/GB, clients %.2f s/GB (all together)\n", (c1 - c0) / gb, cc / gb
    printf "receiver RSS: %.0f MiB before, peak (VmHWM) %.0f MiB\n", r0 / 1024, hwm / 1024
    printf "all %d backups verified (sha256sum -c, listed by their own client only)\n", n }'
