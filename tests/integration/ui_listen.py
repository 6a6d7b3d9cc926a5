"""ui_listen.py - the web UI's listener and password commands
(docs/ui.md), with the real mfb and no database server: plain HTTP only on
loopback (another address without a TLS pair refused, saying why), `mfb ui
init` and a daemon serving TLS with the printed fingerprint and Secure
cookies, the event stream and query strings through the gate over TLS, --ui-cert without --ui-key refused, `mfb ui passwd` from standard
input or a 0600 file only, an explicit --ui-listen that is taken refused,
and --no-ui.
"""
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mfbtest import MFB, UTF8_ENV, TempDirTestCase, main, run  # noqa: E402


class UIListen(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.env = dict(UTF8_ENV, MFB_DB=self.path("mfb.db"))
        self.mfb("init")

    def mfb(self, *args, expect=0, input=None):
        return run([MFB, *args], expect=expect, env=self.env, input=input, timeout=60)

    def daemon(self, *args):
        """Starts mfb daemon; returns (proc, log path)."""
        log = self.path(f"daemon-{len(os.listdir(self.tmp))}.log")
        f = open(log, "w")
        p = subprocess.Popen([MFB, "daemon", "--workers", "1", "--no-alerts", *args],
                             stderr=f, env=self.env)
        f.close()

        def stop():
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=60)
        self.addCleanup(stop)
        return p, log

    def wait_log(self, proc, log, pattern):
        deadline = time.monotonic() + 30
        while True:
            with open(log) as f:
                text = f.read()
            m = re.search(pattern, text)
            if m:
                return m
            self.assertIsNone(proc.poll(), text)
            self.assertLess(time.monotonic(), deadline, text)
            time.sleep(0.05)

    def test_off_loopback_needs_tls(self):
        r = self.mfb("daemon", "--ui-listen", "0.0.0.0:0", expect=2)
        self.assertIn("the web UI on 0.0.0.0:0 needs TLS, and there is no key and certificate",
                      r.stderr)
        self.assertIn("mfb ui init", r.stderr)
        r = self.mfb("daemon", "--ui-listen", "0.0.0.0:0", "--ui-cert", self.path("c.pem"),
                     expect=2)
        self.assertIn("--ui-cert and --ui-key go together", r.stderr)

    def test_tls_with_the_pair_of_ui_init(self):
        r = self.mfb("ui", "init")
        fp = re.search(r"SHA-256 fingerprint: ([0-9A-F:]{95})", r.stdout).group(1)
        self.assertEqual(os.stat(self.path("ui-key.pem")).st_mode & 0o777, 0o600)
        self.mfb("ui", "init", expect=None)  # never overwrites
        self.assertEqual(self.mfb("ui", "passwd", input="a good password\n").returncode, 0)
        p, log = self.daemon("--ui-listen", "0.0.0.0:0")
        port = int(self.wait_log(p, log, r"daemon-ui url=https://0\.0\.0\.0:(\d+)/ tls=yes")
                   .group(1))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        conn.request("POST", "/ui/login", body=json.dumps({"password": "a good password"}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 200)
        der = conn.sock.getpeercert(binary_form=True)
        self.assertEqual(":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()), fp)
        cookie = resp.getheader("Set-Cookie")
        self.assertIn("; Secure", cookie)
        self.assertIn("HttpOnly", cookie)
        conn.close()
        # Behind the gate, over TLS: the event stream opens and stays open
        # while other requests are answered on their own connections (a
        # thread per connection), and a query string reaches the API.
        session = cookie.split(";")[0]
        stream = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        stream.request("GET", "/v1/events", headers={"Cookie": session})
        sresp = stream.getresponse()
        self.assertEqual(sresp.status, 200)
        self.assertTrue(sresp.getheader("Content-Type").startswith("text/event-stream"))
        self.assertEqual(sresp.getheader("Cache-Control"), "no-store")
        self.assertIn("default-src 'self'", sresp.getheader("Content-Security-Policy"))
        self.assertEqual(sresp.readline(), b"event: snapshot\n")
        # (a byte that is not UTF-8 in a cron expression got a 500 without
        # a body: the parser's message quoting it could not be JSON)
        for path, want in (("/v1/ui/jobs?per=0", 400), ("/v1/ui/jobs?per=5&kind=drill", 200),
                           ("/v1/ui/cron?expr=*+%D4+*+*+*", 400),
                           ("/v1/ui/cron?expr=30+3+*+*+*&tz=Europe%2FBerl%DEin", 400),
                           ("/v1/health", 200)):
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
            c.request("GET", path, headers={"Cookie": session})
            r2 = c.getresponse()
            body = json.loads(r2.read())
            self.assertEqual(r2.status, want, (path, body))
            c.close()
            if path == "/v1/health":
                self.assertEqual(body["event_clients"], 1)
            elif want == 200:
                self.assertEqual(body["per"], 5)
        stream.close()

    def test_metrics_on_the_ui_listener(self):
        """GET /metrics needs no session: open on loopback (as the
        receiver's metrics listener is), and off loopback only with the
        bearer token of --metrics-token-file."""
        p, log = self.daemon("--ui-listen", "127.0.0.1:0")
        port = int(self.wait_log(p, log, r"daemon-ui url=http://127\.0\.0\.1:(\d+)/").group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        body = resp.read().decode()
        self.assertEqual(resp.status, 200, body)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        self.assertIn("mfb_build_info", body)
        conn.close()
        p.terminate()
        p.wait(timeout=60)

        self.mfb("ui", "init")
        token = self.path("metrics.token")
        with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("s3cret-metrics-token\n")
        p, log = self.daemon("--ui-listen", "0.0.0.0:0", "--metrics-token-file", token)
        port = int(self.wait_log(p, log, r"daemon-ui url=https://0\.0\.0\.0:(\d+)/").group(1))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        for auth, want in ((None, 401), ("Bearer wrong", 401), ("Bearer s3cret-metrics-token", 200)):
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
            c.request("GET", "/metrics", headers={"Authorization": auth} if auth else {})
            r = c.getresponse()
            text = r.read().decode()
            self.assertEqual(r.status, want, text)
            if want == 401:
                self.assertIn("--metrics-token-file", text)
            c.close()
        with open(log) as f:
            self.assertNotIn("s3cret-metrics-token", f.read())

    def test_passwd_never_from_argv_nor_a_readable_file(self):
        r = self.mfb("ui", "passwd", "hunter2hunter2", expect=2)
        self.assertNotIn("password set", r.stdout)
        loose = self.path("pw")
        with open(loose, "w") as f:
            f.write("a good password\n")
        os.chmod(loose, 0o644)
        r = self.mfb("ui", "passwd", "--password-file", loose, expect=None)
        self.assertNotEqual(r.returncode, 0)
        os.chmod(loose, 0o600)
        self.mfb("ui", "passwd", "--password-file", loose)
        r = self.mfb("ui", "passwd", input="short\n", expect=2)
        self.assertIn("the password must have 8 to 1024 characters", r.stderr)
        # only a salted hash is stored
        r = run(["sqlite3", self.path("mfb.db"), "SELECT value FROM settings WHERE "
                 "key = 'ui_password'"], expect=0)
        self.assertTrue(r.stdout.startswith("scrypt$"))
        self.assertNotIn("good password", r.stdout)

    def test_a_taken_address_is_refused_and_no_ui(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        port = s.getsockname()[1]
        r = self.mfb("daemon", "--ui-listen", f"127.0.0.1:{port}", expect=None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"cannot serve the web UI on 127.0.0.1:{port}", r.stderr)
        p, log = self.daemon("--no-ui", "--ui-listen", f"127.0.0.1:{port}")
        self.wait_log(p, log, r"daemon-start")
        with open(log) as f:
            self.assertNotIn("daemon-ui", f.read())


if __name__ == "__main__":
    main()
