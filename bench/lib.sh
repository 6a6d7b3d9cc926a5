# bench/lib.sh - what the benchmarks share: a free loopback port, waiting
# for a port, CPU accounting from /proc, a self-signed certificate, nginx
# with a WebDAV PUT location, a running mfb-server with clients, and the
# cached sysbench data directory.
#
# Sourced by bench/*.sh, never run (bench/run-all.sh skips it). Functions
# start with bench_. Bash functions return only a status, so each one that
# makes something names the globals it sets in its comment. The servers
# they start are appended to the caller's `pids` array, which the caller's
# EXIT trap kills: the caller owns cleanup, this file only starts things.
# shellcheck shell=bash disable=SC2034 # the globals are for the callers

# Prints a loopback TCP port that is free now.
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (up to about 10 s) until something accepts connections on PORT.
bench_wait_port() { # PORT
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

BENCH_TICKS=$(getconf CLK_TCK)

# Prints the CPU seconds (utime + stime) used so far by the processes PID...
# together; ones that are gone count zero.
bench_cpu_of() { # PID...
  local total=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total $BENCH_TICKS" | awk '{printf "%.3f", $1 / $2}'
}

# Makes DIR/key.pem and DIR/cert.pem, a P-256 certificate for 127.0.0.1
# and localhost, valid for two days.
bench_tls_cert() { # DIR
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1/key.pem" \
    -out "$1/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
}

# Starts nginx over TLS on a free port, its files in DIR: DIR/data is the
# document root, /dav/ takes PUTs (curl -T), and EXTRA (nginx directives)
# goes into the same server block. Sets NGX_PORT, NGX_PID, NGX_FP (the
# certificate's SHA-256 fingerprint); DIR/cert.pem is the certificate.
bench_nginx_start() { # DIR [EXTRA]
  local dir=$1 extra=${2:-}
  mkdir -p "$dir"/{data,tmp,logs}
  chmod 777 "$dir/data" "$dir/tmp" # nginx workers run as another user
  bench_tls_cert "$dir"
  NGX_FP=$(openssl x509 -noout -fingerprint -sha256 -in "$dir/cert.pem" | cut -d= -f2)
  NGX_PORT=$(bench_free_port)
  cat >"$dir/nginx.conf" <<EOF
worker_processes $(nproc);
daemon off;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $dir/tmp;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$NGX_PORT ssl;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $dir/data;
    location /dav/ { dav_methods PUT; create_full_put_path on; }
$extra
  }
}
EOF
  nginx -p "$dir" -c "$dir/nginx.conf" &
  NGX_PID=$!
  pids+=("$NGX_PID")
  bench_wait_port "$NGX_PORT" || { echo "nginx did not start: $(cat "$dir/logs/error.log")" >&2; return 1; }
}

# Creates a receiver catalog in DIR (DIR/db/rx.db, storage DIR/store),
# passing INIT_ARGS to `mfb-server init`. Sets RX_DIR, RX_DB, RX_FP and
# RX_CERT. On failure returns 1 with init's error in DIR/init.err.
bench_receiver_init() { # DIR [INIT_ARGS...]
  RX_DIR=$1
  shift
  RX_DB=$RX_DIR/db/rx.db
  mkdir -p "$RX_DIR"
  "$MFB_SERVER" init --db "$RX_DB" --storage "$RX_DIR/store" --json "$@" \
    >"$RX_DIR/init.json" 2>"$RX_DIR/init.err" || return 1
  RX_FP=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['fingerprint'])" "$RX_DIR/init.json")
  RX_CERT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['cert'])" "$RX_DIR/init.json")
}

# Adds client NAME to the receiver of bench_receiver_init and writes its
# token to TOKEN_FILE (mode 0600, no newline).
bench_receiver_client() { # NAME TOKEN_FILE
  (umask 077 && "$MFB_SERVER" client add "$1" --db "$RX_DB" 2>/dev/null | tr -d '\n' >"$2")
}

# Starts `mfb-server serve` for the receiver of bench_receiver_init on a
# free port, with SERVE_ARGS; its log is RX_DIR/serve.log (warnings only;
# RX_LOG=info adds each upload's `upload-hashed` split). Sets RX_PORT and
# RX_PID.
# shellcheck disable=SC2120 # the arguments are optional
bench_receiver_serve() { # [SERVE_ARGS...]
  RX_PORT=$(bench_free_port)
  "$MFB_SERVER" serve --db "$RX_DB" --log-level "${RX_LOG:-warn}" --listen "127.0.0.1:$RX_PORT" "$@" \
    >"$RX_DIR/serve.log" 2>&1 &
  RX_PID=$!
  pids+=("$RX_PID")
  bench_wait_port "$RX_PORT" || { echo "mfb-server did not start: $(cat "$RX_DIR/serve.log")" >&2; return 1; }
}

# Makes the sysbench data directory DATA (TABLES x ROWS rows, stopped) once
# and keeps it: DATA.ready marks a finished one, so an interrupted run
# starts it again.
bench_sysbench_data() { # DATA TABLES ROWS
  [ ! -f "$1.ready" ] || return 0
  echo "preparing $1 (sysbench oltp_read_write prepare, $2 x $3 rows; once) ..."
  rm -rf "$1"
  mkdir -p "$(dirname "$1")"
  python3 tests/lib/mariadb.py prepare "$1" --tables "$2" --rows "$3"
  touch "$1.ready"
}
