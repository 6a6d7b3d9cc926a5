"""daemon_crash.py - `kill -9` of `mfb daemon` in the middle of a job, and
the next start (docs/daemon.md, "Running it"), with a real MariaDB and a
real receiver:

- killed while archiving (held there by the test-only MFB_TEST_PAUSE_AT):
  the job's guardian starts the database again, the job is recorded as
  failed, the next daemon ends the entry `interrupted` and runs nothing of
  it again, nothing is left in the spool, and what the receiver stored
  before is untouched (same list, same SHA-256 of each file);
- killed during the upload after Data.zip was sealed: the next daemon finds
  the job pending_upload and queues a retry by itself, which completes it.
"""

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from daemontestlib import DaemonTestCase  # noqa: E402
from mfbtest import main  # noqa: E402


class Crash(DaemonTestCase):
    env_name = "dcrash"

    def setUp(self):
        super().setUp()
        self.env.mfb("settings", "set", "retry_initial", "1")
        self.addCleanup(self.env.mfb, "settings", "reset", "retry_initial")

    def stored(self):
        """backup id -> SHA-256 of the file on the receiver's disk, checked
        against what the receiver recorded."""
        out = {}
        for b in self.env.stored_backups():
            with open(os.path.join(self.env.rx.storage, b["path"]), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            self.assertEqual(digest, b["sha256"], b)
            out[b["backup_id"]] = digest
        return out

    def test_kill_while_archiving(self):
        env = self.env
        self.instance("crasharch")
        env.backup()
        before = self.stored()
        self.assertTrue(before)
        self.start_daemon(env={"MFB_TEST_PAUSE_AT": "archive"})
        qid = self.run_id("crasharch")
        e = self.wait_entry(qid, lambda e: e.get("progress", {}).get("step") == "archive")
        job_id = e["job_id"]
        self.kill_daemon()
        env.assert_running()  # the guardian started it again
        env.assert_no_guardian()
        job = env.wait_job_ended(job_id)
        self.assertEqual(job["status"], "failed", job)

        self.start_daemon()
        e = self.wait_entry(qid, lambda e: e["state"] == "done")
        self.assertEqual((e["status"], e["job_id"]), ("failed", job_id), e)
        self.assertEqual(env.sql("SELECT error FROM queue WHERE id = ?", qid)[0]["error"],
                         "interrupted")
        self.assertEqual(self.retries_of(job_id), [])
        self.assertEqual(env.spool_files(), [])
        self.assertEqual(self.stored(), before)
        # the instance is not stuck: the next run stores a backup
        self.assertIn(" ok", env.mfb("run", "crasharch", "--wait", timeout=180).stdout)

    def test_kill_after_the_seal_is_retried_at_start(self):
        env = self.env
        self.instance("crashup", control="command",
                      stop_cmd=self.stop_then(after=self.freeze_receiver()))
        self.start_daemon()
        qid = self.run_id("crashup")
        e = self.wait_entry(qid, lambda e: e.get("progress", {}).get("step") == "upload")
        job_id = e["job_id"]
        self.kill_daemon()
        self.thaw_receiver()
        env.assert_running()
        env.assert_no_guardian()
        self.assertEqual(env.wait_job_ended(job_id)["status"], "pending_upload")

        self.start_daemon()
        self.assertEqual(env.sql("SELECT error, job_id FROM queue WHERE id = ?", qid)[0],
                         {"error": "interrupted", "job_id": job_id})
        retry = self.wait_for("the retry", lambda: self.retries_of(job_id))[0]
        self.assertEqual(retry["trigger"], "retry")
        done = self.wait_entry(retry["id"], lambda e: e["state"] == "done")
        self.assertEqual(done["status"], "ok", done)
        job = env.job(job_id)
        self.assertEqual(job["status"], "ok")
        self.assertIn(job["backup_id"], self.stored())
        self.assertEqual(env.spool_files(), [])


if __name__ == "__main__":
    main()
