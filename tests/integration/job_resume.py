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
- A kept Data.zip that is no longer what was written (a byte flipped in a
  chunk the receiver holds, or in one it does not) is refused against its
  seal record: the resume fails naming the chunk and its bytes, the job is
  failed with Data.zip kept, the receiver's chunks are untouched and
  nothing is published. A clean resume publishes an archive that
  `mfb archive test` and `unzip -t` accept. A job kept without a seal
  record (an earlier mfb) is resumed after a test of the whole archive, and
  refused when that test fails.
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
from ziptools import flip_byte  # noqa: E402


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
        # what was published is a sound archive, by mfb's reader and Info-ZIP's
        path = os.path.join(env.rx.storage, stored[0]["path"])
        env.mfb("archive", "test", path)
        unzip = subprocess.run(["unzip", "-tqq", path], capture_output=True, text=True)
        self.assertEqual(unzip.returncode, 0, unzip.stdout + unzip.stderr)

    # -- a kept Data.zip that is no longer what was written ---------------------
    def receiver_chunks(self, upload_id):
        status, up = self.env.rx.json("GET", f"/v1/uploads/{upload_id}", self.env.token())
        self.assertEqual(status, 200, up)
        return up["chunk_size"], {c["index"]: c["sha256"] for c in up["chunks"]}

    def pending_with_chunks(self, name, held):
        """A job left pending_upload with chunks `held` (and maybe others)
        on the receiver, sent intact before the damage."""
        env = self.env
        self.instance(name, extra=["--upload-timeout", "1ms"])
        r = env.backup(expect=1)
        job, zip_path = self.pending_job(r)
        with open(zip_path, "rb") as f:
            data = f.read()
        chunk, have = self.receiver_chunks(job["upload_id"])
        self.assertGreater(len(data), chunk, "the test needs two chunks")
        for i in held:
            if i not in have:
                status, _ = env.rx.put_chunk(env.token(), job["upload_id"], i,
                                                data[i * chunk:(i + 1) * chunk])
                self.assertEqual(status, 201)
        return job, zip_path, chunk

    def assert_refused(self, job, zip_path, chunk, index):
        env = self.env
        _, before = self.receiver_chunks(job["upload_id"])
        backups = len(env.stored_backups())
        size = os.path.getsize(zip_path)
        last = min((index + 1) * chunk, size) - 1
        flip_byte(zip_path, (index * chunk + last) // 2)
        r = env.mfb("resume", str(job["id"]), expect=1)
        self.assertIn(f"mfb: error: job {job['id']}: '{zip_path}' no longer matches its seal "
                      f"record: chunk {index} (bytes {index * chunk}-{last}) "
                      f"has changed since it was written", r.stderr)
        self.assertIn(f"HINT: nothing damaged was sent or published; {zip_path} is kept for "
                      f"inspection", r.stderr)
        self.assertEqual(env.job(job["id"])["status"], "failed")
        self.assertTrue(os.path.isfile(zip_path))
        _, after = self.receiver_chunks(job["upload_id"])
        self.assertEqual({i: after.get(i) for i in before}, before)
        if index not in before:
            self.assertNotIn(index, after)  # the damaged chunk never went out
        self.assertEqual(len(env.stored_backups()), backups)
        # the job is no longer pending: a resume does not try it again
        self.assertIn("no upload waits to be resumed", env.mfb("resume").stdout)

    def test_damaged_chunk_the_receiver_holds_is_refused(self):
        job, zip_path, chunk = self.pending_with_chunks("flipheld", held=[0, 1])
        self.assert_refused(job, zip_path, chunk, 1)

    def test_damaged_chunk_the_receiver_lacks_is_refused(self):
        job, zip_path, chunk = self.pending_with_chunks("fliplacks", held=[0])
        _, have = self.receiver_chunks(job["upload_id"])
        self.assertNotIn(1, have)
        self.assert_refused(job, zip_path, chunk, 1)

    def test_job_without_a_seal_record(self):
        env = self.env
        # kept by an earlier mfb: no record; the whole archive is tested first
        self.instance("norecord", extra=["--upload-timeout", "1ms"])
        r = env.backup(expect=1)
        job, zip_path = self.pending_job(r)
        os.unlink(os.path.join(os.path.dirname(zip_path), "Data.zip.chunks.json"))
        digest = self.assert_resumed(job, zip_path)
        env.mfb("resume", str(job["id"]))
        self.check_completed(job, digest)
        # and a damaged one is refused by that test, before anything is sent
        r = env.backup(expect=1)
        job, zip_path = self.pending_job(r)
        os.unlink(os.path.join(os.path.dirname(zip_path), "Data.zip.chunks.json"))
        flip_byte(zip_path, 100, 0x01)  # in the first entry's header or data
        backups = len(env.stored_backups())
        r = env.mfb("resume", str(job["id"]), expect=1)
        self.assertIn(f"mfb: error: job {job['id']}: ", r.stderr)
        self.assertIn("is kept for inspection", r.stderr)
        self.assertEqual(env.job(job["id"])["status"], "failed")
        self.assertTrue(os.path.isfile(zip_path))
        self.assertEqual(len(env.stored_backups()), backups)

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
