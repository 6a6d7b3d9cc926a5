"""server_api.py - the receiver over real HTTPS: uploads in and out of
order, 8 parallel chunks, no-op repeats, every hostile case of docs/protocol.md with
its status, namespaces, publish with .sha256/.json, Range downloads, and
that the receiver keeps serving other clients throughout.
"""
import concurrent.futures
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import MIB, Receiver, content_digest, pattern, run_tests, sha256_hex  # noqa: E402

rx = Receiver("api")
T1 = T2 = None


def setup():
    global T1, T2
    info = rx.init()
    # The fingerprint is the one openssl prints for the certificate.
    out = subprocess.run(["openssl", "x509", "-in", info["cert"], "-noout", "-fingerprint",
                          "-sha256"], capture_output=True, text=True, check=True).stdout
    assert out.strip().split("=", 1)[1] == info["fingerprint"], (out, info)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", info["fingerprint"])
    assert os.stat(info["key"]).st_mode & 0o777 == 0o600
    assert os.stat(rx.db).st_mode & 0o777 == 0o600
    T1 = rx.add_client("db1")
    T2 = rx.add_client("db2")
    # The default idle timeout (60 s): a short one would cut this test's own
    # requests whenever a loaded machine stalls the client for that long.
    # test_idle_timeout runs a receiver with a short one of its own.
    rx.start("--reserve", "0")


def test_tls_and_health():
    assert rx.healthy()
    status, j = rx.json("GET", "/v1/whoami", T1)
    assert (status, j) == (200, {"client": "db1"})
    # TLS 1.1 and older are refused.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(rx.cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with socket.create_connection(("127.0.0.1", rx.port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                raise AssertionError("TLS 1.1 handshake succeeded")
    except (ssl.SSLError, ConnectionError):
        pass


def test_auth():
    for token in (None, "0" * 64, "nothex", T1 + "0"):
        status, j = rx.json("GET", "/v1/backups", token)
        assert status == 401 and j["error"] == "unauthorized", (token, status, j)
    status, _, _ = rx.request("GET", "/v1/whoami", headers={"Authorization": "Basic eDp5"})
    assert status == 401


def test_upload_in_order_publishes():
    data = pattern(3 * MIB + 777, seed=11)
    j = rx.upload(T1, data, instance="prod", name="prod_1.zip", directory="nightly")
    assert j["path"] == "db1/prod/" + time.strftime("%Y/%m", time.gmtime()) + "/prod_1.zip", j
    path = os.path.join(rx.storage, j["path"])
    with open(path, "rb") as f:
        assert f.read() == data
    assert os.stat(path).st_mode & 0o777 == 0o440
    d = os.path.dirname(path)
    p = subprocess.run(["sha256sum", "-c", "prod_1.zip.sha256"], cwd=d, capture_output=True,
                       text=True)
    assert p.returncode == 0 and "prod_1.zip: OK" in p.stdout, p.stdout + p.stderr
    with open(path + ".json") as f:
        meta = json.load(f)
    assert meta["sha256"] == sha256_hex(data) and meta["size"] == len(data)
    assert meta["client"] == "db1" and meta["directory"] == "nightly"
    assert not os.listdir(os.path.join(rx.storage, ".partial"))


def test_upload_out_of_order_and_repeat():
    data = pattern(5 * MIB, seed=12)
    uid = rx.open_upload(T1, size=len(data), name="ooo.zip")
    for i in (4, 2, 0, 3, 1):
        status, j = rx.put_chunk(T1, uid, i, data[i * MIB:(i + 1) * MIB])
        assert status == 201 and j["index"] == i, (status, j)
    status, j = rx.put_chunk(T1, uid, 2, data[2 * MIB:3 * MIB])
    assert status == 200 and j["sha256"] == sha256_hex(data[2 * MIB:3 * MIB]), (status, j)
    status, j = rx.put_chunk(T1, uid, 2, data[:MIB])
    assert status == 409 and j["error"] == "conflict", (status, j)
    # Replacing a chunk: DELETE it (another client's token: 404), then PUT.
    chunk2 = "/v1/uploads/%s/chunks/2" % uid
    status, j = rx.json("DELETE", chunk2, T2)
    assert status == 404 and j["error"] == "not_found", (status, j)
    status, hdrs, body = rx.request("DELETE", chunk2, T1)
    assert (status, body) == (204, b""), (status, body)
    status, j = rx.json("DELETE", chunk2, T1)
    assert status == 404 and j["error"] == "not_found", (status, j)
    status, j = rx.json("GET", "/v1/uploads/" + uid, T1)
    assert [c["index"] for c in j["chunks"]] == [0, 1, 3, 4], j
    status, j = rx.put_chunk(T1, uid, 2, data[2 * MIB:3 * MIB])
    assert status == 201, (status, j)
    status, j = rx.json("GET", "/v1/uploads/" + uid, T1)
    assert [c["index"] for c in j["chunks"]] == [0, 1, 2, 3, 4]
    assert j["received_bytes"] == len(data)
    assert j["chunks"][3]["sha256"] == sha256_hex(data[3 * MIB:4 * MIB])
    status, j = rx.complete(T1, uid, len(data), "0" * 64)
    assert status == 422 and j["error"] == "checksum_mismatch", (status, j)
    status, j = rx.complete(T1, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    again = rx.complete(T1, uid, len(data), sha256_hex(data))
    assert again == (201, j)
    status, j2 = rx.json("DELETE", chunk2, T1)
    assert status == 409 and j2["error"] == "conflict", (status, j2)
    with open(os.path.join(rx.storage, j["path"]), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha256_hex(data)


def test_parallel_chunks():
    n = 16
    data = pattern(n * MIB, seed=13)
    uid = rx.open_upload(T1, size=len(data), name="parallel.zip")

    def send(i):
        return rx.put_chunk(T1, uid, i, data[i * MIB:(i + 1) * MIB])[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(send, reversed(range(n)))) == [201] * n
    status, j = rx.complete(T1, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)


def test_chunk_rejects():
    data = pattern(2 * MIB + 10, seed=14)
    uid = rx.open_upload(T1, size=len(data), name="rej.zip")
    chunk = data[:MIB]
    status, j = rx.put_chunk(T1, uid, 0, chunk, digest=content_digest(b"x"))
    assert status == 422 and j["error"] == "digest_mismatch", (status, j)
    status, j = rx.put_chunk(T1, uid, 0, chunk, digest="sha-256=:bad:")
    assert status == 400 and j["error"] == "bad_digest_header", (status, j)
    status, j = rx.put_chunk(T1, uid, 3, b"abc")
    assert status == 400 and j["error"] == "chunk_out_of_range", (status, j)
    status, j = rx.put_chunk(T1, uid, 2, b"x" * 11)
    assert status == 400 and j["error"] == "chunk_out_of_range", (status, j)
    status, j = rx.put_chunk(T1, uid, 0, pattern(MIB + 1))
    assert status == 413 and j["error"] == "too_large", (status, j)
    # Oversized without Content-Length (chunked): refused once it passes the size.
    conn = rx.connect()
    big = pattern(MIB + 4096)
    conn.putrequest("PUT", "/v1/uploads/%s/chunks/1" % uid)
    conn.putheader("Authorization", "Bearer " + T1)
    conn.putheader("Content-Digest", content_digest(big))
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for off in range(0, len(big), 65536):
        piece = big[off:off + 65536]
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    r = conn.getresponse()
    assert r.status == 413 and json.loads(r.read())["error"] == "too_large"
    conn.close()
    status, j = rx.put_chunk(T1, "u_" + "0" * 32, 0, chunk)
    assert status == 404 and j["error"] == "not_found"
    status, j = rx.put_chunk(T1, uid, 0, chunk, headers={"X": "y"})
    assert status == 201
    # Nothing from the rejects was recorded.
    status, j = rx.json("GET", "/v1/uploads/" + uid, T1)
    assert [c["index"] for c in j["chunks"]] == [0], j
    status, j = rx.complete(T1, uid, len(data), sha256_hex(data))
    assert status == 409 and "chunk 1 is missing" in j["message"], (status, j)


def test_names_and_json():
    bad = [
        ({"instance": "../etc", "name": "a", "chunk_size": MIB}, "invalid_name"),
        ({"instance": "p", "name": "../../x", "chunk_size": MIB}, "invalid_name"),
        ({"instance": "p", "name": "a/b", "chunk_size": MIB}, "invalid_name"),
        ({"instance": "p/q", "name": "a", "chunk_size": MIB}, "invalid_name"),
        ({"instance": "p", "name": "a", "directory": "../up", "chunk_size": MIB}, "invalid_name"),
        ({"instance": "p", "name": "a\nb", "chunk_size": MIB}, "invalid_name"),
        ({"instance": "p", "name": "x" * 129, "chunk_size": MIB}, "invalid_name"),
    ]
    for body, code in bad:
        status, j = rx.json("POST", "/v1/uploads", T1, body)
        assert status == 400 and j["error"] == code, (body, status, j)
    for raw in (b"{", b"[]", b"not json", b"", b'{"instance":"p","name":"a","chunk_size":1048576,'):
        status, j = rx.json("POST", "/v1/uploads", T1, raw,
                            {"Content-Type": "application/json"})
        assert status == 400 and j["error"] == "invalid_json", (raw, status, j)
    status, j = rx.json("POST", "/v1/uploads", T1, b"{" + b" " * 70000 + b"}")
    assert status == 413, (status, j)
    status, j = rx.json("PATCH", "/v1/uploads", T1)
    assert status == 405 and j["error"] == "method_not_allowed"
    assert rx.healthy()


def test_namespaces():
    data = pattern(MIB, seed=15)
    uid = rx.open_upload(T1, size=len(data), name="mine.zip")
    status, j = rx.put_chunk(T2, uid, 0, data)
    assert status == 404, (status, j)
    for method, path in (("GET", "/v1/uploads/" + uid), ("DELETE", "/v1/uploads/" + uid)):
        assert rx.json(method, path, T2)[0] == 404
    assert rx.complete(T2, uid, len(data), sha256_hex(data))[0] == 404
    assert rx.put_chunk(T1, uid, 0, data)[0] == 201
    status, b = rx.complete(T1, uid, len(data), sha256_hex(data))
    assert status == 201
    bid = b["backup_id"]
    for method, path in (("GET", "/v1/backups/" + bid), ("GET", "/v1/backups/%s/content" % bid),
                         ("DELETE", "/v1/backups/" + bid)):
        assert rx.json(method, path, T2)[0] == 404, (method, path)
    status, j = rx.json("GET", "/v1/backups", T2)
    assert status == 200 and all(x["backup_id"] != bid for x in j["backups"])
    status, j = rx.json("GET", "/v1/backups?instance=prod", T1)
    assert any(x["backup_id"] == bid for x in j["backups"])
    assert rx.json("DELETE", "/v1/backups/" + bid, T1)[0] == 204
    assert rx.json("GET", "/v1/backups/" + bid, T1)[0] == 404
    assert not os.path.exists(os.path.join(rx.storage, b["path"]))


def test_range_download():
    data = pattern(2 * MIB + 5, seed=16)
    b = rx.upload(T1, data, instance="dl", name="dl.zip")
    path = "/v1/backups/%s/content" % b["backup_id"]
    status, h, body = rx.request("GET", path, T1)
    assert status == 200 and body == data
    assert h["repr-digest"] == content_digest(data)
    status, h, body = rx.request("GET", path, T1, headers={"Range": "bytes=1048576-"})
    assert status == 206 and body == data[MIB:], status
    assert h["content-range"] == "bytes 1048576-2097156/2097157"
    status, h, body = rx.request("GET", path, T1, headers={"Range": "bytes=-5"})
    assert status == 206 and body == data[-5:]
    status, h, body = rx.request("GET", path, T1, headers={"Range": "bytes=9999999-"})
    assert status == 416 and h["content-range"] == "bytes */2097157"


def test_huge_headers():
    s = rx.raw_socket()
    try:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    except (ConnectionError, ssl.SSLError):
        # The server answered 431 and closed before the rest arrived: the
        # answer may be lost with the connection; what counts then is that
        # the receiver refused the request and still serves.
        s.close()
        assert rx.healthy()
        return
    reply = b""
    try:
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            reply += piece
    except (ConnectionError, ssl.SSLError):
        pass
    s.close()
    assert reply.startswith(b"HTTP/1.1 431"), reply[:100]
    assert rx.healthy()


def assert_closed_by_server(connect):
    """Opens a connection and sends nothing: returns once the server closes
    it. Closing it in the TLS handshake counts too (a stalled client may not
    get that far); a socket timeout (the server never closes it) raises."""
    try:
        s = connect()
    except (ConnectionError, ssl.SSLError):
        return
    with s:
        try:
            while s.recv(100):
                pass
        except (ConnectionError, ssl.SSLError):
            pass


def test_idle_timeout():
    """Connections that send nothing are closed after --idle-timeout: one
    after its TLS handshake, and a plain TCP one that never starts TLS
    (perhaps after a TLS alert). The socket timeout (30 s) is far beyond the
    2 s asked for but below the 60 s default, so the option is what closes
    them; nothing here measures how long it took."""
    rx.stop()
    rx.start("--idle-timeout", "2s", "--reserve", "0")
    assert_closed_by_server(lambda: rx.raw_socket(timeout=30))
    assert_closed_by_server(lambda: socket.create_connection(("127.0.0.1", rx.port), timeout=30))
    assert rx.proc.poll() is None, rx.log_text()[-2000:]
    rx.stop()
    rx.start("--reserve", "0")


def test_serves_others_during_hostile_input():
    """Slow and broken clients on some connections; another client still works."""
    hostile = []
    for _ in range(5):
        s = rx.raw_socket()
        s.sendall(b"PUT /v1/uploads/u_" + b"0" * 32 + b"/chunks/0 HTTP/1.1\r\nHost: x\r\n")
        hostile.append(s)
    data = pattern(2 * MIB, seed=17)
    b = rx.upload(T2, data, instance="other", name="while.zip")
    assert b["size"] == len(data)
    for s in hostile:
        s.close()


def test_log_never_has_tokens():
    text = rx.log_text()
    assert T1 not in text and T2 not in text
    assert re.search(r"request client=db1 method=PUT path=/v1/uploads/u_[0-9a-f]{32}/chunks/\d+ "
                     r"status=201 upload=u_[0-9a-f]{32} index=\d+ bytes=\d+", text), text[-2000:]


def test_connection_limit():
    """Connections past --max-connections are closed at once; the held ones
    keep working (keep-alive), and a freed slot is used again."""
    rx.stop()
    rx.start("--max-connections", "2", "--reserve", "0")
    held = [rx.connect(), rx.connect()]
    for c in held:
        assert rx.json("GET", "/v1/health", conn=c)[0] == 200
    extra = socket.create_connection(("127.0.0.1", rx.port), timeout=20)
    try:
        assert extra.recv(100) == b""
    except ConnectionError:
        pass
    extra.close()
    for c in held:  # the same connections again: kept alive
        assert rx.json("GET", "/v1/health", conn=c)[0] == 200
    held.pop().close()
    deadline = time.time() + 20
    while True:
        try:
            assert rx.healthy()
            break
        except (ConnectionError, ssl.SSLError, OSError):
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    held.pop().close()


def main():
    try:
        setup()
        return run_tests([
            test_tls_and_health, test_auth, test_upload_in_order_publishes,
            test_upload_out_of_order_and_repeat, test_parallel_chunks, test_chunk_rejects,
            test_names_and_json, test_namespaces, test_range_download, test_huge_headers,
            test_serves_others_during_hostile_input, test_log_never_has_tokens,
            test_idle_timeout, test_connection_limit,
        ])
    finally:
        rx.cleanup()


if __name__ == "__main__":
    sys.exit(main())
