"""server_testlib.py - runs a real mfb-server for integration tests.

A Receiver owns a temporary directory holding its catalog, certificate and
storage, starts `mfb-server serve` on a free loopback port (TLS unless asked
otherwise), talks to it with http.client over a context that trusts only its
self-signed certificate, and stops it (SIGTERM, or SIGKILL for crash tests).
Only the Python standard library is used.

Receiver(..., s3=rgw) stores into a bucket of its own on a Ceph RADOS
Gateway (tests/lib/ceph.py) instead of a directory; published(path) and
published_paths() read what was stored, whichever the driver, so a test can
run the same scenario against both (storage_receiver(kind)).
"""
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

MIB = 1 << 20


def server_binary():
    return os.environ.get("MFB_SERVER") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "mfb-server")


def test_tmp():
    base = os.environ.get("MFB_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return base


def content_digest(data):
    return "sha-256=:%s:" % base64.b64encode(hashlib.sha256(data).digest()).decode()


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def pattern(size, seed=1):
    """Deterministic, non-repeating test data."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d:%d" % (seed, counter)).digest() * 64
        counter += 1
    return bytes(out[:size])


class Receiver:
    def __init__(self, name="rx", storage=None, tmp=None, s3=None, bucket=None, staging=None,
                 s3_endpoint=None):
        self.dir = tmp or tempfile.mkdtemp(prefix="server-%s-" % name, dir=test_tmp())
        self.db = os.path.join(self.dir, "db", "mfb-server.db")
        self.storage = storage or os.path.join(self.dir, "store")
        self.log_path = os.path.join(self.dir, "serve.log")
        self.proc = None
        self.port = None
        self.plaintext = False
        self.cert = None
        self.fingerprint = None
        self.s3 = s3
        self.staging = staging  # S3: where uploads in progress arrive (default: in dir)
        self.s3_endpoint = s3_endpoint  # S3 through something else (a proxy) than s3.endpoint
        # A bucket name must end with a letter or a digit: a directory name
        # ending in "_" (mkdtemp's random part) would make one S3 refuses.
        self.bucket = bucket or ("mfb-" + os.path.basename(self.dir).lower().replace("_", "-")
                                 .rstrip("-"))
        self.prefix = "backups/"

    # -- commands -------------------------------------------------------
    def run(self, *args, check=True, input=None):
        env = dict(os.environ, MFB_DB=self.db)
        p = subprocess.run([server_binary()] + list(args), env=env, capture_output=True,
                           text=True, input=input, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("mfb-server %s failed (%d): %s" % (" ".join(args),
                                                                    p.returncode, p.stderr))
        return p

    def init(self, *extra):
        if self.s3 is not None:
            os.makedirs(os.path.dirname(self.db), exist_ok=True)
            key, secret = self.s3.write_credentials(os.path.dirname(self.db))
            if not self.s3.exists(self.bucket, ""):
                self.s3.request("PUT", "/" + self.bucket)
            self.storage = self.staging or os.path.join(self.dir, "staging")
            extra = ("--s3-endpoint", self.s3_endpoint or self.s3.endpoint, "--s3-key-file", key,
                     "--s3-secret-file", secret, "--s3-path-style", "--staging", self.storage) + extra
            p = self.run("init", "--storage", "s3://%s/%s" % (self.bucket, self.prefix), "--json",
                         *extra)
        else:
            p = self.run("init", "--storage", self.storage, "--json", *extra)
        info = json.loads(p.stdout)
        self.cert = info["cert"]
        self.fingerprint = info["fingerprint"]
        return info

    def add_client(self, name, *extra):
        p = self.run("client", "add", name, *extra)
        token = p.stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", token), p.stdout
        return token

    # -- what was stored ---------------------------------------------------
    @property
    def kind(self):
        return "s3" if self.s3 is not None else "file"

    def published(self, path):
        """The bytes stored at a storage-relative path, or None."""
        if self.s3 is not None:
            return self.s3.get(self.bucket, self.prefix + path)
        try:
            with open(os.path.join(self.storage, path), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def published_paths(self):
        """Every stored storage-relative path but uploads in progress."""
        if self.s3 is not None:
            return sorted(k[len(self.prefix):] for k in self.s3.list(self.bucket, self.prefix)
                          if not k[len(self.prefix):].startswith(".partial/"))
        out = []
        for d, dirs, files in os.walk(self.storage):
            dirs[:] = [x for x in dirs if x != ".partial"]
            out += [os.path.relpath(os.path.join(d, f), self.storage) for f in files]
        return sorted(out)

    def chunk_size(self, upload_id, token):
        status, j = self.json("GET", "/v1/uploads/" + upload_id, token)
        assert status == 200, (status, j)
        return j["chunk_size"]

    # -- serve ----------------------------------------------------------
    def start(self, *extra, plaintext=False, env=None):
        """Starts `serve`; env adds variables (test hooks) to its environment."""
        self.plaintext = plaintext
        args = [server_binary(), "serve", "--listen", "127.0.0.1:0"] + list(extra)
        if plaintext:
            args.append("--plaintext")
        env = dict(os.environ, MFB_DB=self.db, **(env or {}))
        self.log = open(self.log_path, "a")
        self.log_offset = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.log_path) as f:
                f.seek(self.log_offset)
                m = re.search(r" serving .*port=(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise AssertionError("serve exited: " + self.log_text())
            time.sleep(0.05)
        raise AssertionError("serve did not start: " + self.log_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None
        self.check_log()

    def check_log(self):
        """Fails on sanitizer reports in the receiver's log."""
        text = self.log_text() if os.path.exists(self.log_path) else ""
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "WARNING: ThreadSanitizer"):
            if marker in text:
                i = text.index(marker)
                raise AssertionError("sanitizer report in serve log:\n" + text[i:i + 3000])

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        self.proc = None

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- HTTP -----------------------------------------------------------
    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def connect(self, timeout=30):
        if self.plaintext:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.ssl_context())

    def raw_socket(self, timeout=30):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.plaintext:
            return s
        return self.ssl_context().wrap_socket(s, server_hostname="127.0.0.1")

    def request(self, method, path, token=None, body=None, headers=None, conn=None):
        """Returns (status, headers dict, body bytes); body may be bytes or a dict."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        own = conn is None
        c = conn or self.connect()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def json(self, method, path, token=None, body=None, headers=None, conn=None):
        status, hdrs, data = self.request(method, path, token, body, headers, conn)
        return status, (json.loads(data) if data else None)

    # -- protocol helpers -------------------------------------------------
    def open_upload(self, token, instance="prod", name="db.zip", size=None,
                    chunk_size=MIB, **extra):
        body = dict(instance=instance, name=name, chunk_size=chunk_size, **extra)
        if size is not None:
            body["size"] = size
        status, j = self.json("POST", "/v1/uploads", token, body)
        assert status == 201, (status, j)
        return j["upload_id"]

    def put_chunk(self, token, upload_id, index, data, digest=None, conn=None, headers=None):
        h = {"Content-Digest": digest or content_digest(data)}
        h.update(headers or {})
        return self.json("PUT", "/v1/uploads/%s/chunks/%d" % (upload_id, index), token, data,
                         h, conn)

    def complete(self, token, upload_id, size, sha):
        return self.json("POST", "/v1/uploads/%s/complete" % upload_id, token,
                         {"size": size, "sha256": sha})

    def upload(self, token, data, chunk_size=MIB, order=None, **kw):
        """Uploads data in chunks (in the given index order) and completes it;
        the chunk size is the one the receiver answered (S3 raises it)."""
        uid = self.open_upload(token, size=len(data), chunk_size=chunk_size, **kw)
        chunk_size = self.chunk_size(uid, token)
        n = (len(data) + chunk_size - 1) // chunk_size
        for i in (order or range(n)):
            status, j = self.put_chunk(token, uid, i, data[i * chunk_size:(i + 1) * chunk_size])
            assert status == 201, (status, j)
        status, j = self.complete(token, uid, len(data), sha256_hex(data))
        assert status == 201, (status, j)
        return j

    def healthy(self):
        status, j = self.json("GET", "/v1/health")
        return status == 200 and j["status"] == "ok"


def storage_receiver(kind, name="rx", **kw):
    """A Receiver on the file driver, or on S3 (a bucket of its own on the
    process's shared RGW). Raises ceph.Unavailable-style RuntimeError when
    Ceph cannot start."""
    if kind == "file":
        return Receiver(name, **kw)
    from ceph import RGW
    return Receiver(name, s3=RGW.shared(), **kw)


def storage_kinds():
    """The drivers to run storage tests against: both, unless
    MFB_TEST_STORAGE names one. S3 is skipped (with the reason printed) only
    when Ceph cannot run here and S3 is not required: with CI=true
    (ceph.s3_required) a Ceph that cannot run raises, failing the test."""
    wanted = os.environ.get("MFB_TEST_STORAGE", "file,s3").split(",")
    kinds = []
    for k in wanted:
        if k == "s3" and not s3_available():
            continue
        kinds.append(k)
    return kinds


def s3_available():
    """Starts the process's shared RGW; False (with SKIP and the reason
    printed) when Ceph cannot run here, unless CI=true: then it raises."""
    from ceph import RGW, s3_required
    try:
        RGW.shared()
        return True
    except RuntimeError as e:
        if s3_required():
            raise RuntimeError("CI=true and the S3 tests cannot run: %s" % e)
        print("SKIP s3: %s" % e, flush=True)
        return False


def run_tests(tests):
    """Runs test functions in order; prints a summary line; returns the exit code."""
    passed = failed = 0
    for t in tests:
        start = time.time()
        try:
            t()
            passed += 1
            print("ok   %s (%.1fs)" % (t.__name__, time.time() - start), flush=True)
        except Exception:
            failed += 1
            import traceback
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
