#!/usr/bin/env python3
"""job_resume.py - `mfb backup` when the receiver is missing or goes away,
and `mfb resume` (requirements 5, 8.3, 8.6, 9.3), against a real MariaDB
and a real mfb-server.

- Receiver down, or without room (507, a quota), at the preflight: the job
  fails before any downtime.
- Receiver killed while the server is stopped: mfb restarts the server,
  keeps Data.zip, and the job becomes pending_upload with its upload id.
  `mfb resume` with the receiver still down fails and keeps everything;
  started while it is down and brought back two seconds later, it waits
  with exponential backoff and completes the backup; the original job then
  says ok with its backup id, and the spool is empty.
- An upload that times out (9.5) is resumed the same way.
- A receiver that forgot the upload gets the whole file again; one that
  completed it (the answer lost) just says which backup it became.
"""
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from jobtestlib import FAST_RETRY, JobTestCase  # noqa: E402
from mfbtest import MFB, main  # noqa: E402


class ReceiverTrouble(JobTestCase):
    env_name = "resume"

    def setUp(self):
        super().setUp()
        if self.env.rx.proc is None:
            self.env.start_receiver(port=self.env.rx.port)

    def reap_receiver(self):
        rx = self.env.rx
        rx.proc.wait()
        rx.log.close()
        rx.proc = None

    def pending_job(self, r):
        self.assertEqual(r.returncode, 1, r)
        job = self.env.job(r.job_id)
        self.assertEqual(job["status"], "pending_upload", r)
        self.assertTrue(job["upload_id"].startswith("u_"))
        zip_path = os.path.join(self.env.spool, f"job-{job['id']}", "Data.zip")
        self.assertTrue(os.path.isfile(zip_path))
        self.assertIn(f"HINT: the server runs again and {zip_path} is kept; 'mfb resume "
                      f"{job['id']}' completes the upload", r.stderr)
        self.assertGreater(job["downtime_ms"], 0)
        return job, zip_path

    def assert_resumed(self, job, zip_path):
        env = self.env
        with open(zip_path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        return digest

    def check_completed(self, job, digest):
        env = self.env
        done = env.job(job["id"])
        self.assertEqual(done["status"], "ok")
        self.assertTrue(done["backup_id"].startswith("b_"))
        self.assertIsNone(done["error"])
        stored = [b for b in env.stored_backups() if b["backup_id"] == done["backup_id"]]
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored[0]["sha256"], digest)
        self.assertFalse(os.path.exists(os.path.join(env.spool, f"job-{job['id']}")))
        self.assertTrue(any(e.startswith("upload completed by resume job")
                            for e in env.events(job["id"])))
        resume_jobs = env.sql("SELECT * FROM jobs WHERE kind = 'resume' AND status = "
                              "'ok' AND backup_id = ?", done["backup_id"])
        self.assertEqual(len(resume_jobs), 1)
        # both records count the file's chunks
        self.assertGreater(done["chunks"], 0)
        self.assertEqual(resume_jobs[0]["chunks"], done["chunks"])

    # -- before the stop ------------------------------------------------------
    def test_receiver_down_at_the_preflight(self):
        self.instance("rxdown")
        self.env.rx.stop()
        r = self.env.backup(*FAST_RETRY, expect=1)
        self.assertRegex(r.stderr, r"mfb: error: cannot open the upload: .*(onnect|refused)")
        job = self.env.job(r.job_id)
        self.assertEqual(job["status"], "failed")
        self.assertIsNone(job["stop_ms"])
        self.assertIsNone(job["downtime_ms"])
        self.assertIn("the server was not stopped: no downtime", self.env.events(job["id"]))

    def test_receiver_without_room(self):
        env = self.env
        token = env.rx.add_client("tiny", "--quota", "1M")
        tf = os.path.join(env.dir, "tiny.token")
        fd = os.open(tf, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, token.encode())
        os.close(fd)
        env.mfb("target", "add", "tiny", "--url", f"https://127.0.0.1:{env.rx.port}",
                "--token-file", tf, "--fingerprint", env.rx.fingerprint)
        self.addCleanup(env.mfb, "target", "remove", "tiny")
        self.instance("noroom")
        r = env.backup("--target", "tiny", expect=1)
        self.assertIn("insufficient_storage", r.stderr)
        self.assertIn("quota exceeded", r.stderr)
        job = env.job(r.job_id)
        self.assertIsNone(job["stop_ms"])
        self.assertIsNone(job["downtime_ms"])

    # -- while the server is stopped --------------------------------------------
    def test_receiver_dies_then_resume_with_backoff(self):
        env = self.env
        pid = env.db.pid_file
        kill_rx = f"kill -9 {env.rx.proc.pid}"
        self.instance("rxdies", control="command",
                      stop_cmd=f"{kill_rx}; kill $(cat {pid}); "
                               f"while [ -e {pid} ]; do sleep 0.05; done")
        r = env.backup(*FAST_RETRY, expect=1)
        self.reap_receiver()
        job, zip_path = self.pending_job(r)
        self.assertRegex(r.stderr, r"mfb: error: backup archived but not uploaded: ")
        env.mfb("archive", "test", zip_path)
        digest = self.assert_resumed(job, zip_path)

        # Still down: the resume gives up, and keeps everything.
        r2 = env.mfb("resume", str(job["id"]), "--attempts", "2", *FAST_RETRY, expect=1)
        self.assertRegex(r2.stderr, rf"mfb: error: job {job['id']}: .*giving up after the "
                                    r"retries")
        self.assertEqual(env.job(job["id"])["status"], "pending_upload")
        self.assertTrue(os.path.isfile(zip_path))

        # Started while the receiver is down; it comes back 2 s later.
        p = subprocess.Popen([MFB, "resume", "--attempts", "30", "--max-time", "60s",
                              "--retries", "1", "--progress=none"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env.env, text=True)
        timer = threading.Timer(2.0, lambda: env.start_receiver(port=env.rx.port))
        timer.start()
        out, err = p.communicate(timeout=90)
        timer.join()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("1 pending, 1 completed, 0 failed", out)
        self.assertRegex(err, r"attempt 1 failed: .*; next in")
        self.check_completed(job, digest)
        r3 = env.mfb("resume")
        self.assertIn("no upload waits to be resumed", r3.stdout)

    def test_upload_timeout_then_resume(self):
        env = self.env
        self.instance("uptimeout", extra=["--upload-timeout", "1ms"])
        r = env.backup(expect=1)
        job, zip_path = self.pending_job(r)
        self.assertIn("backup archived but not uploaded: the upload did not finish within 1ms",
                      r.stderr)
        digest = self.assert_resumed(job, zip_path)
        r2 = env.mfb("resume", job["upload_id"], "--progress=json")
        done = [json.loads(x) for x in r2.stdout.splitlines() if x.startswith("{")]
        self.assertEqual(done[-1]["event"], "done")
        self.assertEqual(done[-1]["status"], "ok")
        self.check_completed(job, digest)

    def test_receiver_forgot_the_upload(self):
        env = self.env
        self.instance("forgot", extra=["--upload-timeout", "1ms"])
        r = env.backup(expect=1)
        job, zip_path = self.pending_job(r)
        digest = self.assert_resumed(job, zip_path)
        status, _, _ = env.rx.request("DELETE", f"/v1/uploads/{job['upload_id']}", env.token())
        self.assertEqual(status, 204)
        env.mfb("resume", str(job["id"]))
        self.check_completed(job, digest)
        self.assertTrue(any("the receiver no longer knows upload" in e
                            for e in env.events(
                                env.sql("SELECT max(id) AS id FROM jobs WHERE kind = 'resume'")
                                [0]["id"])))

    def test_upload_completed_but_the_answer_was_lost(self):
        env = self.env
        self.instance("answerlost", extra=["--upload-timeout", "1ms"])
        r = env.backup(expect=1)
        job, zip_path = self.pending_job(r)
        digest = self.assert_resumed(job, zip_path)
        # The upload is completed behind the job's back (as if mfb had
        # crashed after sending complete): the resume only asks for it.
        env.mfb("push", "--resume", job["upload_id"], zip_path, "--url",
                f"https://127.0.0.1:{env.rx.port}", "--token-file", env.token_file,
                "--fingerprint", env.rx.fingerprint)
        env.mfb("resume", str(job["id"]))
        self.check_completed(job, digest)

    def test_resume_of_nothing(self):
        r = self.env.mfb("resume", "999", expect=1)
        self.assertIn("mfb: error: no job waiting to resume its upload matches '999'", r.stderr)


if __name__ == "__main__":
    main()
