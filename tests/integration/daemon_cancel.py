"""daemon_cancel.py - `mfb cancel JOB [--discard]` in each step of a
daemon job (docs/daemon.md, "Cancel"), with a real MariaDB and a real
receiver: queued, before the stop (the stop command has not stopped the
database yet), while the database is down, and during the upload after
Data.zip was sealed. Every case leaves the database running and the entry
`cancelled` with the step it was cancelled in, in the API entry and in
the job log; a cancel during the upload keeps Data.zip (the job waits for
`mfb resume`, and no automatic retry is queued) unless --discard, which
removes the archive and its sidecars.
"""

import os
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_run import raw_request  # noqa: E402
from daemontestlib import DaemonTestCase  # noqa: E402
from mfbtest import main  # noqa: E402


class Cancel(DaemonTestCase):
    env_name = "dcancel"

    def setUp(self):
        super().setUp()
        # a pending job would be retried at once: make a retry visible
        self.env.mfb("settings", "set", "retry_initial", "1")
        self.addCleanup(self.env.mfb, "settings", "reset", "retry_initial")

    def cancelled(self, qid, step):
        e = self.wait_entry(qid, lambda e: e["state"] == "done")
        self.assertEqual((e["status"], e["cancelled_step"]), ("cancelled", step), e)
        self.env.assert_running()
        return e

    def cancel_event(self, job_id, step):
        rows = self.env.sql("SELECT step, message FROM job_events WHERE job_id = ?"
                            " AND message LIKE 'cancelled through the daemon % in step %'",
                            job_id)
        self.assertEqual([r["step"] for r in rows], [step], rows)

    def test_queued_and_before_the_stop(self):
        env = self.env
        self.instance("early", control="command", stop_cmd=self.stop_then("sleep 30"))
        self.instance("waiting")
        self.start_daemon()
        early = self.run_id("early")
        self.wait_entry(early, lambda e: e.get("progress", {}).get("step") == "stop")
        waiting = self.run_id("waiting")
        r = env.mfb("cancel", str(waiting))
        self.assertEqual(r.stdout, f"queue {waiting}: cancelled\n")
        e = self.cancelled(waiting, "queued")
        self.assertIsNone(e["job_id"])
        # the stop command sleeps before it stops anything: the database
        # was never down
        r = env.mfb("cancel", str(early))
        self.assertIn("cancelling", r.stdout)
        e = self.cancelled(early, "stop")
        job = env.job(e["job_id"])
        self.assertEqual(job["status"], "cancelled")
        self.cancel_event(e["job_id"], "stop")
        # an ended entry cannot be cancelled again
        r = env.mfb("cancel", str(early), expect=1)
        self.assertIn("the job has already ended", r.stderr)
        # the API's cancel takes an optional {"discard": bool} and nothing else
        for body in (b"[1]", b"{not json", b'{"discard": "yes"}'):
            status, j = raw_request(self.sock, "POST", f"/v1/jobs/{early}/cancel", body)
            self.assertEqual((status, j["error"]), (400, "bad_json"), body)
        status, j = raw_request(self.sock, "POST", f"/v1/jobs/{early}/cancel",
                                b'{"discard": false}')
        self.assertEqual((status, j["error"]), (409, "not_running"))

    def test_while_the_database_is_down(self):
        env = self.env
        self.instance("down", control="command", stop_cmd=self.stop_then(after="sleep 30"))
        self.start_daemon()
        qid = self.run_id("down")
        # the stop command has stopped the database and still runs
        self.wait_for("the database down", lambda: not env.db.is_running())
        self.assertEqual(self.wait_entry(qid, lambda e: True)["progress"]["step"], "stop")
        env.mfb("cancel", str(qid))
        e = self.cancelled(qid, "stop")
        job = env.job(e["job_id"])
        self.assertEqual(job["status"], "cancelled")
        self.assertGreater(job["downtime_ms"], 0)
        self.cancel_event(e["job_id"], "stop")
        self.assertEqual(env.spool_files(), [])

    def cancel_in_upload(self, name, *extra):
        """Runs a backup whose receiver freezes once the database is down
        (restart after the archive), cancels it when its upload step has
        begun, thaws the receiver; the entry and the job."""
        env = self.env
        self.instance(name, restart_after="archive", control="command",
                      stop_cmd=self.stop_then(after=self.freeze_receiver()))
        self.start_daemon()
        qid = self.run_id(name)
        self.wait_entry(qid, lambda e: e.get("progress", {}).get("step") == "upload")
        r = env.mfb("cancel", str(qid), *extra)
        self.assertIn("cancelling", r.stdout)
        e = self.cancelled(qid, "upload")
        self.thaw_receiver()
        self.cancel_event(e["job_id"], "upload")
        return e, env.job(e["job_id"])

    def test_during_the_upload_keeps_data_zip(self):
        env = self.env
        e, job = self.cancel_in_upload("keep")
        self.assertEqual((job["status"], e["job_status"]), ("pending_upload", "pending_upload"))
        self.assertEqual(env.spool_files(), [f"job-{job['id']}/Data.zip",
                                             f"job-{job['id']}/Data.zip.chunks.json"])
        # a person's cancel is not retried, now or at the daemon's next start
        self.assertEqual(self.retries_of(job["id"]), [])
        self.stop_daemon()
        self.start_daemon()
        self.assertEqual(self.retries_of(job["id"]), [])
        env.mfb("resume", str(job["id"]))
        self.assertEqual(env.job(job["id"])["status"], "ok")
        self.assertEqual(env.spool_files(), [])

    def test_during_the_upload_with_discard(self):
        env = self.env
        e, job = self.cancel_in_upload("discard", "--discard")
        self.assertEqual(job["status"], "cancelled")
        # no longer "'mfb resume N' completes the upload"
        self.assertEqual((job["error"], job["hint"]),
                         ("backup cancelled after Data.zip was sealed; the archive was "
                          "discarded", None))
        self.assertEqual(e["job_status"], "cancelled")
        self.assertFalse(os.path.exists(os.path.join(env.spool, f"job-{job['id']}")))
        self.assertEqual(env.spool_files(), [])
        self.assertEqual(self.retries_of(job["id"]), [])
        self.assertIn("the kept archive was removed", "\n".join(env.events(job["id"])))


if __name__ == "__main__":
    main()
