"""server_concurrency.py - the receiver's concurrency check (bench/concurrency.sh) at a size that fits `make check`:
32 clients, each with its own token, push a file each to one receiver at the
same time (`mfb push`, 2 connections each, so 64 connections at once). Every
push must succeed; every published file must match its source and its
.sha256 must pass `sha256sum -c`; each client must list exactly its own
backup. The receiver's peak RSS (VmHWM) is printed, not asserted.

Against each storage driver (the file driver, and S3 on a real Ceph RADOS
Gateway: 32 multipart uploads and publishes at once; the stored object and
its .sha256 are read from the bucket); MFB_TEST_STORAGE=file or =s3 runs
one only.

The full-size run (32 x 200 MB) is bench/concurrency.sh.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from server_testlib import MIB, pattern, run_tests, storage_kinds, storage_receiver  # noqa: E402

MFB = os.environ.get("MFB") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "mfb")
CLIENTS = 32
# Under the sanitizers every byte costs several times more: smaller files.
SIZE = (2 if os.environ.get("MFB_SANITIZED", "").upper() in ("1", "ON", "TRUE") else 6) * MIB

rx = None


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def test_32_clients_at_once():
    rx.init()
    rx.start("--reserve", "0")
    work = os.path.join(rx.dir, "clients")
    os.makedirs(work)
    clients = []
    for i in range(CLIENTS):
        name = "c%02d" % i
        token = rx.add_client(name)
        token_file = os.path.join(work, name + ".token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        os.chmod(token_file, 0o600)
        src = os.path.join(work, name + ".zip")
        data = pattern(SIZE - i * 4099, seed=100 + i)  # sizes differ: not chunk-aligned
        with open(src, "wb") as f:
            f.write(data)
        clients.append(dict(name=name, token=token, token_file=token_file, src=src,
                            sha=hashlib.sha256(data).hexdigest(), size=len(data)))
    url = "https://127.0.0.1:%d" % rx.port
    rss_before = vm_kib(rx.proc.pid, "VmRSS")
    started = time.monotonic()
    procs = []
    for c in clients:
        cmd = [MFB, "push", c["src"], "--url", url, "--token-file", c["token_file"],
               "--fingerprint", rx.fingerprint, "--instance", "prod", "--chunk-size", "1M",
               "-j", "2", "--json"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    results = []
    for c, p in zip(clients, procs):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, "%s: exit %d\n%s" % (c["name"], p.returncode, err)
        results.append(json.loads(out))
    elapsed = time.monotonic() - started
    peak = vm_kib(rx.proc.pid, "VmHWM")

    total = 0
    for c, r in zip(clients, results):
        assert (r["sha256"], r["size"]) == (c["sha"], c["size"]), (c["name"], r)
        assert r["path"].startswith(c["name"] + "/prod/"), r["path"]
        if rx.s3 is None:
            stored = os.path.join(rx.storage, r["path"])
            with open(stored, "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == c["sha"], stored
            check = subprocess.run(["sha256sum", "-c", os.path.basename(stored) + ".sha256"],
                                   cwd=os.path.dirname(stored), capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
        else:
            stored = rx.published(r["path"])
            assert hashlib.sha256(stored).hexdigest() == c["sha"], r["path"]
            side = rx.published(r["path"] + ".sha256").decode()
            assert side == "%s  %s\n" % (c["sha"], os.path.basename(r["path"])), side
        # Each client lists exactly its own backup.
        status, j = rx.json("GET", "/v1/backups", c["token"])
        assert status == 200, (status, j)
        assert [b["backup_id"] for b in j["backups"]] == [r["backup_id"]], (c["name"], j)
        total += c["size"]
    assert rx.log_text().count(" backup-published ") == CLIENTS
    assert rx.healthy()
    print("  %d clients, %.1f MiB in %.1f s (%.1f MB/s); receiver RSS %d MiB before, "
          "peak (VmHWM) %d MiB" % (CLIENTS, total / MIB, elapsed, total / 1e6 / elapsed,
                                   rss_before // 1024, peak // 1024))


def main():
    global rx
    code = 0
    for kind in storage_kinds():
        rx = storage_receiver(kind, "concurrency-" + kind)
        try:
            def t():
                test_32_clients_at_once()
            t.__name__ = "test_32_clients_at_once[%s]" % kind
            code |= run_tests([t])
        finally:
            rx.stop()
            shutil.rmtree(rx.dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
