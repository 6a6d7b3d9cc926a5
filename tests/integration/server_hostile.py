"""server_hostile.py - the receiver against a hostile or broken client, over
real TLS with hand-written requests: ambiguous body framing (two
Content-Length headers, Transfer-Encoding other than chunked, both),
ambiguous Content-Digest (two headers, two sha-256 members), %00 in paths,
chunk indexes at 2^63 and 2^64, Range edge cases, a log that stays one
line per request and never holds a token sent in the wrong place, and
slow-loris clients that would hold every connection slot, and a flood of
idle connections that would hold them all until the idle timeout. Each
refusal is a JSON {error, message} 4xx and changes nothing stored.
(server_api.py covers the ordinary hostile cases: bad digests, oversized
chunks, names, namespaces, huge headers, idle and connection limits.)
"""
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import MIB, Receiver, content_digest, pattern, run_tests, sha256_hex  # noqa: E402

rx = Receiver("hostile")
T = None


def setup():
    global T
    rx.init()
    T = rx.add_client("db1")
    rx.start("--reserve", "0")


def send_raw(data, timeout=20):
    """Sends bytes on a fresh TLS connection; returns (status, headers, body,
    closed): closed says the server closed the connection after answering."""
    s = rx.raw_socket(timeout=timeout)
    try:
        s.sendall(data)
    except (ConnectionError, ssl.SSLError):
        pass  # answered and closed before the whole body was sent
    reply = b""
    closed = False
    try:
        while True:
            piece = s.recv(65536)
            if not piece:
                closed = True
                break
            reply += piece
            head, sep, rest = reply.partition(b"\r\n\r\n")
            m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
            if sep and m and len(rest) >= int(m.group(1)) and b"connection: close" not in head.lower():
                break  # a whole answer on a connection kept open
    except (ConnectionError, ssl.SSLError):
        closed = True
    s.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body, closed


def request(method, path, headers=(), body=b"", token=True):
    text = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    if token:
        text += "Authorization: Bearer %s\r\n" % T
    for k, v in headers:
        text += "%s: %s\r\n" % (k, v)
    return text.encode() + b"\r\n" + body


def assert_error(reply, status, code, message=None):
    got, _, body, _ = reply
    j = json.loads(body)
    assert got == status and j["error"] == code, (got, j)
    assert message is None or j["message"] == message, j


def chunks_of(uid):
    status, j = rx.json("GET", "/v1/uploads/" + uid, T)
    assert status == 200, (status, j)
    return [(c["index"], c["size"]) for c in j["chunks"]]


def test_ambiguous_framing_refused():
    """A body whose end cannot be known for sure is refused at once, and the
    connection closed; libmicrohttpd alone would frame by the first
    Content-Length, or read an unknown coding until the connection closes."""
    uid = rx.open_upload(T, name="framing.zip")
    data = pattern(MIB, seed=31)
    path = "/v1/uploads/%s/chunks/0" % uid
    dig = ("Content-Digest", content_digest(data[:5]))
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    cases = [
        ([dig, ("Content-Length", "5"), ("Content-Length", str(MIB))], data[:5],
         "more than one Content-Length header"),
        ([dig, ("Content-Length", str(MIB)), ("Content-Length", "5")], data[:5],
         "more than one Content-Length header"),
        ([dig, ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], chunked,
         "more than one Transfer-Encoding header"),
        ([dig, ("Transfer-Encoding", "gzip"), ("Content-Length", "5")], data[:5],
         "Transfer-Encoding must be chunked (or absent, with Content-Length)"),
        ([dig, ("Transfer-Encoding", "gzip, chunked")], chunked,
         "Transfer-Encoding must be chunked (or absent, with Content-Length)"),
        ([dig, ("Transfer-Encoding", "identity"), ("Content-Length", "5")], data[:5],
         "Transfer-Encoding must be chunked (or absent, with Content-Length)"),
        ([dig, ("Content-Length", "5"), ("Transfer-Encoding", "chunked")], chunked,
         "Content-Length and Transfer-Encoding must not both be sent"),
    ]
    for headers, body, message in cases:
        reply = send_raw(request("PUT", path, headers, body))
        assert_error(reply, 400, "bad_request", message)
        assert reply[3], ("connection left open", headers)
    # JSON routes too.
    body = json.dumps({"size": 5, "sha256": sha256_hex(data[:5])}).encode()
    reply = send_raw(request("POST", "/v1/uploads/%s/complete" % uid,
                             [("Content-Length", str(len(body))), ("Content-Length", "1")], body))
    assert_error(reply, 400, "bad_request", "more than one Content-Length header")
    assert chunks_of(uid) == []
    # Chunked alone (any case) is fine.
    reply = send_raw(request("PUT", path, [("Content-Digest", content_digest(data)),
                                           ("Transfer-Encoding", "Chunked"),
                                           ("Connection", "close")], chunked))
    assert reply[0] == 201, reply[:3]
    assert chunks_of(uid) == [(0, MIB)]


def test_ambiguous_digest_refused():
    uid = rx.open_upload(T, size=MIB, name="digest.zip")
    data = pattern(MIB, seed=32)
    path = "/v1/uploads/%s/chunks/0" % uid
    good, other = content_digest(data), content_digest(b"other")
    for headers in ([("Content-Digest", other), ("Content-Digest", good)],
                    [("Content-Digest", good), ("Content-Digest", good)],
                    [("Content-Digest", other + ", " + good)],
                    [("Content-Digest", good + ", " + good)]):
        reply = send_raw(request("PUT", path, headers + [("Content-Length", str(MIB)),
                                                         ("Connection", "close")], data))
        assert reply[0] == 400 and json.loads(reply[2])["error"] == "bad_digest_header", \
            (headers, reply[:3])
    assert chunks_of(uid) == []
    # Another algorithm beside sha-256 is ignored, as before.
    assert rx.put_chunk(T, uid, 0, data, digest="sha-512=:AAAA:, " + good)[0] == 201


def test_nul_in_path_names_nothing():
    """%00 is not decoded: "ID%00/chunks/0" would otherwise name the upload
    itself, and its DELETE drop the whole upload."""
    uid = rx.open_upload(T, size=2 * MIB, name="nul.zip")
    data = pattern(2 * MIB, seed=33)
    assert rx.put_chunk(T, uid, 0, data[:MIB])[0] == 201
    for method, path, status_code in (
            ("DELETE", "/v1/uploads/%s%%00/chunks/0" % uid, (404, "not_found")),
            ("GET", "/v1/uploads/%s%%00/chunks/0" % uid, (404, "not_found")),
            ("DELETE", "/v1/uploads/%s/chunks/0%%00" % uid, (400, "bad_request")),
            ("PUT", "/v1/uploads/%s/chunks/1%%00" % uid, (400, "bad_request"))):
        status, j = rx.json(method, path, T)
        assert (status, j["error"]) == status_code, (method, path, status, j)
    status, j = rx.json("GET", "/v1/backups?instance=prod%00", T)
    assert status == 200 and j["backups"] == [], j
    assert chunks_of(uid) == [(0, MIB)]
    assert rx.put_chunk(T, uid, 1, data[MIB:])[0] == 201
    assert rx.complete(T, uid, len(data), sha256_hex(data))[0] == 201


def test_chunk_index_edges():
    known = rx.open_upload(T, size=3 * MIB, name="idx.zip")
    unknown = rx.open_upload(T, name="idx2.zip")
    data = pattern(MIB, seed=34)
    for uid in (known, unknown):
        for index, code in (("9223372036854775807", "chunk_out_of_range"),
                            ("9223372036854775808", "chunk_out_of_range"),
                            ("18446744073709551615", "bad_request"),
                            ("18446744073709551616", "bad_request"),
                            ("-1", "bad_request"), ("+1", "bad_request"), ("0x1", "bad_request"),
                            ("1.0", "bad_request"), ("%2B1", "bad_request")):
            status, j = rx.json("PUT", "/v1/uploads/%s/chunks/%s" % (uid, index), T, data,
                                {"Content-Digest": content_digest(data)})
            assert status == 400 and j["error"] == code, (uid, index, status, j)
        assert chunks_of(uid) == []
    # Leading zeros are the same number.
    assert rx.json("PUT", "/v1/uploads/%s/chunks/002" % known, T, data,
                   {"Content-Digest": content_digest(data)})[0] == 201
    assert chunks_of(known) == [(2, MIB)]


def test_range_edges():
    data = pattern(MIB + 100, seed=35)
    b = rx.upload(T, data, instance="rng", name="rng.zip")
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
        got, h, body = rx.request("GET", path, T, headers={"Range": rng})
        assert got == status, (rng, got, body[:200])
        if status == 416:
            assert h["content-range"] == "bytes */%d" % size
            assert json.loads(body)["error"] == "range_not_satisfiable"
        else:
            assert body == part, rng


def test_log_one_line_per_request_and_no_token():
    """Paths are decoded by libmicrohttpd, so %0A in one would end the log
    line and start a forged one; a token sent as a path segment, a chunk
    index or a method would be written in clear."""
    uid = rx.open_upload(T, name="log.zip")
    probes = [
        request("GET", "/v1/whoami%0aforged-event%20client=admin"),
        request("GET", "/v1/%0d%0aforged"),
        request("GET", "/v1/" + T),
        request("GET", "/v1/uploads/" + T),
        request("DELETE", "/v1/uploads/%s/chunks/%s" % (uid, T)),
        request(T, "/v1/whoami"),
        request("G\x01T", "/v1/whoami"),
        request("GET", "/v1/whoami?access_token=" + T, token=False),
        request("GET", "/v1/whoami", [("X-Token", T)], token=False),
    ]
    for p in probes:
        status, _, body, _ = send_raw(p.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        assert 400 <= status < 500 and "error" in json.loads(body), (p[:80], status, body)
    rx.stop()
    text = rx.log_text()
    rx.start("--reserve", "0")
    assert T not in text and T.upper() not in text
    assert T[:16] not in text  # not even a part of it
    for line in text.splitlines():
        assert re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z (info|warn|error) ", line), line
    assert "forged" in text  # logged, escaped, on the request's own line
    assert re.search(r" path=/v1/whoami%0Aforged-event%20client=admin status=404 ", text), text[-3000:]
    assert re.search(r" method=DELETE path=/v1/uploads/u_<32-hex>/chunks/<64-hex> status=400 "
                     r"upload=%s index=- " % uid,
                     text), text[-3000:]
    assert re.search(r" method=other path=/v1/whoami status=405 ", text), text[-3000:]


def test_slow_clients_cut():
    """Slow loris: a header sent one byte at a time, or an unauthenticated
    body trickled, resets the idle timeout with each byte and held its slot
    for ever; with --max-connections taken by such clients nobody else got
    in. They are cut --idle-timeout + 10 s after opening; an authenticated
    chunk upload just as slow is not."""
    rx.stop()
    rx.start("--reserve", "0", "--idle-timeout", "1s", "--max-connections", "3")
    uid = rx.open_upload(T, size=MIB, name="slow.zip")
    data = pattern(MIB, seed=36)
    give_up = time.time() + 60
    results = {}

    def trickle(name, head, body, step):
        s = rx.raw_socket(timeout=60)
        try:
            s.sendall(head)
            for i in range(0, len(body), step):
                if time.time() > give_up:
                    results[name] = "still open"
                    return
                s.sendall(body[i:i + step])
                time.sleep(0.5)
            reply = s.recv(4096)
            results[name] = reply.split(b"\r\n", 1)[0].decode() if reply else "closed"
        except (ConnectionError, ssl.SSLError):
            results[name] = "cut"
        finally:
            s.close()

    # An authenticated upload at 32 KiB per half second (16 s, past the
    # guard's 11 s), beside a header and an unauthenticated body trickled.
    upload_head = ("PUT /v1/uploads/%s/chunks/0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Content-Digest: %s\r\nContent-Length: %d\r\n\r\n"
                   % (uid, T, content_digest(data), len(data))).encode()
    loris_head = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
    body_head = b"PUT /v1/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    threads = [threading.Thread(target=trickle, args=a) for a in (
        ("upload", upload_head, data, 32768),
        ("header", loris_head, b"X-Slow: " + b"a" * 1000, 1),
        ("body", body_head, b"b" * 100000, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"upload": "HTTP/1.1 201 Created", "header": "cut", "body": "cut"}, results
    assert chunks_of(uid) == [(0, MIB)]
    assert "slow-client-cut connections=" in rx.log_text()
    assert rx.healthy()
    rx.stop()
    rx.start("--reserve", "0")


def test_log_fields_not_forged():
    """Names a client chose are logged as one quoted field each: a name
    holding ' client=other upload=...' cannot make the log say that."""
    forged = "a.bin client=other upload=u_" + "0" * 32
    inst = 'x" backup=b_1'
    data = pattern(MIB, seed=36)
    b = rx.upload(T, data, instance=inst, name=forged)
    assert b["name"] == forged, b
    rx.json("DELETE", "/v1/backups/%s" % b["backup_id"], T)
    log = rx.log_text()
    lines = [l for l in log.splitlines() if "a.bin client=other" in l]
    assert len(lines) == 3, lines
    for line in lines:
        fields = re.findall(r' (\w+)=("(?:[^"\\]|\\.)*"|[^ "]+)', line)
        keys = [k for k, _ in fields]
        assert len(keys) == len(set(keys)), line  # no field said twice
        assert dict(fields)["client"] == "db1", line
        assert dict(fields).get("upload", "u_1") != "u_" + "0" * 32, line
    assert ('instance="x\\" backup=b_1" name="a.bin client=other upload=u_%s"' % ("0" * 32)
            in lines[0]), lines[0]
    assert 'path="db1/x\\" backup=b_1/' in lines[1], lines[1]


def test_connection_flood():
    """A flood of connections that open and send nothing (not even a TLS
    handshake) took every slot until --idle-timeout + 10 s (70 s by
    default), and no other client got in meanwhile. Near the limit, the
    guard's deadline is short: with the flood still held open, a normal
    client gets through (retrying, as mfb does, while it is refused)."""
    rx.stop()
    rx.start("--reserve", "0", "--max-connections", "12")
    flood = []
    try:
        for _ in range(12):
            flood.append(socket.create_connection(("127.0.0.1", rx.port), timeout=60))
        give_up = time.time() + 45  # generous: the idle deadline would be 70 s
        status = None
        while status != 200 and time.time() < give_up:
            try:
                status, _ = rx.json("GET", "/v1/whoami", T)
            except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
                time.sleep(0.2)
        assert status == 200, "locked out by the flood"
        # Each request opens a connection of its own, and while the guard is
        # still cutting the flood one may again find every slot taken (it is
        # accepted and closed): retry the upload, as mfb does, each attempt
        # under a name of its own.
        data = pattern(MIB, seed=37)
        b, attempt = None, 0
        while b is None and time.time() < give_up:
            attempt += 1
            try:
                b = rx.upload(T, data, instance="flood", name=f"flood-{attempt}.zip")
            except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
                time.sleep(0.2)
        assert b is not None, "no upload got through the flood"
        status, j = rx.json("GET", "/v1/backups?instance=flood", T)
        assert status == 200 and b["backup_id"] in [x["backup_id"] for x in j["backups"]], j
        assert "pressure=yes" in rx.log_text()
    finally:
        for s in flood:
            s.close()
    rx.stop()
    rx.start("--reserve", "0")


def test_still_serving():
    assert rx.healthy()
    status, j = rx.json("GET", "/v1/whoami", T)
    assert (status, j) == (200, {"client": "db1"})


if __name__ == "__main__":
    try:
        setup()
        code = run_tests([test_ambiguous_framing_refused, test_ambiguous_digest_refused,
                          test_nul_in_path_names_nothing, test_chunk_index_edges, test_range_edges,
                          test_log_one_line_per_request_and_no_token, test_log_fields_not_forged,
                          test_slow_clients_cut, test_connection_flood,
                          test_still_serving])
    finally:
        rx.cleanup()
    sys.exit(code)
