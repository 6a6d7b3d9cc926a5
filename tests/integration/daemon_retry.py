"""daemon_retry.py - the daemon's automatic retry of uploads
(docs/daemon.md, "Upload retries"), with a real MariaDB and a real
receiver: the receiver dies while the database is stopped, the job ends
pending_upload with the database running, the daemon queues a retry and
keeps trying (attempts and next_attempt in `mfb jobs`) with the short
backoff set through `mfb settings`; once the receiver is back the daemon
completes the backup by itself, no command typed, and the receiver stores
the kept Data.zip with its SHA-256. With retry_initial 0 nothing is
retried.
"""

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from daemontestlib import DaemonTestCase  # noqa: E402
from mfbtest import main  # noqa: E402


class Retry(DaemonTestCase):
    env_name = "dretry"

    def setUp(self):
        super().setUp()
        if self.env.rx.proc is None:
            self.env.start_receiver(port=self.env.rx.port)
        self.env.mfb("settings", "set", "retry_initial", "1")
        self.env.mfb("settings", "set", "retry_max", "2")
        self.addCleanup(self.env.mfb, "settings", "reset", "retry_initial")
        self.addCleanup(self.env.mfb, "settings", "reset", "retry_max")

    def receiver_dies_in_the_stop(self, name):
        """An instance whose stop command kills the receiver (-9) first: the
        upload cannot finish, and its step ends at the 3 s upload timeout."""
        pid = self.env.db.pid_file
        self.instance(name, control="command", extra=["--upload-timeout", "3s"],
                      stop_cmd=f"kill -9 {self.env.rx.proc.pid}; kill $(cat {pid}); "
                               f"while [ -e {pid} ]; do sleep 0.05; done")

    def reap_receiver(self):
        rx = self.env.rx
        rx.proc.wait()
        rx.log.close()
        rx.proc = None

    def test_pending_upload_is_completed_by_the_daemon(self):
        env = self.env
        self.receiver_dies_in_the_stop("rxdies")
        self.start_daemon()
        qid = self.run_id("rxdies")
        e = self.wait_entry(qid, lambda e: e["state"] == "done")
        self.reap_receiver()
        self.assertEqual(e["status"], "pending_upload", e)
        env.assert_running()
        job_id = e["job_id"]
        zip_path = os.path.join(env.spool, f"job-{job_id}", "Data.zip")
        with open(zip_path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()

        # The daemon retries on its own while the receiver is down: the
        # entry counts its attempts and says when the next one is due.
        retry = self.wait_for("a second failed retry", lambda: [
            r for r in self.retries_of(job_id) if r["attempts"] >= 2 and r["state"] == "queued"])
        r = retry[0]
        self.assertEqual((r["trigger"], r["instance"], r["kind"]), ("retry", "rxdies", "backup"))
        self.assertIsInstance(r["next_attempt_ms"], int)
        self.assertEqual(env.job(job_id)["status"], "pending_upload")
        self.assertTrue(os.path.isfile(zip_path))
        table = env.mfb("jobs").stdout.splitlines()
        self.assertEqual(table[0].split()[-2:], ["ATTEMPTS", "NEXT"])
        row = next(x.split() for x in table if x.split()[0] == str(r["id"]))
        self.assertEqual(row[1:3], ["rxdies", "queued"])
        failed = env.sql("SELECT * FROM jobs WHERE kind = 'resume' AND instance = 'rxdies'")
        self.assertGreaterEqual(len(failed), 1)
        self.assertTrue(all(j["status"] == "failed" for j in failed))

        # The receiver comes back: no command is typed.
        env.start_receiver(port=env.rx.port)
        done = self.wait_entry(r["id"], lambda e: e["state"] == "done")
        self.assertEqual(done["status"], "ok", done)
        self.assertIsNone(done["cancelled_step"])
        job = env.job(job_id)
        self.assertEqual(job["status"], "ok")
        stored = [b for b in env.stored_backups() if b["backup_id"] == job["backup_id"]]
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored[0]["sha256"], digest)
        self.assertFalse(os.path.exists(os.path.join(env.spool, f"job-{job_id}")))
        self.assertEqual(self.retries_of(job_id)[-1]["state"], "done")
        self.assertEqual([x for x in self.retries_of(job_id) if x["state"] != "done"], [])
        env.assert_running()

    def test_no_retry_when_switched_off(self):
        env = self.env
        env.mfb("settings", "set", "retry_initial", "0")
        self.receiver_dies_in_the_stop("rxoff")
        self.start_daemon()
        qid = self.run_id("rxoff")
        e = self.wait_entry(qid, lambda e: e["state"] == "done")
        self.reap_receiver()
        self.assertEqual(e["status"], "pending_upload", e)
        self.assertEqual(self.retries_of(e["job_id"]), [])
        self.assertEqual(env.sql("SELECT COUNT(*) AS n FROM queue WHERE trigger = 'retry'"
                                 " AND resume_job = ?", e["job_id"])[0]["n"], 0)
        # `mfb resume` is still the way out
        env.start_receiver(port=env.rx.port)
        env.mfb("resume", str(e["job_id"]))
        self.assertEqual(env.job(e["job_id"])["status"], "ok")


if __name__ == "__main__":
    main()
