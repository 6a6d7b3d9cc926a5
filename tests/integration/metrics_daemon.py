"""metrics_daemon.py - the daemon's GET /metrics (docs/monitoring.md) with
a real MariaDB, a real receiver and the real daemon: the page passes
promtool and the test's own strict parser, and its values follow the jobs
(a good backup moves the last-success time, a failed one the last status
and the failure count, a good drill the drill's last-success time), the
queue and the schedules; every family the docs list is there. On the web
UI's listener the page is to be behind the UI's login like the rest of the
API: refused without a session, the same page with one (skipped until the
UI's gate passes /metrics).
"""
import http.client
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from jobtestlib import JobTestCase  # noqa: E402
from metricstestlib import Daemon, check_with_promtool, parse  # noqa: E402
from mfbtest import MFB, UTF8_ENV, TempDirTestCase, main, run  # noqa: E402


class DaemonMetrics(JobTestCase):
    env_name = "metrics"

    def setUp(self):
        super().setUp()
        self.daemon = Daemon(self.env, "--no-alerts")
        self.addCleanup(self.daemon.stop)

    def page(self):
        status, headers, body = self.daemon.get("/metrics")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        check_with_promtool(self, body)
        return parse(body), body

    def test_page_before_and_after_jobs(self):
        self.instance("prod")
        page, body = self.page()
        self.assertEqual(page.types["mfb_backups_total"], "counter")
        self.assertEqual([v for _, v in page.series("mfb_build_info")], [1])
        for state in ("queued", "running", "pending_upload"):
            self.assertEqual(page.value("mfb_jobs", state=state), 0, state)
        self.assertIsNone(page.value("mfb_backup_last_success_timestamp_seconds",
                                     instance="prod"))
        self.assertEqual(page.value("mfb_backups_total", instance="prod", result="ok"), 0)
        # no drill has run (and the drill kind may not exist): the family is absent
        self.assertNotIn("mfb_drill_last_success_timestamp_seconds", body)
        # never a job id as a label: one series per job would grow without end
        self.assertFalse({n for k in page.samples for n, _ in k[1]} & {"job", "job_id", "id"})

        before = time.time()
        self.env.backup()
        page, _ = self.page()
        self.assertEqual(page.types["mfb_backup_last_success_timestamp_seconds"], "gauge")
        first = page.value("mfb_backup_last_success_timestamp_seconds", instance="prod")
        self.assertIsNotNone(first)
        self.assertGreaterEqual(first, int(before) - 1)
        self.assertLessEqual(first, time.time() + 1)
        self.assertEqual(page.value("mfb_backups_total", instance="prod", result="ok"), 1)
        self.assertEqual(page.value("mfb_backup_last_status", instance="prod", status="ok"), 1)
        self.assertEqual(page.value("mfb_backup_last_status", instance="prod", status="failed"),
                         0)
        size = page.value("mfb_backup_last_size_bytes", instance="prod")
        stored = [b["size"] for b in self.env.stored_backups()]
        self.assertIn(size, stored)
        self.assertGreaterEqual(page.value("mfb_backup_last_duration_seconds", instance="prod"),
                                0)
        self.assertGreater(page.value("mfb_backup_last_downtime_seconds", instance="prod"), 0)

        # a failed backup: the last status moves, the last success does not
        self.env.mfb("instance", "set", "prod", "--control", "command", "--stop-cmd", "exit 3",
                     "--no-check")
        self.env.backup(expect=1)
        page, _ = self.page()
        self.assertEqual(page.value("mfb_backup_last_success_timestamp_seconds", instance="prod"),
                         first)
        self.assertEqual(page.value("mfb_backup_last_status", instance="prod", status="failed"),
                         1)
        self.assertEqual(page.value("mfb_backup_last_status", instance="prod", status="ok"), 0)
        self.assertEqual(page.value("mfb_backups_total", instance="prod", result="failed"), 1)

        # a good one again moves the last success forward
        self.env.mfb("instance", "set", "prod", "--control", "shutdown-sql", "--no-check")
        self.env.backup()
        page, _ = self.page()
        self.assertGreater(page.value("mfb_backup_last_success_timestamp_seconds",
                                      instance="prod"), first)
        self.assertEqual(page.value("mfb_backups_total", instance="prod", result="ok"), 2)

        # a good restore drill moves the drill's last success
        before = time.time()
        self.env.mfb("drill", "prod", timeout=300)
        page, _ = self.page()
        drilled = page.value("mfb_drill_last_success_timestamp_seconds", instance="prod")
        self.assertIsNotNone(drilled)
        self.assertGreaterEqual(drilled, int(before) - 1)
        self.assertLessEqual(drilled, time.time() + 1)
        self.assertEqual(page.types["mfb_drill_last_success_timestamp_seconds"], "gauge")
        # a drill is no backup: the backups' figures stay
        self.assertEqual(page.value("mfb_backups_total", instance="prod", result="ok"), 2)

        # every family docs/monitoring.md lists for the client (the
        # schedules' in test_schedule_next_run)
        for family, kind in (("mfb_backup_last_success_timestamp_seconds", "gauge"),
                             ("mfb_backup_last_status", "gauge"),
                             ("mfb_backup_last_duration_seconds", "gauge"),
                             ("mfb_backup_last_downtime_seconds", "gauge"),
                             ("mfb_backup_last_size_bytes", "gauge"),
                             ("mfb_backups_total", "counter"),
                             ("mfb_drill_last_success_timestamp_seconds", "gauge"),
                             ("mfb_jobs", "gauge"),
                             ("mfb_upload_retries_total", "counter"),
                             ("mfb_build_info", "gauge")):
            self.assertEqual(page.types.get(family), kind, family)

    def test_schedule_next_run(self):
        self.instance("sched")
        self.env.mfb("schedule", "add", "nightly", "--instance", "sched", "--cron", "0 3 * * *",
                     "--tz", "UTC")
        page, _ = self.page()
        nxt = page.value("mfb_schedule_next_run_timestamp_seconds", schedule="nightly",
                         instance="sched")
        self.assertIsNotNone(nxt)
        self.assertEqual(nxt % 86400, 3 * 3600)
        self.assertGreater(nxt, time.time())
        self.assertLessEqual(nxt, time.time() + 86400)
        self.env.mfb("schedule", "pause", "nightly")
        page, _ = self.page()
        self.assertIsNone(page.value("mfb_schedule_next_run_timestamp_seconds",
                                     schedule="nightly", instance="sched"))

    def test_only_get(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.daemon.sock)
        s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Length: 0\r\n\r\n")
        data = s.recv(65536)
        s.close()
        self.assertIn(b" 405 ", data.split(b"\r\n")[0] + b" ")


class UiListenerMetrics(TempDirTestCase):
    """GET /metrics on the daemon's web UI listener (docs/ui.md), with no
    database server: on loopback it needs no session, as the receiver's
    metrics listener needs no token there (off loopback, the bearer token:
    ui_listen.py)."""

    def test_on_loopback_without_a_session(self):
        env = dict(UTF8_ENV, MFB_DB=self.path("mfb.db"))
        run([MFB, "init"], expect=0, env=env, timeout=60)
        run([MFB, "ui", "passwd"], expect=0, env=env, input="a good password\n", timeout=60)
        log = self.path("daemon.log")
        with open(log, "w") as f:
            p = subprocess.Popen([MFB, "daemon", "--workers", "1", "--no-alerts",
                                  "--ui-listen", "127.0.0.1:0"], stderr=f, env=env)

        def stop():
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=60)
        self.addCleanup(stop)
        deadline = time.monotonic() + 30
        while True:
            with open(log) as f:
                m = re.search(r"daemon-ui url=http://127\.0\.0\.1:(\d+)/", f.read())
            if m:
                break
            self.assertIsNone(p.poll(), "the daemon exited")
            self.assertLess(time.monotonic(), deadline, "no daemon-ui line")
            time.sleep(0.05)
        port = int(m.group(1))

        def get(headers):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/metrics", headers=headers)
            r = c.getresponse()
            body = r.read().decode()
            c.close()
            return r.status, r.getheader("Content-Type"), body

        status, ctype, body = get({})
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        check_with_promtool(self, body)
        page = parse(body)
        self.assertEqual(page.value("mfb_jobs", state="queued"), 0)
        self.assertEqual([v for _, v in page.series("mfb_build_info")], [1])


if __name__ == "__main__":
    main()
