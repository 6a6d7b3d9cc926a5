"""server_crash.py - the receiver killed with SIGKILL in the middle of a
chunk, then restarted: acknowledged chunks are all there, the half-written
chunk is not counted, the upload id still works and the upload completes
with the right SHA-256. Also: SIGTERM stops it cleanly. Against each
storage driver (the file driver, and S3 on a real Ceph RADOS Gateway, whose
chunks are parts of 8 MiB); MFB_TEST_STORAGE=file or =s3 runs one only.
"""
import os
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import (MIB, content_digest, pattern, run_tests, sha256_hex,  # noqa: E402
                            storage_kinds, storage_receiver)

rx = None
TOKEN = None
CS = 4 * MIB  # much larger than the receiver's write buffer, so half a chunk reaches the file
DATA = None


def test_kill9_mid_chunk():
    uid = rx.open_upload(TOKEN, size=len(DATA), name="crash.zip", chunk_size=CS)
    for i in (0, 3):
        status, j = rx.put_chunk(TOKEN, uid, i, DATA[i * CS:(i + 1) * CS])
        assert status == 201, (status, j)
    # Chunk 1: headers and half the body, then the receiver dies.
    s = rx.raw_socket()
    chunk = DATA[CS:2 * CS]
    s.sendall(("PUT /v1/uploads/%s/chunks/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Digest: %s\r\nContent-Length: %d\r\n\r\n"
               % (uid, TOKEN, content_digest(chunk), len(chunk))).encode())
    s.sendall(chunk[:CS // 2 + 4096])
    part = os.path.join(rx.storage, ".partial", uid + ".part")
    deadline = time.time() + 30
    # Wait until the server has written some of it into the partial file.
    while time.time() < deadline:
        with open(part, "rb") as f:
            f.seek(CS)
            if f.read(4096) == chunk[:4096]:
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the half chunk never reached the partial file")
    rx.kill9()
    s.close()
    rx.start("--reserve", "0")
    status, j = rx.json("GET", "/v1/uploads/" + uid, TOKEN)
    assert status == 200, (status, j)
    assert [c["index"] for c in j["chunks"]] == [0, 3], j
    assert j["chunks"][1]["sha256"] == sha256_hex(DATA[3 * CS:4 * CS])
    # Completing now fails: chunk 1 is missing, not half there.
    status, j = rx.complete(TOKEN, uid, len(DATA), sha256_hex(DATA))
    assert status == 409 and "chunk 1 is missing" in j["message"], (status, j)
    for i in (1, 2):
        status, j = rx.put_chunk(TOKEN, uid, i, DATA[i * CS:(i + 1) * CS])
        assert status == 201, (i, status, j)
    status, j = rx.complete(TOKEN, uid, len(DATA), sha256_hex(DATA))
    assert status == 201, (status, j)
    assert rx.published(j["path"]) == DATA


def test_kill9_right_after_ack_and_between_requests():
    uid = rx.open_upload(TOKEN, size=2 * CS, name="ack.zip", chunk_size=CS)
    data = pattern(2 * CS, seed=22)
    assert rx.put_chunk(TOKEN, uid, 1, data[CS:])[0] == 201
    rx.kill9()
    rx.start("--reserve", "0")
    status, j = rx.json("GET", "/v1/uploads/" + uid, TOKEN)
    assert [c["index"] for c in j["chunks"]] == [1], j
    assert rx.put_chunk(TOKEN, uid, 1, data[CS:])[0] == 200  # still a no-op repeat
    assert rx.put_chunk(TOKEN, uid, 0, data[:CS])[0] == 201
    status, j = rx.complete(TOKEN, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    assert rx.published(j["path"]) == data


def test_sigterm_stops_cleanly():
    proc = rx.proc
    rx.stop()
    assert proc.returncode == 0, proc.returncode
    assert " stopped " in rx.log_text()
    rx.start("--reserve", "0")
    assert rx.healthy()


def main():
    global rx, TOKEN, CS, DATA
    code = 0
    for kind in storage_kinds():
        rx = storage_receiver(kind, "crash-" + kind)
        try:
            rx.init()
            TOKEN = rx.add_client("db1")
            rx.start("--reserve", "0")
            # S3 raises the chunk size to its part rules (8 MiB).
            probe = rx.open_upload(TOKEN, size=1, name="probe", chunk_size=4 * MIB)
            CS = rx.chunk_size(probe, TOKEN)
            assert rx.request("DELETE", "/v1/uploads/" + probe, TOKEN)[0] == 204
            DATA = pattern(3 * CS + 99, seed=21)
            tests = []
            for fn in (test_kill9_mid_chunk, test_kill9_right_after_ack_and_between_requests,
                       test_sigterm_stops_cleanly):
                def t(fn=fn):
                    fn()
                t.__name__ = "%s[%s]" % (fn.__name__, kind)
                tests.append(t)
            code |= run_tests(tests)
        finally:
            rx.cleanup()
    return code


if __name__ == "__main__":
    sys.exit(main())
