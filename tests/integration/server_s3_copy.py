"""server_s3_copy.py - backups larger than one CopyObject may copy are
published by a multipart copy (docs/server.md, "S3 storage"), on a real
Ceph RADOS Gateway (tests/lib/ceph.py).

AWS S3 copies at most 5 GiB in one CopyObject; tests cannot make objects of
that size, so the receiver's test hooks lower the limit to 6 MiB and the
copy's part size to 5 MiB (MFB_TEST_S3_COPY_LIMIT, MFB_TEST_S3_COPY_PART,
docs/testing.md). Then: a backup of 23 MiB is published by a multipart copy
of five parts (its object is a multipart one), reads back whole and by
ranges across the parts, has its companions, and leaves no temporary key
and no multipart upload; a smaller one still takes the single CopyObject.
A failure at the second part (MFB_TEST_S3_COPY_FAULT=fail:2) answers 503,
leaves nothing under the final name and no multipart upload, and a repeated
`complete` publishes; a crash there (exit:2) leaves only an invisible
multipart upload, which the repeated `complete` aborts before publishing,
or which the upload's expiry aborts.

Skipped, with the reason, only when Ceph cannot start here and CI is not
set (CI=true: a failure).
"""
import hashlib
import http.client
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import (MIB, Receiver, pattern, run_tests, s3_available,  # noqa: E402
                            sha256_hex)

HOOKS = {"MFB_TEST_S3_COPY_LIMIT": str(6 * MIB), "MFB_TEST_S3_COPY_PART": str(5 * MIB)}
state = {}


def setup():
    from ceph import RGW
    rx = Receiver("s3copy", s3=RGW.shared())
    rx.init()
    state.update(rx=rx, token=rx.add_client("db1"))
    rx.start("--reserve", "0", env=HOOKS)


def restart(**extra):
    rx = state["rx"]
    rx.stop()
    rx.start("--reserve", "0", env=dict(HOOKS, **extra))


def send_chunks(data, name):
    """Opens an upload and sends all its chunks (8 MiB); returns its id."""
    rx, tok = state["rx"], state["token"]
    uid = rx.open_upload(tok, size=len(data), name=name, chunk_size=8 * MIB)
    cs = rx.chunk_size(uid, tok)
    assert cs == 8 * MIB, cs
    for i in range((len(data) + cs - 1) // cs):
        status, j = rx.put_chunk(tok, uid, i, data[i * cs:(i + 1) * cs])
        assert status == 201, (i, status, j)
    return uid


def head(path):
    rx = state["rx"]
    return rx.s3.request("HEAD", "/%s/%s%s" % (rx.bucket, rx.prefix, path))


def claimed_path(uid):
    """The storage-relative path whose name claim holds upload uid."""
    rx = state["rx"]
    claims = [k for k in rx.s3.list(rx.bucket, rx.prefix + ".claims/")]
    mine = [k for k in claims if rx.s3.get(rx.bucket, k) == uid.encode()]
    assert len(mine) == 1, (uid, claims)
    return mine[0][len(rx.prefix + ".claims/"):]


def nothing_left_of(uid):
    """No temporary key, no staging file, no multipart upload."""
    rx = state["rx"]
    assert rx.s3.multipart_uploads(rx.bucket) == [], rx.s3.multipart_uploads(rx.bucket)
    keys = rx.s3.list(rx.bucket, rx.prefix + ".partial/")
    assert keys == [], keys
    left = os.listdir(os.path.join(rx.storage, ".partial"))
    assert [f for f in left if f.startswith(uid)] == [], left


def check_published(j, data):
    rx, tok = state["rx"], state["token"]
    assert j["sha256"] == sha256_hex(data) and j["size"] == len(data), j
    assert rx.published(j["path"]) == data
    sha, size = rx.s3.request("GET", "/%s/%s%s" % (rx.bucket, rx.prefix, j["path"]),
                              stream=True)[2]
    assert (sha, size) == (sha256_hex(data), len(data)), (sha, size)
    side = rx.published(j["path"] + ".sha256").decode()
    assert side == "%s  %s\n" % (sha256_hex(data), j["name"]), side
    meta = json.loads(rx.published(j["path"] + ".json"))
    assert meta["sha256"] == sha256_hex(data) and meta["size"] == len(data), meta
    url = "/v1/backups/%s/content" % j["backup_id"]
    # Ranges within a part, across the parts' boundaries (5 MiB), and the end.
    for lo, hi in ((0, 99), (5 * MIB - 10, 5 * MIB + 10), (3 * MIB, 11 * MIB),
                   (20 * MIB - 3, 20 * MIB + 3), (len(data) - 7, len(data) - 1)):
        if hi >= len(data):
            continue
        status, h, body = rx.request("GET", url, tok, headers={"Range": "bytes=%d-%d" % (lo, hi)})
        assert status == 206 and body == data[lo:hi + 1], (lo, hi, status)
        assert h["content-range"] == "bytes %d-%d/%d" % (lo, hi, len(data)), h
    status, _, body = rx.request("GET", url, tok)
    assert status == 200 and hashlib.sha256(body).hexdigest() == sha256_hex(data)


def test_large_backup_published_by_multipart_copy():
    rx, tok = state["rx"], state["token"]
    data = pattern(23 * MIB + 12345, seed=81)
    uid = send_chunks(data, "big.zip")
    status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j, rx.log_text()[-3000:])
    check_published(j, data)
    # Five parts of at most 5 MiB (more than the receiver copies at once),
    # copied from the temporary object: the final object is a multipart one
    # (its ETag ends in -5).
    status, h, _ = head(j["path"])
    assert status == 200 and h["etag"].strip('"').endswith("-5"), (status, h)
    log = rx.log_text()
    assert "s3-copy-start upload=%s" % uid in log and "parts=5 part_bytes=%d" % (5 * MIB) in log
    nothing_left_of(uid)


def test_small_backup_keeps_the_single_copy():
    rx, tok = state["rx"], state["token"]
    data = pattern(6 * MIB, seed=82)  # the limit itself: one CopyObject
    uid = send_chunks(data, "small.zip")
    status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    assert rx.published(j["path"]) == data
    assert "s3-copy-start upload=%s" % uid not in rx.log_text()
    nothing_left_of(uid)


def test_failure_mid_copy_then_complete_again():
    rx, tok = state["rx"], state["token"]
    restart(MFB_TEST_S3_COPY_FAULT="fail:2")
    data = pattern(13 * MIB + 999, seed=83)
    uid = send_chunks(data, "fails.zip")
    status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
    assert status == 503 and j["error"] == "unavailable", (status, j)
    path = claimed_path(uid)
    assert head(path)[0] == 404 and rx.published(path + ".json") is None, path
    # The copy's multipart upload was aborted; the upload itself is kept.
    assert rx.s3.multipart_uploads(rx.bucket) == [], rx.s3.multipart_uploads(rx.bucket)
    status, u = rx.json("GET", "/v1/uploads/" + uid, tok)
    assert status == 200 and len(u["chunks"]) == 2, (status, u)
    assert "s3-copy-failed upload=%s" % uid in rx.log_text()
    restart()
    status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
    assert status == 201 and j["path"] == path, (status, j, path)
    check_published(j, data)
    nothing_left_of(uid)


def crash_mid_copy(name, seed):
    """Sends an upload and completes it with the receiver crashing before
    the second part copy; returns (uid, data, claimed path)."""
    rx, tok = state["rx"], state["token"]
    restart(MFB_TEST_S3_COPY_FAULT="exit:2")
    data = pattern(13 * MIB + 4321, seed=seed)
    uid = send_chunks(data, name)
    try:
        status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
        raise AssertionError("the receiver answered %s %s instead of crashing" % (status, j))
    except (http.client.HTTPException, ConnectionError):
        pass
    rx.proc.wait(timeout=60)
    rx.stop()
    path = claimed_path(uid)
    # Only an invisible multipart upload of the final key: no object.
    assert head(path)[0] == 404 and rx.published(path + ".json") is None, path
    assert rx.s3.multipart_uploads(rx.bucket) == [rx.prefix + path], \
        rx.s3.multipart_uploads(rx.bucket)
    assert os.path.exists(os.path.join(rx.storage, ".partial", uid + ".s3copy"))
    return uid, data, path


def test_crash_mid_copy_then_complete_again():
    rx, tok = state["rx"], state["token"]
    uid, data, path = crash_mid_copy("crash.zip", 84)
    rx.start("--reserve", "0", env=HOOKS)
    status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
    assert status == 201 and j["path"] == path, (status, j, path)
    check_published(j, data)
    nothing_left_of(uid)


def test_crash_mid_copy_then_expiry_aborts_it():
    rx = state["rx"]
    uid, _, path = crash_mid_copy("expire.zip", 85)
    db = sqlite3.connect(rx.db)
    db.execute("UPDATE uploads SET updated = updated - 8 * 86400 WHERE id = ?", (uid,))
    db.commit()
    db.close()
    rx.run("retention", "apply")
    assert head(path)[0] == 404, path
    nothing_left_of(uid)
    rx.start("--reserve", "0", env=HOOKS)


def test_hooks_refused_when_invalid():
    rx = state["rx"]
    rx.stop()
    try:
        for env in ({"MFB_TEST_S3_COPY_PART": str(MIB)}, {"MFB_TEST_S3_COPY_FAULT": "sometimes"}):
            try:
                rx.start("--reserve", "0", env=env)
            except AssertionError as e:
                assert "for tests only" in str(e), e
            else:
                raise AssertionError("serve started with %s" % env)
    finally:
        rx.stop()
        rx.start("--reserve", "0", env=HOOKS)


def main():
    started = time.time()
    if not s3_available():  # raises when CI=true
        return 0
    try:
        setup()
        code = run_tests([test_large_backup_published_by_multipart_copy,
                          test_small_backup_keeps_the_single_copy,
                          test_failure_mid_copy_then_complete_again,
                          test_crash_mid_copy_then_complete_again,
                          test_crash_mid_copy_then_expiry_aborts_it,
                          test_hooks_refused_when_invalid])
    finally:
        if "rx" in state:
            state["rx"].cleanup()
    print("server_s3_copy: %.1fs in all" % (time.time() - started))
    return code


if __name__ == "__main__":
    sys.exit(main())
