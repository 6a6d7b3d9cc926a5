#!/usr/bin/env bash
# bench/transfer.sh - how fast `mfb push` moves a large file over TLS on
# loopback, next to `curl -T` to nginx (a WebDAV PUT location).
#
# In one run, on the same file (2 GiB of random bytes; BENCH_TRANSFER_MB to
# change), each of these is measured BENCH_RUNS times (default 2),
# interleaved so that they share whatever else the machine is doing:
#   curl     curl -T FILE https://127.0.0.1:P/dav/FILE   -> nginx
#   mfb>ngx  mfb push -> nginx standing in for a receiver: chunk PUTs go to
#            the same DAV module, the JSON endpoints are canned answers. The
#            server side does the same work as for curl, so this isolates
#            the client's cost (two SHA-256 passes and N connections).
#   mfb      mfb push -> mfb-server serve (the real receiver: it also hashes
#            every byte twice, fsyncs each chunk and publishes the file)
#   mfb-s3   mfb push -> mfb-server serve on S3 storage: a Ceph RADOS Gateway
#            on this machine (scripts/ceph-test-up, bluestore in a sparse
#            file under the work directory); each chunk goes on as an S3 part.
#            After each run the object is read straight from the gateway and
#            its SHA-256 compared. Skipped when Ceph is not installed, or
#            with BENCH_NO_S3=1. "server" is the receiver alone; the
#            gateway's (and the OSD's) CPU is printed beside it.
# At the end, each receiver's peak memory (VmHWM).
# Both servers keep their files on tmpfs (/dev/shm) when it has room, so the
# figures compare CPU and protocol, not this machine's disk; set BENCH_DIR
# to measure on a disk instead.
#
# Reported per run: MB/s (10^6 bytes per second of wall time), and the CPU
# seconds per GB (10^9 bytes) of the client (GNU time: user + system) and of
# the server (utime + stime from /proc/PID/stat, summed over nginx's master
# and workers). The best run of each counts.
#
# Goal (docs/transfer.md): mfb >= 0.8x curl-to-nginx throughput with 4 connections.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
MFB=${MFB:-$ROOT/build/mfb}
MFB_SERVER=${MFB_SERVER:-$ROOT/build/mfb-server}
SIZE_MB=${BENCH_TRANSFER_MB:-2048}
RUNS=${BENCH_RUNS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
CHUNK=${BENCH_CHUNK:-16M}

for tool in "$MFB" curl nginx openssl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/transfer.sh: $tool is missing (run make deps)" >&2; exit 1; }
done

need_kb=$((SIZE_MB * 1024 * 4))
if [ -n "${BENCH_DIR:-}" ]; then
  base=$BENCH_DIR
elif [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')" -gt "$need_kb" ] 2>/dev/null; then
  base=/dev/shm
else
  base=$ROOT/bench/out
fi
mkdir -p "$base"
WORK=$(mktemp -d "$base/mfb-transfer.XXXXXX")
chmod 755 "$WORK" # nginx workers run as another user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ ! -d "$WORK/ceph" ] || scripts/ceph-test-down "$WORK/ceph"
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

echo "bench/transfer.sh: $SIZE_MB MiB, $CONNECTIONS connections, chunk $CHUNK, $RUNS runs each, files in $base"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

FILE=$WORK/data.bin
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$FILE"
BYTES=$(stat -c %s "$FILE")
SHA=$(openssl dgst -sha256 -r "$FILE" | cut -c1-64)
cat "$FILE" >/dev/null # warm the page cache

# -- nginx: a DAV PUT location for curl, and a stand-in receiver for mfb ---------
NGX=$WORK/nginx
CHUNK_BYTES=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+)([KMG]?)', '$CHUNK'); print(int(m[1]) << {'':0,'K':10,'M':20,'G':30}[m[2]])")
UID_PATH=/v1/uploads/u_0123456789abcdef0123456789abcdef
bench_nginx_start "$NGX" "
    location = /v1/uploads {
      default_type application/json;
      return 201 '{\"upload_id\":\"u_0123456789abcdef0123456789abcdef\",\"chunk_size\":$CHUNK_BYTES,\"size\":$BYTES}';
    }
    location $UID_PATH/chunks/ { dav_methods PUT; create_full_put_path on; }
    location = $UID_PATH/complete {
      default_type application/json;
      return 201 '{\"backup_id\":\"b_0123456789abcdef0123456789abcdef\",\"name\":\"data.bin\",\"path\":\"data.bin\",\"size\":$BYTES,\"sha256\":\"$SHA\"}';
    }"
printf 'bench' >"$WORK/token"
chmod 600 "$WORK/token"

# -- mfb-server, when it is there ---------------------------------------------------
RX_PID=
if [ -x "$MFB_SERVER" ] && bench_receiver_init "$WORK/receiver"; then
  bench_receiver_client bench "$WORK/srv-token"
  bench_receiver_serve || RX_PID=
else
  echo "mfb-server: not usable here ($(head -c 200 "$WORK/receiver/init.err" 2>/dev/null)); measuring the client only"
fi

# -- mfb-server on S3 (a Ceph RADOS Gateway), when Ceph is there ---------------------
S3_PID=
s3_curl() { # METHOD PATH [CURL_ARGS...]: a signed request to the gateway
  local m=$1 p=$2
  shift 2
  curl -sS --fail -K "$WORK/s3.curlrc" --aws-sigv4 aws:amz:us-east-1:s3 -X "$m" \
    "http://127.0.0.1:$S3_PORT/$p" "$@"
}
if [ -n "$RX_PID" ] && [ -z "${BENCH_NO_S3:-}" ] && command -v radosgw >/dev/null; then
  S3_PORT=$(python3 -c 'import sys; sys.path.insert(0, "tests/lib"); import ceph; print(ceph._free_port_block())')
  if CEPH_BLOCK_GB=$((SIZE_MB * (RUNS + 1) / 1024 + 4)) \
    scripts/ceph-test-up "$WORK/ceph" bluestore "$S3_PORT" >"$WORK/ceph.log" 2>&1; then
    (umask 077 && printf 'user = "TESTKEY:TESTSECRET"\n' >"$WORK/s3.curlrc" &&
      echo TESTKEY >"$WORK/s3.key" && echo TESTSECRET >"$WORK/s3.secret")
    EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    s3_curl PUT bench -H "x-amz-content-sha256: $EMPTY_SHA" >/dev/null
    S3_DIR=$WORK/receiver-s3
    mkdir -p "$S3_DIR"
    if "$MFB_SERVER" init --db "$S3_DIR/db/rx.db" --storage s3://bench/rx --json \
      --s3-endpoint "http://127.0.0.1:$S3_PORT" --s3-path-style --s3-key-file "$WORK/s3.key" \
      --s3-secret-file "$WORK/s3.secret" >"$S3_DIR/init.json" 2>"$S3_DIR/init.err"; then
      S3_FP=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['fingerprint'])" "$S3_DIR/init.json")
      (umask 077 && "$MFB_SERVER" client add bench --db "$S3_DIR/db/rx.db" 2>/dev/null |
        tr -d '\n' >"$WORK/s3-token")
      S3_RX_PORT=$(bench_free_port)
      "$MFB_SERVER" serve --db "$S3_DIR/db/rx.db" --log-level "${RX_LOG:-warn}" \
        --listen "127.0.0.1:$S3_RX_PORT" >"$S3_DIR/serve.log" 2>&1 &
      S3_PID=$!
      pids+=("$S3_PID")
      # Only the last run's object is kept: the gateway's disk is a sparse file.
      "$MFB_SERVER" retention set --db "$S3_DIR/db/rx.db" --client bench --keep-last 1 >/dev/null
      bench_wait_port "$S3_RX_PORT" || S3_PID=
    else
      echo "mfb-server on S3: init failed: $(head -c 300 "$S3_DIR/init.err")"
    fi
  else
    echo "Ceph did not start ($(tail -c 300 "$WORK/ceph.log")); no S3 row"
  fi
fi
ceph_pids() { cat "$WORK/ceph/rgw.pid" "$WORK/ceph/osd.pid" 2>/dev/null | tr '\n' ' '; }

# -- measuring ---------------------------------------------------------------------
RESULTS=$WORK/results
: >"$RESULTS"
measure() { # NAME SERVER_PIDS -- COMMAND...
  local name=$1 spids=$2
  shift 3
  local before after
  # shellcheck disable=SC2086
  before=$(bench_cpu_of $spids)
  if ! /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err"; then
    echo "$name: FAILED: $(tail -3 "$WORK/err")" >&2
    return 1
  fi
  # shellcheck disable=SC2086
  after=$(bench_cpu_of $spids)
  read -r wall user sys <"$WORK/time"
  awk -v n="$name" -v b="$BYTES" -v w="$wall" -v u="$user" -v s="$sys" -v s0="$before" -v s1="$after" \
    'BEGIN { gb = b / 1e9; printf "%-8s %8.1f MB/s   client %5.2f s/GB   server %5.2f s/GB   (%.2f s)\n",
             n, b / 1e6 / w, (u + s) / gb, (s1 - s0) / gb, w }' | tee -a "$RESULTS"
}

ngx_pids() { echo "$NGX_PID $(pgrep -P "$NGX_PID" | tr '\n' ' ')"; }

# Every server's output is removed before each measured push, so each
# writes 2 GiB with the same memory in use. On tmpfs in a virtual machine
# the cost of fresh pages grows with what is already in use (seen here: the
# same receiver binary spent 2.6-2.9 CPU s/GB with 4 GiB in tmpfs, 4-5 with
# 8), and it lands on whichever server writes last.
clear_outputs() {
  rm -rf "$NGX/data/dav/data.bin" "${NGX:?}/data${UID_PATH:?}"
  [ -z "$RX_PID" ] || rm -rf "${RX_DIR:?}/store/bench"
}
for run in $(seq "$RUNS"); do
  clear_outputs
  measure curl "$(ngx_pids)" -- curl -sS --fail -T "$FILE" --cacert "$NGX/cert.pem" \
    "https://127.0.0.1:$NGX_PORT/dav/data.bin"
  clear_outputs
  measure 'mfb>ngx' "$(ngx_pids)" -- "$MFB" push "$FILE" --log-level warn \
    --url "https://127.0.0.1:$NGX_PORT" --token-file "$WORK/token" --fingerprint "$NGX_FP" \
    --instance bench --chunk-size "$CHUNK" --connections "$CONNECTIONS"
  if [ -n "$RX_PID" ]; then
    clear_outputs
    measure mfb "$RX_PID" -- "$MFB" push "$FILE" --log-level warn \
      --url "https://127.0.0.1:$RX_PORT" --token-file "$WORK/srv-token" --fingerprint "$RX_FP" \
      --instance bench --name "run$run.bin" --chunk-size "$CHUNK" --connections "$CONNECTIONS"
  fi
  if [ -n "$S3_PID" ]; then
    # shellcheck disable=SC2046
    g0=$(bench_cpu_of $(ceph_pids))
    measure mfb-s3 "$S3_PID" -- "$MFB" push "$FILE" --log-level warn \
      --url "https://127.0.0.1:$S3_RX_PORT" --token-file "$WORK/s3-token" --fingerprint "$S3_FP" \
      --instance bench --name "run$run.bin" --chunk-size "$CHUNK" --connections "$CONNECTIONS"
    # shellcheck disable=SC2046
    g1=$(bench_cpu_of $(ceph_pids))
    key=$(python3 -c "import json,sys; print(json.load(sys.stdin)['backups'][0]['path'])" \
      < <("$MFB_SERVER" list --db "$S3_DIR/db/rx.db" --json --instance bench 2>/dev/null))
    got=$(s3_curl GET "bench/rx/$key" -H "x-amz-content-sha256: $EMPTY_SHA" | openssl dgst -sha256 -r | cut -c1-64)
    awk -v g0="$g0" -v g1="$g1" -v b="$BYTES" -v ok="$([ "$got" = "$SHA" ] && echo yes || echo NO)" \
      'BEGIN { printf "         gateway + OSD %5.2f s/GB; SHA-256 read straight from the gateway matches: %s\n", (g1 - g0) / (b / 1e9), ok }'
    [ "$got" = "$SHA" ] || { echo "mfb-s3: the stored object differs from the file" >&2; exit 1; }
  fi
done

# What verification costs on this machine: one SHA-256 pass (OpenSSL's,
# over 1 MiB buffers in memory), in CPU seconds per GB.
SHA_S_PER_GB=$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null |
  awk '$1 == "sha256" { sub(/k$/, "", $2); printf "%.3f", 1e6 / $2 }')

echo
best() { grep "^$1 " "$RESULTS" | sort -k2 -n -r | head -1 | awk '{print $2}'; }
curl_best=$(best curl)
for name in 'mfb>ngx' mfb mfb-s3; do
  b=$(best "$name")
  [ -n "$b" ] && awk -v n="$name" -v b="$b" -v c="$curl_best" \
    'BEGIN { printf "best %-8s %8.1f MB/s = %.2fx curl-to-nginx (%.1f MB/s)%s\n", n, b, b / c, c,
             n == "mfb" ? (b / c >= 0.8 ? "  goal >= 0.8x: met" : "  goal >= 0.8x: NOT met") : "" }'
done
for p in $RX_PID $S3_PID; do
  awk -v n="$([ "$p" = "$RX_PID" ] && echo mfb || echo mfb-s3)" \
    '/^VmHWM/ { printf "receiver %-7s peak memory (VmHWM) %d MiB\n", n, $2 / 1024 }' "/proc/$p/status"
done

# The ceiling for any transfer that verifies every byte the way the
# protocol asks (each side hashes it once, chunk and file digests paired)
# when both ends share this machine's cores: the cores divided by what
# curl and nginx spend per GB plus one SHA-256 pass per side. Taken from
# curl's fastest run.
read -r c_client c_server < <(grep '^curl ' "$RESULTS" | sort -k2 -n -r | head -1 |
  awk '{ print $5, $8 }')
awk -v cores="$(nproc)" -v cc="$c_client" -v cs="$c_server" -v h="$SHA_S_PER_GB" -v c="$curl_best" \
  -v m="$(best mfb)" 'BEGIN {
    cap = cores / (cc + cs + 2 * h) * 1000
    printf "SHA-256 %.2f s/GB; curl + nginx %.2f s/GB in their best run; on %d shared cores a\n", h, cc + cs, cores
    printf "verifying transfer tops out near %.1f MB/s = %.2fx curl-to-nginx", cap, cap / c
    if (m != "") printf " (mfb reached %.0f%% of it)", 100 * m / cap
    printf "\n" }'
