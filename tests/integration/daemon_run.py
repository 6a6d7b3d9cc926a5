"""daemon_run.py - `mfb daemon` and the commands on its control API
(docs/daemon.md), with a real MariaDB and a real receiver: a run that
stores a backup, one instance at a time with one worker, cancel of a
running job, SIGTERM of the daemon during a job, `mfb run` without a
daemon, and hostile API input.
"""

import os
import signal
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from daemontestlib import DaemonTestCase, raw_request  # noqa: E402
from mfbtest import main  # noqa: E402


class Daemon(DaemonTestCase):
    def run_id(self, instance):
        out = self.env.mfb("run", instance).stdout
        return int(out.split()[1].rstrip(":"))

    def test_run_wait_stores_a_backup(self):
        self.instance("prod")
        self.start_daemon()
        r = self.env.mfb("run", "prod", "--wait", timeout=180)
        self.assertIn(" ok", r.stdout)
        job = [j for j in self.env.sql("SELECT * FROM jobs ORDER BY id DESC LIMIT 1")][0]
        self.assertEqual(job["status"], "ok")
        self.assertIn(job["backup_id"], [b["backup_id"] for b in self.env.stored_backups()])
        q = self.env.sql("SELECT * FROM queue ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual((q["state"], q["job_id"], q["trigger"]), ("done", job["id"], "cli"))

    def test_one_at_a_time_and_cancel_of_a_running_job(self):
        self.instance("slow", control="command", stop_cmd=self.stop_then("sleep 30"))
        self.instance("quick")
        self.start_daemon()
        slow = self.run_id("slow")
        self.wait_entry(slow, lambda e: e.get("progress", {}).get("step") == "stop")
        quick = self.run_id("quick")
        # one worker: the second instance waits while the first runs
        self.assertEqual([j["status"] for j in self.jobs() if j["id"] == quick], ["queued"])
        # queued twice is queued once
        self.assertEqual(self.run_id("quick"), quick)
        r = self.env.mfb("cancel", str(slow))
        self.assertIn("cancelling", r.stdout)
        e = self.wait_entry(slow, lambda e: e["state"] == "done")
        self.assertEqual(e["status"], "cancelled")
        self.env.assert_running()
        e = self.wait_entry(quick, lambda e: e["state"] == "done", timeout=180)
        self.assertEqual(e["status"], "ok")

    def test_sigterm_during_a_job(self):
        self.instance("term", control="command", stop_cmd=self.stop_then("sleep 30"))
        self.start_daemon()
        qid = self.run_id("term")
        e = self.wait_entry(qid, lambda e: e.get("progress", {}).get("step") == "stop")
        err = self.stop_daemon()
        self.assertIn("daemon-stop", err)
        self.env.assert_running()
        job = self.env.wait_job_ended(e["job_id"])
        self.assertEqual(job["status"], "cancelled")

    def test_sighup_rereads_and_keeps_serving(self):
        self.instance("hup")
        self.start_daemon()
        self.daemon.send_signal(signal.SIGHUP)
        self.env.mfb("daemon", "status")  # still answers
        self.assertIsNone(self.daemon.poll(), "SIGHUP ended the daemon")
        err = self.stop_daemon()
        self.assertIn("daemon-reload", err)

    def test_run_without_a_daemon(self):
        r = self.env.mfb("run", "prod", expect=1)
        sock = os.path.join(self.env.dir, "mfb.sock")
        self.assertEqual(r.stderr.splitlines()[0], f"mfb: error: no daemon answers on {sock}")
        self.assertIn("run 'mfb backup INSTANCE' in the foreground, or start the daemon: "
                      "mfb daemon", r.stderr)

    def test_hostile_api_input(self):
        self.start_daemon()
        cases = [
            ("DELETE", "/v1/jobs", b"", 405, "method_not_allowed"),
            ("GET", "/v1/jobs/1/cancel", b"", 405, "method_not_allowed"),
            ("POST", "/v1/jobs", b"{not json", 400, "bad_json"),
            ("POST", "/v1/jobs", b"[1]", 400, "bad_json"),
            ("POST", "/v1/jobs", b'{"instance": 7}', 400, "bad_request"),
            ("POST", "/v1/jobs", b'{"instance": "nosuch"}', 404, "not_found"),
            ("GET", "/v1/jobs/999999", b"", 404, "not_found"),
            ("GET", "/v1/jobs/abc", b"", 404, "not_found"),
            ("POST", "/v1/jobs/999999/cancel", b"", 404, "not_found"),
            ("GET", "/v1/nothing", b"", 404, "not_found"),
            ("POST", "/v1/jobs", b"x" * 70000, 413, "too_large"),
        ]
        for method, url, body, status, code in cases:
            with self.subTest(method=method, url=url):
                got, j = raw_request(self.sock, method, url, body)
                self.assertEqual((got, j["error"]), (status, code), j)
                self.assertTrue(j["message"])
        got, j = raw_request(self.sock, "GET", "/v1/health")
        self.assertEqual((got, j["status"]), (200, "ok"))
        self.assertIsNone(self.daemon.poll())


if __name__ == "__main__":
    main()
