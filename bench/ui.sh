#!/usr/bin/env bash
# bench/ui.sh - latency of the web UI's API (docs/ui.md): the dashboard's
# two requests (GET /v1/ui/instances, GET /v1/jobs) and the job log's first
# page (GET /v1/ui/jobs), median and p99 over BENCH_REQUESTS (200) requests
# each, through the UI's listener with a logged-in session, first with the
# daemon idle, then while a backup runs (archive and upload of a sysbench
# database of BENCH_TABLES x BENCH_ROWS, started again as often as needed).
#
# A real MariaDB, receiver and daemon on this machine (tests/lib/
# jobtestlib.py); the job log holds BENCH_JOBS (20) earlier backups so the
# pages have rows to read. The requests are sequential, one connection
# each, as a browser's page makes them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export MFB=${MFB:-$ROOT/build/mfb}
export MFB_SERVER=${MFB_SERVER:-$ROOT/build/mfb-server}
export BENCH_REQUESTS=${BENCH_REQUESTS:-200} BENCH_TABLES=${BENCH_TABLES:-4}
export BENCH_ROWS=${BENCH_ROWS:-200000} BENCH_JOBS=${BENCH_JOBS:-20}
for tool in "$MFB" "$MFB_SERVER" mariadbd sysbench; do
  command -v "$tool" >/dev/null || { echo "bench/ui.sh: $tool is missing (run make deps)" >&2; exit 1; }
done
exec python3 - "$ROOT" <<'PY'
import http.client, json, os, re, statistics, subprocess, sys, time
ROOT = sys.argv[1]
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from jobtestlib import JobEnv
from mfbtest import MFB

N = int(os.environ["BENCH_REQUESTS"])
PATHS = ["/v1/ui/instances", "/v1/jobs", "/v1/ui/jobs?page=1"]


class Env(JobEnv):
    def load_data(self):
        self.db.load_sysbench(tables=int(os.environ["BENCH_TABLES"]),
                              rows=int(os.environ["BENCH_ROWS"]))


def measure(port, cookie, label, busy=None):
    for path in PATHS:
        times = []
        while len(times) < N:
            if busy:
                busy()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            t0 = time.perf_counter()
            c.request("GET", path, headers={"Cookie": cookie})
            r = c.getresponse()
            r.read()
            times.append((time.perf_counter() - t0) * 1000)
            c.close()
            assert r.status == 200, (path, r.status)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{label:10} {path:22} median {statistics.median(times):7.2f} ms   "
              f"p99 {p99:7.2f} ms   ({N} requests)", flush=True)


with Env("bench-ui") as env:
    env.add_instance()
    env.add_target()
    for _ in range(int(os.environ["BENCH_JOBS"])):
        env.mfb("backup", env.instance, "--no-alerts", timeout=600)
    env.mfb("ui", "passwd", input="bench password\n")
    log = os.path.join(env.dir, "daemon.log")
    with open(log, "w") as f:
        d = subprocess.Popen([MFB, "daemon", "--workers", "1", "--no-alerts", "--ui-listen",
                              "127.0.0.1:0"], stderr=f, env=env.env)
    try:
        for _ in range(600):
            m = re.search(r"daemon-ui url=http://127\.0\.0\.1:(\d+)/", open(log).read())
            if m:
                break
            time.sleep(0.05)
        port = int(m.group(1))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/ui/login", body=json.dumps({"password": "bench password"}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        cookie = r.getheader("Set-Cookie").split(";")[0]
        measure(port, cookie, "idle")

        def busy():
            # keep one backup running: queue one whenever none is
            st = json.loads(env.mfb("jobs", "--json").stdout)["jobs"]
            if not any(j["state"] in ("queued", "running") for j in st):
                env.mfb("run", env.instance)
                while not any(j["state"] == "running" for j in
                              json.loads(env.mfb("jobs", "--json").stdout)["jobs"]):
                    time.sleep(0.05)
        busy_every = [0]

        def busy_sometimes():
            busy_every[0] += 1
            if busy_every[0] % 20 == 1:
                busy()
        measure(port, cookie, "backup", busy_sometimes)
    finally:
        d.terminate()
        d.wait(timeout=300)
PY
