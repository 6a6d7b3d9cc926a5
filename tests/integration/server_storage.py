"""server_storage.py - what the receiver's storage drivers must do alike, run
against each of them (the file driver, and S3 on a real Ceph RADOS Gateway,
tests/lib/ceph.py): publish with .sha256/.json, Range downloads and Range
edges, resume after kill -9 mid-chunk, parallel out-of-order chunks,
rejected chunks that store nothing (no S3 part), retention (never the
newest), quota (507), isolation between clients, hostile names. Then what only S3 has: init's checks (secrets
in 0600 files, a bucket it cannot write is refused), the chunk size raised
to S3's part rules, the gateway stopped mid-upload (503 + Retry-After, then
the upload completes, also from `mfb push`, which backs off: a proxy in
front of the gateway holds the second part until the gateway is stopped),
the receiver killed while a part is on its way to S3, abandoned multipart uploads aborted by the upload expiry, and neither the
S3 key nor the secret in the receiver's log or command line.

MFB_TEST_STORAGE=file or =s3 runs one driver only. S3 is skipped, with the
reason, only when Ceph cannot start here and CI is not set (CI=true: a
failure).
"""
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import (MIB, Receiver, content_digest, pattern, run_tests,  # noqa: E402
                            sha256_hex, storage_kinds, storage_receiver)

MFB = os.environ.get("MFB") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "mfb")
MONTH = time.strftime("%Y/%m", time.gmtime())


class Env:
    def __init__(self, kind):
        self.kind = kind
        self.rx = storage_receiver(kind, "storage-" + kind)
        self.rx.init()
        self.t1 = self.rx.add_client("db1")
        self.t2 = self.rx.add_client("db2")
        self.rx.start("--reserve", "0")


def chunks_of(rx, token, uid):
    status, j = rx.json("GET", "/v1/uploads/" + uid, token)
    assert status == 200, (status, j)
    return j


# ---- the same scenario against every driver ----------------------------------

def publish_and_companions(e):
    rx = e.rx
    uid = rx.open_upload(e.t1, size=1, name="probe.zip")
    cs = rx.chunk_size(uid, e.t1)
    assert cs == (MIB if e.kind == "file" else 8 * MIB), cs  # S3: parts of at least 5 MiB
    assert rx.request("DELETE", "/v1/uploads/" + uid, e.t1)[0] == 204
    data = pattern(2 * cs + 777, seed=31)
    j = rx.upload(e.t1, data, order=[2, 0, 1], name="prod 1.zip", directory="nightly")
    assert j["path"] == "db1/prod/%s/prod 1.zip" % MONTH, j
    assert rx.published(j["path"]) == data
    side = rx.published(j["path"] + ".sha256").decode()
    assert side == "%s  prod 1.zip\n" % sha256_hex(data), side
    meta = json.loads(rx.published(j["path"] + ".json"))
    assert meta["sha256"] == sha256_hex(data) and meta["size"] == len(data), meta
    assert meta["client"] == "db1" and meta["directory"] == "nightly", meta
    # The same name again: a new unique name, nothing replaced.
    j2 = rx.upload(e.t1, data[:1000], name="prod 1.zip")
    assert j2["path"] == "db1/prod/%s/prod 1-1.zip" % MONTH, j2
    assert rx.published(j["path"]) == data
    # Nothing left of the uploads: no partial file, no S3 multipart upload.
    assert sorted(os.listdir(os.path.join(rx.storage, ".partial"))) == [], \
        os.listdir(os.path.join(rx.storage, ".partial"))
    if rx.s3:
        assert rx.s3.multipart_uploads(rx.bucket) == []
        assert not [p for p in rx.s3.list(rx.bucket, rx.prefix) if "/.partial/" in "/" + p]


def range_downloads(e):
    rx = e.rx
    # Larger than the S3 driver's 4 MiB read window, so ranges span windows.
    data = pattern(9 * MIB + 5, seed=32)
    j = rx.upload(e.t1, data, name="range.zip", chunk_size=8 * MIB)
    url = "/v1/backups/%s/content" % j["backup_id"]
    status, h, body = rx.request("GET", url, e.t1)
    assert status == 200 and body == data and h["accept-ranges"] == "bytes", status
    b64 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert h["repr-digest"] == "sha-256=:%s:" % b64, h
    for rng, lo, hi in (("bytes=3000000-7000000", 3000000, 7000000),
                        ("bytes=%d-" % (len(data) - 10), len(data) - 10, len(data) - 1),
                        ("bytes=-100", len(data) - 100, len(data) - 1),
                        ("bytes=4194300-4194400", 4194300, 4194400)):
        status, h, body = rx.request("GET", url, e.t1, headers={"Range": rng})
        assert status == 206, (rng, status)
        assert h["content-range"] == "bytes %d-%d/%d" % (lo, hi, len(data)), (rng, h)
        assert body == data[lo:hi + 1], rng
    status, h, _ = rx.request("GET", url, e.t1, headers={"Range": "bytes=%d-" % len(data)})
    assert status == 416 and h["content-range"] == "bytes */%d" % len(data), (status, h)


def resume_after_kill9_mid_chunk(e):
    rx = e.rx
    uid = rx.open_upload(e.t1, size=1, name="x")  # learn the chunk size
    cs = rx.chunk_size(uid, e.t1)
    assert rx.request("DELETE", "/v1/uploads/" + uid, e.t1)[0] == 204
    cs = max(cs, 4 * MIB)
    data = pattern(2 * cs + 99, seed=33)
    uid = rx.open_upload(e.t1, size=len(data), name="crash.zip", chunk_size=cs)
    status, j = rx.put_chunk(e.t1, uid, 0, data[:cs])
    assert status == 201, (status, j)
    s = rx.raw_socket()
    chunk = data[cs:2 * cs]
    s.sendall(("PUT /v1/uploads/%s/chunks/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Digest: %s\r\nContent-Length: %d\r\n\r\n"
               % (uid, e.t1, content_digest(chunk), len(chunk))).encode())
    s.sendall(chunk[:cs // 2 + 4096])
    part = os.path.join(rx.storage, ".partial", uid + ".part")
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(part, "rb") as f:
            f.seek(cs)
            if f.read(4096) == chunk[:4096]:
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the half chunk never reached the partial file")
    rx.kill9()
    s.close()
    rx.start("--reserve", "0")
    j = chunks_of(rx, e.t1, uid)
    assert [c["index"] for c in j["chunks"]] == [0], j
    for i in (1, 2):
        status, j = rx.put_chunk(e.t1, uid, i, data[i * cs:(i + 1) * cs])
        assert status == 201, (i, status, j)
    status, j = rx.complete(e.t1, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    assert rx.published(j["path"]) == data


def retention_never_newest(e):
    rx = e.rx
    rx.run("retention", "set", "--client", "db2", "--instance", "ret", "--keep-last", "2")
    paths = []
    for i in range(4):
        j = rx.upload(e.t2, pattern(1000 + i, seed=40 + i), instance="ret", name="r%d.zip" % i)
        paths.append(j["path"])
        time.sleep(1.1)  # distinct creation seconds: "newest" is unambiguous
    # Retention ran after each completed backup: the two newest stay.
    for p in paths[:2]:
        assert rx.published(p) is None and rx.published(p + ".json") is None, p
        assert rx.published(p + ".sha256") is None, p
    for p in paths[2:]:
        assert rx.published(p) is not None, p
    rx.run("retention", "set", "--client", "db2", "--instance", "ret", "--max-age", "1s")
    time.sleep(1.1)
    rx.run("retention", "apply", "--client", "db2")
    assert rx.published(paths[2]) is None
    assert rx.published(paths[3]) is not None  # the newest is never deleted
    status, j = rx.json("GET", "/v1/backups?instance=ret", e.t2)
    assert [b["path"] for b in j["backups"]] == [paths[3]], j


def quota_507(e):
    rx = e.rx
    rx.run("client", "add", "q1", "--quota", "10M", check=False)
    tok = None
    p = rx.run("client", "add", "q2", "--quota", "10M")
    tok = p.stdout.strip()
    status, j = rx.json("POST", "/v1/uploads", tok,
                        {"instance": "prod", "name": "big.zip", "size": 11 * MIB,
                         "chunk_size": MIB})
    assert status == 507 and j["error"] == "insufficient_storage", (status, j)
    assert "quota" in j["message"], j
    rx.upload(tok, pattern(3 * MIB, seed=50), name="small.zip")


def isolation(e):
    rx = e.rx
    j = rx.upload(e.t1, pattern(5000, seed=51), name="mine.zip")
    for path in ("/v1/backups/" + j["backup_id"], "/v1/backups/%s/content" % j["backup_id"]):
        status, body = rx.json("GET", path, e.t2)
        assert status == 404 and body["error"] == "not_found", (path, status, body)
    status, body = rx.json("DELETE", "/v1/backups/" + j["backup_id"], e.t2)
    assert status == 404, (status, body)
    assert rx.published(j["path"]) is not None
    uid = rx.open_upload(e.t1, size=10, name="open.zip")
    status, body = rx.json("GET", "/v1/uploads/" + uid, e.t2)
    assert status == 404, (status, body)
    status, body = rx.put_chunk(e.t2, uid, 0, b"0123456789")
    assert status == 404, (status, body)


def hostile_names(e):
    rx = e.rx
    for name in ("a b+c&d=e?f#g%20h.zip", "ünïcödé €.zip", "semi;colon'quote\".zip",
                 "x" * 120 + ".zip", "dots..zip"):
        data = pattern(777, seed=len(name))
        j = rx.upload(e.t1, data, instance="odd inst", name=name)
        assert j["path"] == "db1/odd inst/%s/%s" % (MONTH, name), j
        assert rx.published(j["path"]) == data, name
        status, _, body = rx.request("GET", "/v1/backups/%s/content" % j["backup_id"], e.t1)
        assert status == 200 and body == data, name
    for bad in ("../x.zip", "a/b.zip", ".hidden"):
        status, j = rx.json("POST", "/v1/uploads", e.t1,
                            {"instance": "prod", "name": bad, "size": 1, "chunk_size": MIB})
        assert status == 400 and j["error"] == "invalid_name", (bad, status, j)


def parallel_chunks(e):
    """Chunks sent at once on several connections, last first: with S3 the
    parts are uploaded concurrently and out of order."""
    rx = e.rx
    uid = rx.open_upload(e.t1, size=1, name="x")
    cs = rx.chunk_size(uid, e.t1)
    assert rx.request("DELETE", "/v1/uploads/" + uid, e.t1)[0] == 204
    n = 6
    data = pattern(n * cs - 17, seed=34)
    uid = rx.open_upload(e.t1, size=len(data), name="parallel.zip", chunk_size=cs)

    def send(i):
        return rx.put_chunk(e.t1, uid, i, data[i * cs:(i + 1) * cs])[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        assert list(pool.map(send, reversed(range(n)))) == [201] * n
    status, j = rx.complete(e.t1, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    assert rx.published(j["path"]) == data


def s3_parts(rx, uid):
    """The part numbers S3 holds for an upload in progress (ListParts)."""
    with open(os.path.join(rx.storage, ".partial", uid + ".s3")) as f:
        mpu = f.read().strip()
    status, _, body = rx.s3.request("GET", "/%s/%s.partial/%s" % (rx.bucket, rx.prefix, uid),
                                    query={"uploadId": mpu})
    assert status == 200, (status, body)
    return [int(n) for n in re.findall(r"<PartNumber>(\d+)</PartNumber>", body.decode())]


def rejected_chunks_store_nothing(e):
    """A chunk whose digest does not match, or that is too large, is
    refused and nothing of it is recorded: with S3, no part either."""
    rx = e.rx
    uid = rx.open_upload(e.t1, size=1, name="x")
    cs = rx.chunk_size(uid, e.t1)
    assert rx.request("DELETE", "/v1/uploads/" + uid, e.t1)[0] == 204
    data = pattern(2 * cs + 10, seed=35)
    uid = rx.open_upload(e.t1, size=len(data), name="rej.zip", chunk_size=cs)
    chunk = data[:cs]
    status, j = rx.put_chunk(e.t1, uid, 0, chunk, digest=content_digest(b"x"))
    assert status == 422 and j["error"] == "digest_mismatch", (status, j)
    status, j = rx.put_chunk(e.t1, uid, 1, pattern(cs + 1))
    assert status == 413 and j["error"] == "too_large", (status, j)
    assert chunks_of(rx, e.t1, uid)["chunks"] == []
    if rx.s3:
        assert s3_parts(rx, uid) == []
    status, j = rx.put_chunk(e.t1, uid, 0, chunk)
    assert status == 201, (status, j)
    assert [c["index"] for c in chunks_of(rx, e.t1, uid)["chunks"]] == [0]
    if rx.s3:
        assert s3_parts(rx, uid) == [1]
    status, j = rx.complete(e.t1, uid, len(data), sha256_hex(data))
    assert status == 409 and "chunk 1 is missing" in j["message"], (status, j)
    assert rx.request("DELETE", "/v1/uploads/" + uid, e.t1)[0] == 204
    if rx.s3:
        assert rx.s3.multipart_uploads(rx.bucket) == []


def range_edges(e):
    """Range headers at the edges (server_hostile.py's list), on whatever
    the driver reads from: a file, or ranged GETs of the object."""
    rx = e.rx
    data = pattern(MIB + 100, seed=36)
    b = rx.upload(e.t1, data, instance="rng", name="rng.zip")
    path = "/v1/backups/%s/content" % b["backup_id"]
    size = len(data)
    for rng, status, part in (("bytes=-0", 416, None),
                              ("bytes=%d-" % size, 416, None),
                              ("bytes=-1", 206, data[-1:]),
                              ("bytes=-99999999", 206, data),
                              ("bytes=%d-" % (size - 1), 206, data[-1:]),
                              ("bytes=0-0,5-6", 200, data),
                              ("bytes=0-99999999999999999999", 200, data),
                              ("bytes=18446744073709551615-", 200, data),
                              ("bytes=5-3", 200, data)):
        got, h, body = rx.request("GET", path, e.t1, headers={"Range": rng})
        assert got == status, (rng, got, body[:200])
        if status == 416:
            assert h["content-range"] == "bytes */%d" % size
            assert json.loads(body)["error"] == "range_not_satisfiable"
        else:
            assert body == part, rng


SCENARIOS = [publish_and_companions, range_downloads, range_edges, resume_after_kill9_mid_chunk,
             parallel_chunks, rejected_chunks_store_nothing, retention_never_newest, quota_507,
             isolation, hostile_names]


# ---- S3 only ------------------------------------------------------------------

def s3_init_checks(rgw):
    rx = Receiver("s3-init", s3=rgw)
    try:
        d = os.path.dirname(rx.db)
        os.makedirs(d)
        key, secret = rgw.write_credentials(d)
        base = ["init", "--storage", "s3://%s/p" % rx.bucket, "--s3-endpoint", rgw.endpoint,
                "--s3-key-file", key, "--s3-secret-file", secret, "--s3-path-style"]
        # A bucket that does not exist: refused, nothing saved.
        p = rx.run(*base, check=False)
        assert p.returncode != 0 and "S3 answered PUT" in p.stderr, p.stderr
        assert "HINT:" in p.stderr and not os.path.exists(rx.db), p.stderr
        rgw.create_bucket(rx.bucket)
        # A secret file others may read: refused, with the fix.
        os.chmod(secret, 0o644)
        p = rx.run(*base, check=False)
        assert p.returncode != 0 and "may be read by others" in p.stderr, p.stderr
        assert "chmod 600" in p.stderr and not os.path.exists(rx.db)
        os.chmod(secret, 0o600)
        # A wrong secret: refused.
        with open(secret, "w") as f:
            f.write("WRONG\n")
        p = rx.run(*base, check=False)
        assert p.returncode != 0 and "SignatureDoesNotMatch" in p.stderr, p.stderr
        assert "WRONG" not in p.stderr + p.stdout, p.stderr
        rgw.write_credentials(d)
        # Missing options: a usage error naming them.
        p = rx.run("init", "--storage", "s3://%s/p" % rx.bucket, check=False)
        assert p.returncode == 2 and "--s3-endpoint" in p.stderr, p.stderr
        p = rx.run(*base)
        assert "s3://%s/p" % rx.bucket in p.stdout, p.stdout
        # The secret is nowhere in the catalog; the probe object is gone.
        with open(rx.db, "rb") as f:
            assert b"TESTSECRET" not in f.read()
        assert rgw.list(rx.bucket) == [], rgw.list(rx.bucket)
    finally:
        rx.cleanup()


def s3_chunk_size_fits_parts(e):
    # The staging directory must hold the whole upload (507 otherwise, as
    # server_space.py checks): a receiver of its own stages on a tmpfs of
    # 1 TiB, a limit only, nothing is written.
    rx = Receiver("s3-parts", s3=e.rx.s3)
    mnt = os.path.join(rx.dir, "mnt")
    os.makedirs(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1T", "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        rx.cleanup()
        print("SKIP: cannot mount a tmpfs (%s)" % p.stderr.strip())
        return
    rx.staging = os.path.join(mnt, "staging")
    try:
        rx.init()
        tok = rx.add_client("db1")
        rx.start("--reserve", "0")
        # 10,000 parts at most: a 100 GiB file gets 16 MiB chunks, not 8.
        status, j = rx.json("POST", "/v1/uploads", tok,
                            {"instance": "prod", "name": "huge.zip", "size": 100 << 30,
                             "chunk_size": MIB})
        assert status == 201 and j["chunk_size"] == 16 * MIB, (status, j)
        rx.json("DELETE", "/v1/uploads/" + j["upload_id"], tok)
        # Past 10,000 x --max-chunk (64M by default): refused, saying why.
        status, j = rx.json("POST", "/v1/uploads", tok,
                            {"instance": "prod", "name": "huge.zip", "size": 700 << 30,
                             "chunk_size": MIB})
        assert status == 413 and "--max-chunk" in j["message"], (status, j)
    finally:
        rx.stop()
        subprocess.run(["umount", mnt])
        rx.cleanup()


def s3_gateway_down_mid_upload(e):
    rx, rgw = e.rx, e.rx.s3
    data = pattern(2 * 8 * MIB + 10, seed=60)
    uid = rx.open_upload(e.t1, size=len(data), name="outage.zip", chunk_size=8 * MIB)
    cs = 8 * MIB
    status, j = rx.put_chunk(e.t1, uid, 0, data[:cs])
    assert status == 201, (status, j)
    rgw.stop_gateway()
    try:
        status, h, body = rx.request("PUT", "/v1/uploads/%s/chunks/1" % uid, e.t1,
                                     data[cs:2 * cs],
                                     {"Content-Digest": content_digest(data[cs:2 * cs])})
        assert status == 503 and h.get("retry-after"), (status, h, body)
        assert json.loads(body)["error"] == "unavailable", body
        # Nothing was recorded: the chunk is not counted.
        assert [c["index"] for c in chunks_of(rx, e.t1, uid)["chunks"]] == [0]
    finally:
        rgw.start_gateway()
    for i in (1, 2):
        status, j = rx.put_chunk(e.t1, uid, i, data[i * cs:(i + 1) * cs])
        assert status == 201, (i, status, j)
    status, j = rx.complete(e.t1, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    assert rx.published(j["path"]) == data
    assert "storage-unavailable" in rx.log_text()


class S3Gate:
    """A TCP proxy between a receiver and the gateway that puts an S3
    outage in the middle of an upload without timings: the first part
    upload (partNumber= in its request line) passes; from the second on,
    every request waits at the gate until release(). The test waits for the
    first part to be done and the second to be held, stops the gateway,
    then releases them: they meet a gateway that is down. The receiver
    makes one connection per S3 request (s3_client.c), so a connection is
    a request."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.parts = 0
        self.first_part_done = threading.Event()
        self.holding = threading.Event()
        self.gate = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def release(self):
        self.gate.set()

    def close(self):
        self.gate.set()
        self.sock.close()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        head = b""
        while b"\r\n" not in head:
            d = c.recv(65536)
            if not d:
                c.close()
                return
            head += d
        with self.lock:
            first = False
            if b"partNumber=" in head.split(b"\r\n", 1)[0]:
                self.parts += 1
                first = self.parts == 1
            hold = self.parts >= 2 and not first
        if hold:
            self.holding.set()
            self.gate.wait()
        try:
            u = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
        except OSError:  # the gateway is down: the receiver sees a refused connection
            c.close()
            return
        try:
            u.sendall(head)
            socks = [c, u]
            while True:
                ready, _, _ = select.select(socks, [], [], 300)
                if not ready:
                    break
                for r in ready:
                    d = r.recv(1 << 20)
                    if not d:
                        raise EOFError
                    (u if r is c else c).sendall(d)
        except (EOFError, OSError):
            pass
        finally:
            c.close()
            u.close()
            if first:
                self.first_part_done.set()


def wait_until(what, cond, proc=None, timeout=120):
    deadline = time.time() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s: the push ended first: %s" % (what, proc.stderr.read()))
        if time.time() > deadline:
            raise AssertionError("%s never happened" % what)
        time.sleep(0.05)


def s3_push_backs_off(e):
    """The gateway stops in the middle of an `mfb push` (one part stored,
    the next on its way): the receiver answers 503 with Retry-After, the
    client backs off and retries, and the push completes once the gateway
    is back; the object is the file."""
    rgw = e.rx.s3
    gate = S3Gate(rgw.port)
    rx = Receiver("s3-outage", s3=rgw, s3_endpoint="http://127.0.0.1:%d" % gate.port)
    push = None
    try:
        rx.init()
        token = rx.add_client("db1")
        rx.start("--reserve", "0")
        src = os.path.join(rx.dir, "push.bin")
        data = pattern(4 * 8 * MIB + 3, seed=61)
        with open(src, "wb") as f:
            f.write(data)
        tok = os.path.join(rx.dir, "db1.token")
        fd = os.open(tok, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        push = subprocess.Popen([MFB, "push", src, "--url", "https://127.0.0.1:%d" % rx.port,
                                 "--token-file", tok, "--fingerprint", rx.fingerprint,
                                 "--instance", "pushed", "--chunk-size", "8M", "--connections",
                                 "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until("a part stored and the next held", lambda: gate.first_part_done.is_set() and
                   gate.holding.is_set(), push)
        rgw.stop_gateway()
        try:
            gate.release()
            wait_until("a 503 from the receiver", lambda: re.search(
                r"status=503 ", rx.log_text()) is not None, push)
            assert push.poll() is None, "the push gave up on a 503"
        finally:
            rgw.start_gateway()
        out, err = push.communicate(timeout=600)
        assert push.returncode == 0, err
        assert "storage-unavailable" in rx.log_text()
        status, j = rx.json("GET", "/v1/backups?instance=pushed", token)
        assert len(j["backups"]) == 1 and j["backups"][0]["sha256"] == sha256_hex(data), j
        assert rx.published(j["backups"][0]["path"]) == data
        assert rgw.multipart_uploads(rx.bucket) == []
    finally:
        if push is not None and push.poll() is None:
            push.kill()
            push.wait()
        gate.close()
        rx.cleanup()


def s3_kill9_while_part_in_flight(e):
    """The receiver killed while a verified chunk is on its way to S3 as a
    part (held in a proxy before the gateway): the chunk was never
    acknowledged nor recorded, so after the restart it is missing, the
    client sends it again, and the upload completes with the right bytes."""
    rgw = e.rx.s3
    gate = S3Gate(rgw.port)
    rx = Receiver("s3-kill-part", s3=rgw, s3_endpoint="http://127.0.0.1:%d" % gate.port)
    try:
        rx.init()
        tok = rx.add_client("db1")
        rx.start("--reserve", "0")
        cs = 8 * MIB
        data = pattern(2 * cs + 5, seed=63)
        uid = rx.open_upload(tok, size=len(data), name="inflight.zip", chunk_size=cs)
        assert rx.put_chunk(tok, uid, 0, data[:cs])[0] == 201  # part 1 passes the gate
        sent = {}

        def send():
            try:
                sent["answer"] = rx.put_chunk(tok, uid, 1, data[cs:2 * cs])
            except OSError as err:  # the receiver died under it
                sent["answer"] = err
        t = threading.Thread(target=send)
        t.start()
        wait_until("part 2 held at the gate", gate.holding.is_set)
        rx.kill9()
        t.join(60)
        assert not isinstance(sent.get("answer"), tuple), sent  # never acknowledged
        gate.release()  # what reached the proxy goes to S3 cut short
        rx.start("--reserve", "0")
        assert [c["index"] for c in chunks_of(rx, tok, uid)["chunks"]] == [0]
        for i in (1, 2):
            status, j = rx.put_chunk(tok, uid, i, data[i * cs:(i + 1) * cs])
            assert status == 201, (i, status, j)
        status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
        assert status == 201, (status, j)
        assert rx.published(j["path"]) == data
        assert rgw.multipart_uploads(rx.bucket) == []
    finally:
        gate.close()
        rx.cleanup()


def s3_expiry_aborts_multipart(e):
    rx = e.rx
    uid = rx.open_upload(e.t1, size=9 * MIB, name="abandoned.zip", chunk_size=8 * MIB)
    status, j = rx.put_chunk(e.t1, uid, 0, pattern(8 * MIB, seed=62))
    assert status == 201, (status, j)
    key = rx.prefix + ".partial/" + uid
    assert key in rx.s3.multipart_uploads(rx.bucket)
    rx.stop()
    rx.run("retention", "apply", check=True)  # the expiry is 7 days: nothing goes
    assert key in rx.s3.multipart_uploads(rx.bucket)
    import sqlite3
    db = sqlite3.connect(rx.db)
    db.execute("UPDATE uploads SET updated = updated - 8 * 86400 WHERE id = ?", (uid,))
    db.commit()
    db.close()
    rx.run("retention", "apply")
    assert key not in rx.s3.multipart_uploads(rx.bucket)
    assert not os.path.exists(os.path.join(rx.storage, ".partial", uid + ".part"))
    assert not os.path.exists(os.path.join(rx.storage, ".partial", uid + ".s3"))
    rx.start("--reserve", "0")


def s3_no_secret_in_log_or_argv(e):
    """After every S3 scenario above (the gateway down, refused requests,
    aborted uploads): the receiver's log holds neither the access key nor
    the secret, and neither is on its command line (they stay in their
    0600 files, docs/server.md)."""
    from ceph import KEY, SECRET
    rx = e.rx
    with open("/proc/%d/cmdline" % rx.proc.pid, "rb") as f:
        argv = f.read().decode()
    log = rx.log_text()
    assert "storage-unavailable" in log, "expected the outages above in this log"
    for secret in (KEY, SECRET):
        assert secret not in log, "the receiver's log holds %s" % secret
        assert secret not in argv, "the receiver's command line holds %s" % secret


S3_SCENARIOS = [s3_chunk_size_fits_parts, s3_gateway_down_mid_upload, s3_push_backs_off,
                s3_kill9_while_part_in_flight, s3_expiry_aborts_multipart,
                s3_no_secret_in_log_or_argv]


def main():
    started = time.time()
    kinds = storage_kinds()
    envs = {}
    tests = []

    def make(kind, fn):
        def t():
            if kind not in envs:
                envs[kind] = Env(kind)
            fn(envs[kind])
        t.__name__ = "%s[%s]" % (fn.__name__, kind)
        return t

    for kind in kinds:
        tests += [make(kind, fn) for fn in SCENARIOS]
    if "s3" in kinds:
        from ceph import RGW
        rgw = RGW.shared()
        print("Ceph started in %.1fs" % rgw.start_seconds, flush=True)

        def init_checks():
            s3_init_checks(rgw)
        init_checks.__name__ = "s3_init_checks"
        tests.append(init_checks)
        tests += [make("s3", fn) for fn in S3_SCENARIOS]
    try:
        code = run_tests(tests)
    finally:
        for env in envs.values():
            env.rx.cleanup()
    print("server_storage: %.1fs in all" % (time.time() - started))
    return code


if __name__ == "__main__":
    sys.exit(main())
