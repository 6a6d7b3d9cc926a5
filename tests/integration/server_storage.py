"""server_storage.py - what the receiver's storage drivers must do alike, run
against each of them (the file driver, and S3 on a real Ceph RADOS Gateway,
tests/lib/ceph.py): publish with .sha256/.json, Range downloads, resume after
kill -9 mid-chunk, retention (never the newest), quota (507), isolation
between clients, hostile names. Then what only S3 has: init's checks (secrets
in 0600 files, a bucket it cannot write is refused), the chunk size raised
to S3's part rules, the gateway stopped mid-upload (503 + Retry-After, then
the upload completes, also from `mfb push`, which backs off), and abandoned
multipart uploads aborted by the upload expiry.

MFB_TEST_STORAGE=file or =s3 runs one driver only. S3 is skipped, with the
reason, only when Ceph cannot start here.
"""
import base64
import hashlib
import json
import os
import re
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


SCENARIOS = [publish_and_companions, range_downloads, resume_after_kill9_mid_chunk,
             retention_never_newest, quota_507, isolation, hostile_names]


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
    rx = e.rx
    # 10,000 parts at most: a 100 GiB file gets 16 MiB chunks, not 8.
    status, j = rx.json("POST", "/v1/uploads", e.t1,
                        {"instance": "prod", "name": "huge.zip", "size": 100 << 30,
                         "chunk_size": MIB})
    assert status == 201 and j["chunk_size"] == 16 * MIB, (status, j)
    rx.json("DELETE", "/v1/uploads/" + j["upload_id"], e.t1)
    # Past 10,000 x --max-chunk (64M by default): refused, saying why.
    status, j = rx.json("POST", "/v1/uploads", e.t1,
                        {"instance": "prod", "name": "huge.zip", "size": 700 << 30,
                         "chunk_size": MIB})
    assert status == 413 and "--max-chunk" in j["message"], (status, j)


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


def s3_push_backs_off(e):
    """`mfb push` while the gateway is down: the receiver answers 503 with
    Retry-After, the client backs off and retries, and the push completes
    once the gateway is back."""
    rx, rgw = e.rx, e.rx.s3
    src = os.path.join(rx.dir, "push.bin")
    data = pattern(20 * MIB + 3, seed=61)
    with open(src, "wb") as f:
        f.write(data)
    tok = os.path.join(rx.dir, "db1.token")
    fd = os.open(tok, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(e.t1 + "\n")
    rgw.stop_gateway()
    back = threading.Timer(3.0, rgw.start_gateway)
    back.start()
    try:
        p = subprocess.run([MFB, "push", src, "--url", "https://127.0.0.1:%d" % rx.port,
                            "--token-file", tok, "--fingerprint", rx.fingerprint,
                            "--instance", "pushed"], capture_output=True, text=True, timeout=300)
    finally:
        back.join()
    assert p.returncode == 0, p.stderr
    assert re.search(r"status=503 ", rx.log_text()), "the receiver never answered 503"
    status, j = rx.json("GET", "/v1/backups?instance=pushed", e.t1)
    assert len(j["backups"]) == 1 and j["backups"][0]["sha256"] == sha256_hex(data), j
    assert rx.published(j["backups"][0]["path"]) == data


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


S3_SCENARIOS = [s3_chunk_size_fits_parts, s3_gateway_down_mid_upload, s3_push_backs_off,
                s3_expiry_aborts_multipart]


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
