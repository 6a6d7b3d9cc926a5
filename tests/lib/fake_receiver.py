"""fake_receiver.py - a scripted peer for the client's transfer tests.

An in-memory implementation of the receiver side of docs/protocol.md
(uploads, chunks, completion, backups with Range reads) over HTTPS with a
self-signed certificate, plus fault injection, so the tests can make the
network and the receiver misbehave on purpose:

    status   answer STATUS to the first COUNT matching requests (503, 429,
             408 retried by the client; 400, 401, 409 not)
    drop     read AFTER_BYTES of the request body (or write AFTER_BYTES of a
             content answer), then close the connection without answering
    lose     process the request, then close without answering (the answer
             is lost; the client must retry and get the idempotent answer)
    sleep    sleep SECONDS before handling (a hang, for stall timeouts)
    slow     read the request body at about RATE bytes per second
    digest   report a wrong SHA-256 for the given chunk index in GET
             /v1/uploads/{id} (the receiver's copy "differs" from the file)
    norange  answer a Range request for content with the whole file (200)

It counts every request and every chunk PUT, so a test can assert which
chunks were sent again. Use it in-process:

    rx = FakeReceiver(tmpdir); rx.start()
    rx.add_fault("status", method="PUT", path=r"/chunks/", status=503, count=2)
    ... run mfb push --url rx.url --fingerprint rx.fingerprint ...
    rx.stop()

or standalone: python3 fake_receiver.py --dir D [--port P] [--plaintext]
(prints url, fingerprint and token; for poking at it with curl).

Python standard library only; certificates come from the openssl command.
"""

import base64
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time


def make_self_signed(directory, name="rx"):
    """Creates NAME-key.pem and NAME-cert.pem (EC P-256, CN=localhost, SAN
    localhost and 127.0.0.1) and returns (cert_path, key_path)."""
    key = os.path.join(directory, name + "-key.pem")
    cert = os.path.join(directory, name + "-cert.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


def make_ca_signed(directory, name="leaf", san="DNS:localhost,IP:127.0.0.1"):
    """Creates a CA and a leaf certificate it signed. Returns (ca_cert,
    leaf_cert, leaf_key)."""
    ca_key = os.path.join(directory, name + "-ca-key.pem")
    ca_cert = os.path.join(directory, name + "-ca-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    csr = os.path.join(directory, name + ".csr")
    cert = os.path.join(directory, name + "-cert.pem")
    ext = os.path.join(directory, name + ".ext")
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", ca_key, "-out", ca_cert, "-days", "2", "-subj", "/CN=mfb test CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n" % san)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    return ca_cert, cert, key


def cert_fingerprint(cert_path):
    """The SHA-256 fingerprint as openssl prints it: AA:BB:..."""
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


class Fault:
    def __init__(self, kind, method=None, path=None, count=1, status=503, after_bytes=0,
                 seconds=0.0, rate=0, index=None, retry_after=None):
        self.kind = kind
        self.method = method
        self.path = re.compile(path) if path else None
        self.remaining = count  # None: forever
        self.status = status
        self.after_bytes = after_bytes
        self.seconds = seconds
        self.rate = rate
        self.index = index
        self.retry_after = retry_after
        self.hits = 0

    def matches(self, method, path):
        if self.method and self.method != method:
            return False
        if self.path and not self.path.search(path):
            return False
        return self.remaining is None or self.remaining > 0


class Upload:
    def __init__(self, upload_id, client, body):
        self.id = upload_id
        self.client = client
        self.instance = body["instance"]
        self.name = body["name"]
        self.directory = body.get("directory")
        self.size = body.get("size")
        self.chunk_size = body["chunk_size"]
        self.chunks = {}  # index -> bytes
        self.backup = None  # set once completed


class FakeReceiver:
    def __init__(self, directory, tls=True, cert=None, key=None, token=None, clients=None,
                 max_chunk=64 << 20):
        self.directory = directory
        self.tls = tls
        if tls and cert is None:
            cert, key = make_self_signed(directory)
        self.cert, self.key = cert, key
        self.fingerprint = cert_fingerprint(cert) if tls else None
        self.token = token or secrets.token_hex(32)
        self.clients = dict(clients or {})
        self.clients[self.token] = "db1"
        self.max_chunk = max_chunk
        self.lock = threading.Lock()
        self.faults = []
        self.uploads = {}
        self.backups = {}
        self.requests = []  # (method, path, status or None, headers dict)
        self.chunk_puts = {}  # (upload_id, index) -> number of PUTs that arrived
        self.chunk_stored = {}  # (upload_id, index) -> number of PUTs recorded (201)
        self.active_puts = 0
        self.max_parallel_puts = 0  # most chunk PUTs in progress at once
        self.server = None
        self.thread = None

    # -- control ----------------------------------------------------------

    def start(self, port=0):
        rx = self

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def finish_request(self, request, client_address):
                if rx.tls:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                    ctx.load_cert_chain(rx.cert, rx.key)
                    try:
                        request.settimeout(30)
                        tls_request = ctx.wrap_socket(request, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                    try:
                        super().finish_request(tls_request, client_address)
                    finally:
                        tls_request.close()
                    return
                super().finish_request(request, client_address)

            def handle_error(self, request, client_address):
                pass  # dropped connections are the point of half the tests

        self.server = Server(("127.0.0.1", port), make_handler(self))
        self.port = self.server.server_address[1]
        scheme = "https" if self.tls else "http"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def add_fault(self, kind, **kw):
        f = Fault(kind, **kw)
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, method, path, kinds):
        with self.lock:
            for f in self.faults:
                if f.kind in kinds and f.matches(method, path):
                    if f.remaining is not None:
                        f.remaining -= 1
                    f.hits += 1
                    return f
        return None

    def puts_of(self, upload_id):
        with self.lock:
            return {i: n for (u, i), n in self.chunk_puts.items() if u == upload_id}

    def stored_puts_of(self, upload_id):
        with self.lock:
            return {i: n for (u, i), n in self.chunk_stored.items() if u == upload_id}

    def requests_matching(self, method, path_re):
        r = re.compile(path_re)
        with self.lock:
            return [q for q in self.requests if q[0] == method and r.search(q[1])]

    def add_backup(self, data, instance="prod", name="b.zip", client="db1"):
        """Stores a backup directly (for fetch tests). Returns its id."""
        bid = "b_" + secrets.token_hex(16)
        digest = hashlib.sha256(data).hexdigest()
        with self.lock:
            self.backups[bid] = {
                "backup_id": bid, "instance": instance, "name": name,
                "path": "%s/%s/%s" % (client, instance, name), "size": len(data),
                "sha256": digest, "created": "2026-11-25T19:31:02Z", "metadata": {},
                "client": client, "data": data}
        return bid


def backup_json(b):
    return {k: v for k, v in b.items() if k not in ("data", "client")}


def make_handler(rx):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-mfb-server/0.1"

        def log_message(self, fmt, *args):
            pass

        # -- helpers ---------------------------------------------------------

        def record(self, status):
            hdrs = {k.lower(): v for k, v in self.headers.items()
                    if k.lower() in ("range", "content-digest", "content-length")}
            with rx.lock:
                rx.requests.append((self.command, self.path, status, hdrs))

        def reply(self, status, obj=None, headers=None, body=None):
            if body is None:
                body = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(status)
            if obj is not None:
                self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            # Record before answering: a test may look as soon as mfb exits.
            self.record(status)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def error(self, status, code, message, headers=None):
            self.reply(status, {"error": code, "message": message}, headers)

        def drop(self):
            self.record(None)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def read_body(self, fault=None):
            n = int(self.headers.get("Content-Length") or 0)
            data = bytearray()
            limit = fault.after_bytes if fault and fault.kind == "drop" else None
            while len(data) < n:
                want = min(65536, n - len(data))
                if limit is not None:
                    want = min(want, limit - len(data))
                    if want <= 0:
                        return None
                piece = self.rfile.read(want)
                if not piece:
                    return None
                data += piece
                if fault and fault.kind == "slow" and fault.rate:
                    time.sleep(len(piece) / fault.rate)
            if limit is not None and len(data) >= limit:
                return None
            return bytes(data)

        def client(self):
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return None
            return rx.clients.get(auth[7:])

        # -- dispatch -------------------------------------------------------

        def handle_any(self):
            path = self.path.split("?")[0]
            f = rx.take_fault(self.command, path, ("sleep",))
            if f:
                time.sleep(f.seconds)
            f = rx.take_fault(self.command, path, ("status",))
            if f:
                # Swallow the body so the connection stays usable.
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                return self.error(f.status, "injected", "injected fault %d" % f.status, headers)
            if path == "/v1/health" and self.command == "GET":
                return self.reply(200, {"status": "ok", "version": "0.1.0"})
            client = self.client()
            if client is None:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                return self.error(401, "unauthorized", "missing or unknown token")
            fault = rx.take_fault(self.command, path, ("drop", "slow", "lose", "norange"))
            routes = [
                ("GET", r"^/v1/whoami$", self.whoami),
                ("POST", r"^/v1/uploads$", self.create),
                ("GET", r"^/v1/uploads/([\w-]+)$", self.state),
                ("DELETE", r"^/v1/uploads/([\w-]+)$", self.abandon),
                ("PUT", r"^/v1/uploads/([\w-]+)/chunks/(\d+)$", self.put_chunk),
                ("DELETE", r"^/v1/uploads/([\w-]+)/chunks/(\d+)$", self.delete_chunk),
                ("POST", r"^/v1/uploads/([\w-]+)/complete$", self.complete),
                ("GET", r"^/v1/backups$", self.list_backups),
                ("GET", r"^/v1/backups/([\w-]+)$", self.get_backup),
                ("GET", r"^/v1/backups/([\w-]+)/content$", self.content),
            ]
            for method, pattern, fn in routes:
                m = re.match(pattern, path)
                if m and method == self.command:
                    return fn(client, fault, *m.groups())
            return self.error(404, "not_found", "no such endpoint")

        do_GET = do_PUT = do_POST = do_DELETE = handle_any

        # -- endpoints -------------------------------------------------------

        def whoami(self, client, fault):
            self.reply(200, {"client": client})

        def json_body(self, fault):
            data = self.read_body(fault)
            if data is None:
                return None, True
            try:
                obj = json.loads(data)
            except ValueError:
                self.error(400, "invalid_json", "body is not JSON")
                return None, False
            if not isinstance(obj, dict):
                self.error(400, "invalid_json", "body is not a JSON object")
                return None, False
            return obj, False

        def create(self, client, fault):
            body, dropped = self.json_body(fault)
            if dropped:
                return self.drop()
            if body is None:
                return
            for field in ("instance", "name"):
                v = body.get(field)
                if not isinstance(v, str) or not v or "/" in v or v.startswith("."):
                    return self.error(400, "invalid_name", "%s is not a valid name" % field)
            cs = body.get("chunk_size")
            if not isinstance(cs, int) or cs < (1 << 20) or cs > rx.max_chunk or cs & (cs - 1):
                return self.error(400, "bad_request", "chunk_size must be a power of two")
            uid = "u_" + secrets.token_hex(16)
            up = Upload(uid, client, body)
            with rx.lock:
                rx.uploads[uid] = up
            if fault and fault.kind == "lose":
                return self.drop()
            self.reply(201, {"upload_id": uid, "chunk_size": cs, "size": up.size,
                             "created": "2026-11-25T19:30:00Z"})

        def upload_of(self, client, uid):
            with rx.lock:
                up = rx.uploads.get(uid)
            if up is None or up.client != client:
                self.error(404, "not_found", "no such upload")
                return None
            return up

        def state(self, client, fault, uid):
            up = self.upload_of(client, uid)
            if up is None:
                return
            chunks = []
            with rx.lock:
                wrong = {f.index for f in rx.faults if f.kind == "digest"}
                for i in sorted(up.chunks):
                    d = hashlib.sha256(up.chunks[i]).hexdigest()
                    if i in wrong:
                        d = hashlib.sha256(b"not the same" + up.chunks[i]).hexdigest()
                    chunks.append({"index": i, "size": len(up.chunks[i]), "sha256": d})
                received = sum(len(c) for c in up.chunks.values())
            answer = {"upload_id": uid, "instance": up.instance, "name": up.name,
                      "size": up.size, "chunk_size": up.chunk_size, "chunks": chunks,
                      "received_bytes": received, "complete": up.backup is not None}
            if up.backup is not None:
                answer["backup_id"] = up.backup["backup_id"]
            self.reply(200, answer)

        def abandon(self, client, fault, uid):
            up = self.upload_of(client, uid)
            if up is None:
                return
            with rx.lock:
                del rx.uploads[uid]
            self.reply(204)

        def put_chunk(self, client, fault, uid, index):
            with rx.lock:
                rx.active_puts += 1
                rx.max_parallel_puts = max(rx.max_parallel_puts, rx.active_puts)
            try:
                self.put_chunk_counted(client, fault, uid, int(index))
            finally:
                with rx.lock:
                    rx.active_puts -= 1

        def put_chunk_counted(self, client, fault, uid, index):
            with rx.lock:
                key = (uid, index)
                rx.chunk_puts[key] = rx.chunk_puts.get(key, 0) + 1
            up = self.upload_of(client, uid)
            if up is None:
                return
            n = int(self.headers.get("Content-Length") or 0)
            if n > up.chunk_size:
                return self.error(413, "too_large", "chunk larger than chunk_size")
            data = self.read_body(fault)
            if data is None:
                return self.drop()
            m = re.search(r"sha-256=:([A-Za-z0-9+/=]+):", self.headers.get("Content-Digest", ""))
            if not m:
                return self.error(400, "bad_digest_header", "Content-Digest sha-256 required")
            if base64.b64decode(m.group(1)) != hashlib.sha256(data).digest():
                return self.error(422, "digest_mismatch", "body does not match Content-Digest")
            start = index * up.chunk_size
            if up.size is not None and (start + len(data) > up.size or
                                        (start >= up.size and up.size > 0)):
                return self.error(400, "chunk_out_of_range", "chunk past the declared size")
            if up.size is not None and start + len(data) < up.size and len(data) != up.chunk_size:
                return self.error(400, "bad_request", "only the last chunk may be short")
            answer = {"index": index, "size": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()}
            with rx.lock:
                old = up.chunks.get(index)
                if old is not None and old != data:
                    conflict = True
                else:
                    conflict = False
                    repeat = old is not None
                    up.chunks[index] = data
                    if not repeat:
                        rx.chunk_stored[(uid, index)] = rx.chunk_stored.get((uid, index), 0) + 1
            if conflict:
                return self.error(409, "conflict", "chunk stored with a different digest")
            if fault and fault.kind == "lose":
                return self.drop()
            self.reply(200 if repeat else 201, answer)

        def delete_chunk(self, client, fault, uid, index):
            up = self.upload_of(client, uid)
            if up is None:
                return
            with rx.lock:
                had = up.chunks.pop(int(index), None)
                # The "digest" fault describes a bad copy; once deleted it is gone.
                rx.faults = [f for f in rx.faults
                             if not (f.kind == "digest" and f.index == int(index))]
            if had is None:
                return self.error(404, "not_found", "no such chunk")
            self.reply(204)

        def complete(self, client, fault, uid):
            body, dropped = self.json_body(fault)
            if dropped:
                return self.drop()
            if body is None:
                return
            up = self.upload_of(client, uid)
            if up is None:
                return
            size, sha = body.get("size"), body.get("sha256")
            if up.backup is not None:
                if (size, sha) != (up.backup["size"], up.backup["sha256"]):
                    return self.error(409, "conflict", "completed with another size or sha256")
                return self.reply(201, backup_json(up.backup))
            if not isinstance(size, int) or not isinstance(sha, str):
                return self.error(400, "bad_request", "size and sha256 required")
            if up.size is not None and size != up.size:
                return self.error(409, "conflict", "size differs from the declared size")
            count = (size + up.chunk_size - 1) // up.chunk_size
            with rx.lock:
                missing = [i for i in range(count) if i not in up.chunks]
                if missing:
                    return self.error(409, "conflict", "chunks missing: %s" % missing[:10])
                data = b"".join(up.chunks[i] for i in range(count))
            if len(data) != size:
                return self.error(409, "conflict", "chunks cover %d bytes" % len(data))
            if hashlib.sha256(data).hexdigest() != sha:
                return self.error(422, "checksum_mismatch", "whole-file SHA-256 differs")
            bid = rx.add_backup(data, up.instance, up.name, client)
            with rx.lock:
                up.backup = rx.backups[bid]
                up.chunks = {}
            if fault and fault.kind == "lose":
                return self.drop()
            self.reply(201, backup_json(up.backup))

        def backup_of(self, client, bid):
            with rx.lock:
                b = rx.backups.get(bid)
            if b is None or b["client"] != client:
                self.error(404, "not_found", "no such backup")
                return None
            return b

        def list_backups(self, client, fault):
            with rx.lock:
                items = [backup_json(b) for b in rx.backups.values() if b["client"] == client]
            self.reply(200, {"backups": items})

        def get_backup(self, client, fault, bid):
            b = self.backup_of(client, bid)
            if b is not None:
                self.reply(200, backup_json(b))

        def content(self, client, fault, bid):
            b = self.backup_of(client, bid)
            if b is None:
                return
            data, size = b["data"], b["size"]
            digest = base64.b64encode(bytes.fromhex(b["sha256"])).decode()
            headers = {"Repr-Digest": "sha-256=:%s:" % digest, "Accept-Ranges": "bytes"}
            status, start, end = 200, 0, size - 1
            rng = self.headers.get("Range")
            if rng and not (fault and fault.kind == "norange"):
                m = re.match(r"bytes=(\d+)-(\d*)$", rng)
                if not m or int(m.group(1)) >= size:
                    return self.error(416, "bad_request", "range not satisfiable",
                                      {"Content-Range": "bytes */%d" % size})
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                status = 206
                headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
            body = data[start:end + 1]
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.record(status if not (fault and fault.kind == "drop") else None)
            self.end_headers()
            if fault and fault.kind == "drop":
                self.wfile.write(body[:fault.after_bytes])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            view = memoryview(body)
            for off in range(0, len(body), 1 << 20):
                self.wfile.write(view[off:off + (1 << 20)])
                if fault and fault.kind == "slow" and fault.rate:
                    time.sleep(min(1 << 20, len(body) - off) / fault.rate)

    return Handler


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--plaintext", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rx = FakeReceiver(a.dir, tls=not a.plaintext).start(a.port)
    print("url", rx.url)
    print("fingerprint", rx.fingerprint)
    print("token", rx.token, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        rx.stop()


if __name__ == "__main__":
    sys.exit(main())
