"""metrics_receiver.py - `mfb-server serve --metrics-listen`
(docs/monitoring.md) with the real receiver: the page passes promtool and
the test's own strict parser; a stored backup moves its client's and
instance's figures and the request counters, a passed drill's verification
the instance's last verified time; only GET /metrics answers;
off loopback a token is required (refused at start without one, 401
without it, and the page over TLS with it).
"""
import os
import ssl
import subprocess
import sys
import time
import http.client
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from metricstestlib import (check_with_promtool, http_get_tcp, parse,  # noqa: E402
                            receiver_metrics_port, write_secret)
from mfbtest import main  # noqa: E402
from server_testlib import Receiver, pattern, server_binary  # noqa: E402


class ReceiverMetrics(unittest.TestCase):
    def setUp(self):
        self.rx = Receiver("metrics")
        self.addCleanup(self.rx.cleanup)
        self.rx.init()
        self.token = self.rx.add_client("db1")

    def page(self, port, headers=None):
        status, hdrs, body = http_get_tcp("127.0.0.1", port, "/metrics", headers)
        self.assertEqual(status, 200, body)
        self.assertEqual(hdrs["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        check_with_promtool(self, body)
        return parse(body)

    def test_figures_follow_a_stored_backup(self):
        self.rx.start("--metrics-listen", "127.0.0.1:0")
        port = receiver_metrics_port(self.rx)
        page = self.page(port)
        self.assertGreater(page.value("mfb_receiver_free_bytes"), 0)
        self.assertEqual(page.value("mfb_receiver_uploads_in_progress"), 0)
        self.assertEqual(page.value("mfb_receiver_stored_bytes", client="db1"), 0)
        self.assertEqual(page.series("mfb_receiver_last_backup_timestamp_seconds"), [])

        data = pattern(3 * 1024 * 1024 + 17)
        before = int(time.time())
        self.rx.upload(self.token, data, instance="prod")
        page = self.page(port)
        last = page.value("mfb_receiver_last_backup_timestamp_seconds", client="db1",
                          instance="prod")
        self.assertIsNotNone(last)
        self.assertGreaterEqual(last, before - 1)
        self.assertLessEqual(last, time.time() + 1)
        self.assertEqual(page.value("mfb_receiver_backups", client="db1", instance="prod"), 1)
        self.assertEqual(page.value("mfb_receiver_stored_bytes", client="db1"), len(data))
        self.assertGreaterEqual(page.value("mfb_receiver_received_bytes_total"), len(data))
        self.assertEqual(page.types["mfb_receiver_requests_total"], "counter")
        # open, 4 chunks, complete: all 201
        self.assertGreaterEqual(page.value("mfb_receiver_requests_total", code="201"), 6)

        self.rx.upload(self.token, data[:1000], instance="prod", name="two.zip")
        page = self.page(port)
        self.assertEqual(page.value("mfb_receiver_backups", client="db1", instance="prod"), 2)
        self.assertGreaterEqual(page.value("mfb_receiver_last_backup_timestamp_seconds",
                                           client="db1", instance="prod"), last)

        # a drill's verdict (POST .../verifications, docs/drill.md): only a
        # passed one proves the instance's backups restorable
        self.assertEqual(page.series("mfb_receiver_verified_last_timestamp_seconds"), [])
        status, j = self.rx.json("GET", "/v1/backups", self.token)
        self.assertEqual(status, 200, j)
        bid = j["backups"][0]["backup_id"]
        path = f"/v1/backups/{bid}/verifications"
        status, j = self.rx.json("POST", path, self.token, {"result": "failed", "tables": 3})
        self.assertEqual(status, 201, j)
        page = self.page(port)
        self.assertEqual(page.series("mfb_receiver_verified_last_timestamp_seconds"), [])
        before = int(time.time())
        status, j = self.rx.json("POST", path, self.token, {"result": "passed", "tables": 3})
        self.assertEqual(status, 201, j)
        page = self.page(port)
        verified = page.value("mfb_receiver_verified_last_timestamp_seconds", client="db1",
                              instance="prod")
        self.assertIsNotNone(verified)
        self.assertGreaterEqual(verified, before - 1)
        self.assertLessEqual(verified, time.time() + 1)
        self.assertEqual(len(page.series("mfb_receiver_verified_last_timestamp_seconds")), 1)
        self.assertEqual(page.types["mfb_receiver_verified_last_timestamp_seconds"], "gauge")
        # a later failed drill does not take the proof back
        status, j = self.rx.json("POST", path, self.token, {"result": "failed", "tables": 3})
        self.assertEqual(status, 201, j)
        self.assertEqual(self.page(port).value("mfb_receiver_verified_last_timestamp_seconds",
                                               client="db1", instance="prod"), verified)

        # every family docs/monitoring.md lists for the receiver
        for family, kind in (("mfb_receiver_last_backup_timestamp_seconds", "gauge"),
                             ("mfb_receiver_backups", "gauge"),
                             ("mfb_receiver_stored_bytes", "gauge"),
                             ("mfb_receiver_free_bytes", "gauge"),
                             ("mfb_receiver_uploads_in_progress", "gauge"),
                             ("mfb_receiver_received_bytes_total", "counter"),
                             ("mfb_receiver_requests_total", "counter"),
                             ("mfb_receiver_verified_last_timestamp_seconds", "gauge"),
                             ("mfb_build_info", "gauge")):
            self.assertEqual(page.types.get(family), kind, family)

        # a refused request is counted by its code
        status, _ = self.rx.json("GET", "/v1/backups", token="0" * 64)
        self.assertEqual(status, 401)
        page = self.page(port)
        self.assertGreaterEqual(page.value("mfb_receiver_requests_total", code="401"), 1)

        # only GET /metrics
        status, _, _ = http_get_tcp("127.0.0.1", port, "/other")
        self.assertEqual(status, 404)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/metrics", body=b"")
        self.assertEqual(c.getresponse().status, 405)
        c.close()

    def test_off_loopback_a_token_is_required(self):
        p = subprocess.run([server_binary(), "serve", "--listen", "127.0.0.1:0",
                            "--metrics-listen", "0.0.0.0:0"],
                           env=dict(os.environ, MFB_DB=self.rx.db), capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--metrics-listen 0.0.0.0:0 is not a loopback address and has no token",
                      p.stderr)
        self.assertIn("--metrics-token-file", p.stderr)

        secret = "s3cr3t-metrics-token"
        token_file = write_secret(os.path.join(self.rx.dir, "metrics-token"), secret)
        self.rx.start("--metrics-listen", "0.0.0.0:0", "--metrics-token-file", token_file)
        port = receiver_metrics_port(self.rx)
        ctx = ssl.create_default_context(cafile=self.rx.cert)

        def get(headers):
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
            c.request("GET", "/metrics", headers=headers)
            r = c.getresponse()
            body = r.read().decode()
            c.close()
            return r.status, body

        self.assertEqual(get({})[0], 401)
        self.assertEqual(get({"Authorization": "Bearer wrong"})[0], 401)
        status, body = get({"Authorization": f"Bearer {secret}"})
        self.assertEqual(status, 200, body)
        check_with_promtool(self, body)
        parse(body)
        self.rx.stop()
        self.assertNotIn(secret, self.rx.log_text())


if __name__ == "__main__":
    main()
