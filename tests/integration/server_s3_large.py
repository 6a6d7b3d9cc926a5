"""server_s3_large.py - a 2 GiB `mfb push` through a receiver on S3 (a real
Ceph RADOS Gateway on bluestore, tests/lib/ceph.py: memstore holds at most
2 GiB), checked by reading the object straight from the gateway and
comparing its SHA-256 with the file's (docs/server.md, "S3 storage").
While it runs the receiver logs at debug level, and then:
- its log, and the client's output, hold neither the S3 access key nor
  the secret, and neither is on the receiver's command line;
- its peak memory (VmHWM) stays below one chunk per connection: each S3
  part is streamed from the staging file, never held in memory.

The data is generated cheaply (a random MiB, each copy stamped with its
index, so no two chunks are alike) and hashed as it is written. In the
sanitizer build (MFB_SANITIZED=1) the file is 256 MiB and the memory
bound is not checked. Skipped, with the reason, only when Ceph cannot run
here and CI is not set (CI=true: a failure).
"""
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import MIB, Receiver, run_tests  # noqa: E402

MFB = os.environ.get("MFB") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "mfb")
SANITIZED = os.environ.get("MFB_SANITIZED") in ("1", "ON", "TRUE", "true")
SIZE = (256 if SANITIZED else 2048) * MIB
CHUNK = 32 * MIB
CONNECTIONS = 4
state = {}


def make_file(path, size):
    """size bytes of MiB blocks, each a random MiB stamped with its index;
    returns the SHA-256 hex, computed as it is written."""
    base = bytearray(os.urandom(MIB))
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(size // MIB):
            base[:8] = i.to_bytes(8, "little")
            h.update(base)
            f.write(base)
    return h.hexdigest()


def peak_memory_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


def test_push_2gib_and_read_it_back_from_the_gateway():
    rgw, rx = state["rgw"], state["rx"]
    src = os.path.join(rx.dir, "big.bin")
    sha = make_file(src, SIZE)
    tok = os.path.join(rx.dir, "db1.token")
    fd = os.open(tok, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(state["token"] + "\n")
    p = subprocess.run([MFB, "push", src, "--url", "https://127.0.0.1:%d" % rx.port,
                        "--token-file", tok, "--fingerprint", rx.fingerprint, "--instance", "big",
                        "--chunk-size", "%dM" % (CHUNK // MIB), "--connections", str(CONNECTIONS),
                        "--json"], capture_output=True, text=True, timeout=1800)
    os.unlink(src)  # the disk space back before the read
    state["client_output"] = p.stdout + p.stderr
    assert p.returncode == 0, p.stderr
    state["peak_kib"] = peak_memory_kib(rx.proc.pid)
    with open("/proc/%d/cmdline" % rx.proc.pid, "rb") as f:
        state["cmdline"] = f.read()
    status, j = rx.json("GET", "/v1/backups?instance=big", state["token"])
    assert status == 200 and len(j["backups"]) == 1, (status, j)
    b = j["backups"][0]
    assert b["size"] == SIZE and b["sha256"] == sha, b
    # Straight from the gateway, streamed: the bytes S3 holds are the file's.
    got, size = rgw.sha256_of(rx.bucket, rx.prefix + b["path"])
    assert (got, size) == (sha, SIZE), (got, size, sha, SIZE)
    side = rgw.get(rx.bucket, rx.prefix + b["path"] + ".sha256").decode()
    assert side.split()[0] == sha, side
    meta = json.loads(rgw.get(rx.bucket, rx.prefix + b["path"] + ".json"))
    assert meta["sha256"] == sha and meta["size"] == SIZE, meta
    # Nothing left behind: no multipart upload, no staging file.
    assert rgw.multipart_uploads(rx.bucket) == []
    assert os.listdir(os.path.join(rx.storage, ".partial")) == []


def test_memory_below_a_chunk_per_connection():
    assert "peak_kib" in state, "the push did not run"
    if SANITIZED:
        print("(not checked in the sanitizer build: its allocator keeps memory of its own)")
        return
    # Holding each connection's chunk in memory would take CHUNK x CONNECTIONS.
    assert state["peak_kib"] * 1024 < CHUNK * CONNECTIONS, (
        "receiver peak memory %d MiB" % (state["peak_kib"] // 1024))
    print("receiver peak memory (VmHWM) %d MiB" % (state["peak_kib"] // 1024))


def test_no_secret_in_logs_or_argv():
    from ceph import KEY, SECRET
    rx = state["rx"]
    log = rx.log_text()
    assert "status=201" in log, "the receiver logged no requests"
    for what, text in (("the receiver's log", log), ("the client's output",
                                                     state.get("client_output", "")),
                       ("the receiver's command line", state.get("cmdline", b"").decode())):
        for secret in (KEY, SECRET):
            assert secret not in text, "%s holds %s" % (what, secret)


def main():
    from ceph import RGW, ceph_unavailable, s3_required
    # A gateway of its own on bluestore (a sparse file): memstore keeps at
    # most 2 GiB in memory. Room for the object and its temporary copy.
    os.environ.setdefault("CEPH_BLOCK_GB", str(2 * SIZE // (1 << 30) + 3))
    try:
        if ceph_unavailable():
            raise RuntimeError(ceph_unavailable())
        rgw = RGW(store="bluestore")
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        if s3_required():
            raise RuntimeError("CI=true and the S3 tests cannot run: %s" % e)
        print("SKIP: %s" % e)
        return 0
    print("Ceph (bluestore) started in %.1fs" % rgw.start_seconds, flush=True)
    rx = Receiver("s3-large", s3=rgw)
    state.update(rgw=rgw, rx=rx)
    try:
        rx.init()
        state["token"] = rx.add_client("db1")
        rx.start("--reserve", "0", "--log-level", "debug")
        return run_tests([test_push_2gib_and_read_it_back_from_the_gateway,
                          test_memory_below_a_chunk_per_connection, test_no_secret_in_logs_or_argv])
    finally:
        rx.cleanup()
        rgw.cleanup()


if __name__ == "__main__":
    sys.exit(main())
