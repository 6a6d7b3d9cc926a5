"""ceph.py - a throwaway Ceph RADOS Gateway (S3) for tests and benchmarks.

    from ceph import RGW, ceph_unavailable
    rgw = RGW.shared()            # one gateway per test process, started on first use
    rgw.create_bucket("b1")
    rgw.put("b1", "k", b"data"); rgw.get("b1", "k", range_=(0, 3)); rgw.list("b1", "pre/")
    rgw.stop_gateway(); rgw.start_gateway()   # S3 down and back (the cluster stays)

It runs scripts/ceph-test-up (one mon, one OSD on memstore, one radosgw on
127.0.0.1, no systemd) in a temporary directory on a free block of ports, and
scripts/ceph-test-down at exit. Requests are signed here with AWS SigV4 using
only the standard library, so tests can check what the receiver stored by
reading the bucket directly. The credentials are the test cluster's own
(TESTKEY/TESTSECRET); write_credentials() puts them in 0600 files for
`mfb-server init --s3-key-file/--s3-secret-file`.

ceph_unavailable() says why Ceph cannot run here (binaries missing, or the
cluster would not start), or None: tests skip with that reason only, and
only outside CI. With CI=true (set by .ci/run, and by CI services) Ceph
must run: s3_required() is then true and the S3 tests fail instead of
skipping, so a CI machine that lost Ceph cannot pass silently.
A cluster is stopped at exit (atexit; SIGTERM and SIGHUP become a normal
exit). One left behind by a test process killed outright (SIGKILL, a CTest
timeout) is swept by the next one (its directory records the owner's pid),
and by `python3 tests/lib/ceph.py --sweep DIR`, which .ci/run runs at the
end so that CI never leaves a Ceph running.
"""
import atexit
import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

KEY, SECRET = "TESTKEY", "TESTSECRET"
REGION = "us-east-1"
SOURCE = os.environ.get("MFB_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "ceph", "radosgw-admin")


def _test_tmp():
    base = os.environ.get("MFB_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return base


def _ports_free(base, n=10):
    for p in range(base, base + n):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _free_port_block():
    import random
    for _ in range(200):
        base = random.randrange(20000, 60000, 10)
        if _ports_free(base):
            return base
    raise RuntimeError("no free block of 10 ports")


def _signal_to_exit(signum, frame):
    raise SystemExit(128 + signum)


def _sweep(parent):
    """Stops clusters whose owning process is gone; returns how many."""
    swept = 0
    for name in os.listdir(parent):
        d = os.path.join(parent, name)
        if not name.startswith("ceph-") or not os.path.isdir(d):
            continue
        try:
            with open(os.path.join(d, "owner.pid")) as f:
                owner = int(f.read())
            os.kill(owner, 0)
            continue
        except (OSError, ValueError):
            pass
        subprocess.run([os.path.join(SOURCE, "scripts", "ceph-test-down"), os.path.join(d, "c")],
                       capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)
        swept += 1
    return swept


_unavailable = None
_shared = None


def s3_required():
    """Whether the S3 tests must run (CI=true): then a Ceph that is missing or
    does not start is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def ceph_unavailable():
    """The reason Ceph cannot run here, or None."""
    global _unavailable
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        return "Ceph is not installed (missing %s; scripts/install-deps installs it)" % \
            ", ".join(missing)
    return _unavailable


class RGW:
    def __init__(self, store="memstore"):
        parent = _test_tmp()
        _sweep(parent)
        self.dir = tempfile.mkdtemp(prefix="ceph-", dir=parent)
        with open(os.path.join(self.dir, "owner.pid"), "w") as f:
            f.write(str(os.getpid()))
        self.cluster = os.path.join(self.dir, "c")
        self.store = store
        start = time.time()
        # A daemon of the throwaway cluster may die at start on a loaded
        # machine (a port of the block taken between the look and the bind,
        # the gateway's first contact with a busy OSD): a second and a third
        # try, on another port block, before the tests are told Ceph is not
        # there. Each failure's logs are kept for the message.
        failures = []
        for _ in range(3):
            self.port = _free_port_block()
            self.endpoint = "http://127.0.0.1:%d" % self.port
            self.host = "127.0.0.1:%d" % self.port
            p = subprocess.run([os.path.join(SOURCE, "scripts", "ceph-test-up"), self.cluster,
                                store, str(self.port)], capture_output=True, text=True,
                               timeout=300)
            if p.returncode == 0:
                break
            failures.append((p.stderr or p.stdout)[-1000:] + self._log_tails())
            subprocess.run([os.path.join(SOURCE, "scripts", "ceph-test-down"), self.cluster],
                           capture_output=True, timeout=120)
        else:
            self.cleanup()
            raise RuntimeError("Ceph did not start (3 tries): " + "\n---\n".join(failures))
        self.start_seconds = time.time() - start
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                if signal.getsignal(sig) == signal.SIG_DFL:
                    signal.signal(sig, _signal_to_exit)
            except ValueError:  # not the main thread: atexit and the sweep remain
                pass

    @classmethod
    def shared(cls):
        """One gateway per test process; raises RuntimeError if Ceph cannot start."""
        global _shared, _unavailable
        if _shared is None:
            reason = ceph_unavailable()
            if reason:
                raise RuntimeError(reason)
            try:
                _shared = cls()
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                _unavailable = str(e)
                raise RuntimeError(_unavailable)
        return _shared

    def _log_tails(self):
        """The last lines of each daemon's log, for a start that failed."""
        out = ""
        for name in ("mon.out", "osd.out", "rgw.out"):
            path = os.path.join(self.cluster, "log", name)
            try:
                with open(path, errors="replace") as f:
                    out += "\n%s: %s" % (name, f.read()[-600:])
            except OSError:
                pass
        return out

    def cleanup(self):
        if os.path.isdir(self.dir):
            subprocess.run([os.path.join(SOURCE, "scripts", "ceph-test-down"), self.cluster],
                           capture_output=True, timeout=120)
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- the gateway alone: S3 down and back ------------------------------
    def stop_gateway(self):
        pid_file = os.path.join(self.cluster, "rgw.pid")
        with open(pid_file) as f:
            pid = int(f.read())
        os.kill(pid, 15)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        os.unlink(pid_file)

    def start_gateway(self):
        env = dict(os.environ, CEPH_CONF=os.path.join(self.cluster, "ceph.conf"))
        log = open(os.path.join(self.cluster, "log", "rgw.out"), "a")
        p = subprocess.Popen(["radosgw", "-n", "client.rgw.a", "-f"], env=env, stdout=log,
                             stderr=log, start_new_session=True)
        with open(os.path.join(self.cluster, "rgw.pid"), "w") as f:
            f.write(str(p.pid))
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("radosgw did not come back")

    # -- credentials ---------------------------------------------------------
    def write_credentials(self, directory):
        paths = []
        for name, value in (("s3.key", KEY), ("s3.secret", SECRET)):
            path = os.path.join(directory, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(value + "\n")
            paths.append(path)
        return paths

    # -- S3 requests, signed with SigV4 -----------------------------------
    def request(self, method, path, query=None, body=b"", headers=None, stream=False):
        """path is "/bucket/key" unencoded; returns (status, headers, body),
        or with stream=True and a 2xx answer, body is (SHA-256 hex, size) of
        what was read in 1 MiB pieces."""
        enc_path = urllib.parse.quote(path, safe="/-_.~")
        q = sorted((query or {}).items())
        canon_q = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"),
                                      urllib.parse.quote(str(v), safe="-_.~")) for k, v in q)
        now = datetime.datetime.utcnow()
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        h = {"host": self.host, "x-amz-date": amz_date, "x-amz-content-sha256": payload}
        for k, v in (headers or {}).items():
            h[k.lower()] = v
        signed = sorted(h)
        canon = "\n".join([method, enc_path, canon_q,
                           "".join("%s:%s\n" % (k, h[k].strip()) for k in signed),
                           ";".join(signed), payload])
        scope = "%s/%s/s3/aws4_request" % (day, REGION)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canon.encode()).hexdigest()])
        k = ("AWS4" + SECRET).encode()
        for part in (day, REGION, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            KEY, scope, ";".join(signed), sig)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            c.request(method, enc_path + ("?" + canon_q if canon_q else ""), body=body, headers=h)
            r = c.getresponse()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if not stream or r.status // 100 != 2:
                return r.status, hdrs, r.read()
            h, size = hashlib.sha256(), 0
            while True:
                piece = r.read(1 << 20)
                if not piece:
                    return r.status, hdrs, (h.hexdigest(), size)
                h.update(piece)
                size += len(piece)
        finally:
            c.close()

    def create_bucket(self, bucket):
        status, _, body = self.request("PUT", "/" + bucket)
        assert status == 200, (status, body)

    def put(self, bucket, key, data):
        status, _, body = self.request("PUT", "/%s/%s" % (bucket, key), body=data)
        assert status == 200, (status, body)

    def get(self, bucket, key, range_=None):
        headers = {"range": "bytes=%d-%d" % range_} if range_ else None
        status, _, body = self.request("GET", "/%s/%s" % (bucket, key), headers=headers)
        if status == 404:
            return None
        assert status in (200, 206), (status, body)
        return body

    def sha256_of(self, bucket, key):
        """(SHA-256 hex, size) of an object, read in 1 MiB pieces: a large
        object is never held in memory."""
        status, headers, body = self.request("GET", "/%s/%s" % (bucket, key), stream=True)
        assert status == 200, (status, body)
        return body

    def exists(self, bucket, key):
        return self.request("HEAD", "/%s/%s" % (bucket, key))[0] == 200

    def list(self, bucket, prefix=""):
        """Every key under prefix (ListObjectsV2, all pages)."""
        import re
        keys, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            status, _, body = self.request("GET", "/" + bucket, query=q)
            assert status == 200, (status, body)
            text = body.decode()
            keys += [_xml_unescape(k) for k in re.findall(r"<Key>(.*?)</Key>", text)]
            m = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", text)
            if "<IsTruncated>true</IsTruncated>" not in text or not m:
                return keys
            token = _xml_unescape(m.group(1))

    def multipart_uploads(self, bucket):
        import re
        status, _, body = self.request("GET", "/" + bucket, query={"uploads": ""})
        assert status == 200, (status, body)
        return re.findall(r"<Key>(.*?)</Key>", body.decode())


def _xml_unescape(s):
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--sweep":
        if os.path.isdir(sys.argv[2]):
            n = _sweep(sys.argv[2])
            print("ceph.py: stopped %d cluster(s) left by test processes" % n)
        sys.exit(0)
    rgw = RGW(sys.argv[1] if len(sys.argv) > 1 else "memstore")
    print("S3 up at %s in %.1fs; Ctrl-C stops it" % (rgw.endpoint, rgw.start_seconds))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
