#!/usr/bin/env python3
"""job_failpaths.py - what a DBA hits around `mfb backup` that job_failures.py
and job_resume.py do not cover, against a real MariaDB and a real
mfb-server over TLS. In every case the database answers at the end, and
work that is done is never thrown away:

- The MySQL password changed after `mfb instance add`: refused in the
  preflight (no downtime), and the hint says how to store the new one.
- Ctrl-C or SIGTERM once Data.zip is sealed (the upload still running,
  with the server stopped or, with --restart-after archive, already up):
  the job becomes pending_upload, Data.zip is kept, `mfb resume` stores it.
- SIGTERM while the server is being started again, every chunk already on
  the receiver: the start is not cancelled, the backup is kept for
  `mfb resume`, which only has to complete it.
- SIGTERM during the stop command, and during the snapshot copy: the job
  is cancelled, the server runs, nothing is left in the spool.
- The receiver's disk fills up while the server is stopped (the upload was
  accepted with room): chunks get 507, the job becomes pending_upload, and
  `mfb resume` completes once space is freed.
- The disk of the configuration database fills up while the server is
  stopped: the backup still completes (exit 0), and the job log's failure
  is reported once with its fix.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from jobtestlib import FAST_RETRY, JobTestCase, finish, step_begins, wait_for_event  # noqa: E402
from mfbtest import IS_ROOT, MFB, main  # noqa: E402
from server_testlib import Receiver  # noqa: E402


class FailPaths(JobTestCase):
    env_name = "failpaths"

    # -- helpers -------------------------------------------------------------
    def assert_pending_then_resume(self, r, message):
        env = self.env
        self.assertEqual(r.returncode, 1, r)
        job = env.job(r.job_id)
        self.assertEqual(job["status"], "pending_upload", r)
        zip_path = os.path.join(env.spool, f"job-{job['id']}", "Data.zip")
        self.assertIn(f"mfb: error: {message}\n", r.stderr)
        self.assertIn(f"HINT: the server runs again and {zip_path} is kept; 'mfb resume "
                      f"{job['id']}' completes the upload", r.stderr)
        env.mfb("archive", "test", zip_path)
        env.assert_running()
        env.mfb("resume", str(job["id"]), *FAST_RETRY)
        done = env.job(job["id"])
        self.assertEqual(done["status"], "ok")
        self.assertIn(done["backup_id"], [b["backup_id"] for b in env.stored_backups()])
        self.assertEqual(env.spool_files(), [])
        return done

    def assert_cancelled(self, r):
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(self.env.job(r.job_id)["status"], "cancelled", r)
        self.assertIn("mfb: error: backup cancelled; the server runs again", r.stderr)
        self.assertEqual(self.env.spool_files(), [])

    # -- the preflight ---------------------------------------------------------
    def test_password_changed_after_add(self):
        env = self.env
        self.instance("newpw")
        env.db.execute(f"ALTER USER '{env.db.user}'@'localhost' IDENTIFIED BY 'changed-pw'")
        try:
            r = env.backup(expect=1)
            check = env.mfb("instance", "check", "newpw", expect=1)
        finally:
            with open(env.db.password_file) as f:
                old = f.read().strip()
            env.db.execute(f"ALTER USER '{env.db.user}'@'localhost' IDENTIFIED BY '{old}'")
        self.assertIn(f"mfb: error: access denied for user '{env.db.user}' at socket "
                      f"'{env.db.socket}'\n", r.stderr)
        self.assertIn("HINT: if the password changed, store the new one with 'mfb instance set "
                      "newpw --password-file FILE'; check also that the user 'mfb' exists for "
                      "the host mfb connects from (SELECT user, host FROM mysql.user)", r.stderr)
        job = env.job(r.job_id)
        self.assertEqual(job["status"], "failed")
        self.assertIsNone(job["downtime_ms"])
        # the check the recovery guide sends the DBA to gives the same way out
        self.assertIn("'mfb instance set newpw --password-file FILE'", check.stdout + check.stderr)

    # -- a cancel once Data.zip is sealed ----------------------------------------
    def test_sigterm_while_the_upload_waits(self):
        """Default policy: the server is down while the upload runs."""
        self.instance("cancelupload", control="command",
                      stop_cmd=self.stop_then(self.freeze_receiver()))
        p = self.env.spawn_backup("--stall-timeout", "60s")
        lines = wait_for_event(p, step_begins("upload"))
        p.send_signal(signal.SIGTERM)
        r = finish(p, lines)
        self.thaw_receiver()
        self.assertIn("start", r.steps())
        self.assert_pending_then_resume(
            r, "backup archived but not uploaded: the upload was cancelled")

    def test_ctrl_c_during_the_upload_after_the_restart(self):
        """--restart-after archive: the server already runs; Ctrl-C must not
        throw the sealed archive away."""
        self.instance("cancelarchive", restart_after="archive", control="command",
                      stop_cmd=self.stop_then(self.freeze_receiver()))
        p = self.env.spawn_backup("--stall-timeout", "60s")
        lines = wait_for_event(p, step_begins("upload"))
        p.send_signal(signal.SIGINT)
        r = finish(p, lines)
        self.thaw_receiver()
        self.assert_pending_then_resume(
            r, "backup archived but not uploaded: the upload was cancelled")

    def test_sigterm_during_the_start(self):
        """Every chunk is on the receiver when the signal comes: the start
        goes on, and the backup is one `mfb resume` away."""
        env = self.env
        self.instance("cancelstart", start_cmd="sleep 1; " + env.start_cmd())
        p = env.spawn_backup()
        lines = wait_for_event(p, step_begins("start"))
        p.send_signal(signal.SIGTERM)
        r = finish(p, lines)
        ev = env.events(r.job_id)
        self.assertTrue(any(e.startswith("the server answers again") for e in ev), ev)
        done = self.assert_pending_then_resume(
            r, "backup archived but not uploaded: the upload was cancelled")
        self.assertEqual(done["chunks"], env.job(r.job_id)["chunks"])

    # -- cancels before anything is sealed -----------------------------------------
    def test_sigterm_during_the_stop(self):
        self.instance("cancelstop", control="command", stop_cmd=self.stop_then("sleep 30"))
        p = self.env.spawn_backup()
        lines = wait_for_event(p, step_begins("stop"))
        p.send_signal(signal.SIGTERM)
        r = finish(p, lines)
        self.assert_cancelled(r)
        ev = self.env.events(r.job_id)
        self.assertIn("the server still runs and answers; nothing was archived", ev)
        self.assertIsNone(self.env.job(r.job_id)["archive_ms"])

    def test_sigterm_during_the_snapshot_copy(self):
        sparse = os.path.join(self.env.db.datadir, "mfb-test-sparse.bin")
        subprocess.run(["truncate", "-s", "4G", sparse], check=True)
        self.addCleanup(os.unlink, sparse)
        self.instance("cancelsnap", restart_after="snapshot")
        p = self.env.spawn_backup()
        lines = wait_for_event(p, step_begins("snapshot"))
        p.send_signal(signal.SIGTERM)
        r = finish(p, lines)
        self.assert_cancelled(r)
        self.assertIn("snapshot cancelled", self.env.events(r.job_id))

    # -- the receiver's disk ---------------------------------------------------------
    @unittest.skipUnless(IS_ROOT, "mounting a tmpfs needs root")
    def test_receiver_disk_fills_during_the_backup(self):
        env = self.env
        storage = os.path.join(env.dir, "rxsmall-store")
        os.makedirs(storage)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", storage], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", storage])
        rx = Receiver("small", storage=storage, tmp=os.path.join(env.dir, "rxsmall"))
        os.makedirs(rx.dir)
        self.addCleanup(rx.stop)
        rx.init()
        token_file = os.path.join(env.dir, "small.token")
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, rx.add_client("db1").encode())
        os.close(fd)
        rx.start("--reserve", "0")
        env.mfb("target", "add", "small", "--url", f"https://127.0.0.1:{rx.port}",
                "--token-file", token_file, "--fingerprint", rx.fingerprint, "--chunk-size", "1M")
        self.addCleanup(env.mfb, "target", "remove", "small")
        # The upload is accepted with room for the estimate; then, with the
        # server stopped, something else takes the receiver's disk.
        filler = os.path.join(storage, "filler")
        self.instance("rxfull", control="command",
                      stop_cmd=self.stop_then(f"dd if=/dev/zero of={filler} bs=1M 2>/dev/null"))
        r = env.backup("--target", "small", *FAST_RETRY, expect=1)
        self.assertIn("insufficient_storage", r.stderr)
        job = env.job(r.job_id)
        self.assertEqual(job["status"], "pending_upload", r)
        zip_path = os.path.join(env.spool, f"job-{job['id']}", "Data.zip")
        self.assertTrue(os.path.isfile(zip_path))
        self.assertIn(f"'mfb resume {job['id']}' completes the upload", r.stderr)
        # still full: the resume fails and keeps everything
        env.mfb("resume", str(job["id"]), "--attempts", "1", *FAST_RETRY, expect=1)
        self.assertEqual(env.job(job["id"])["status"], "pending_upload")
        self.assertTrue(os.path.isfile(zip_path))
        os.unlink(filler)
        env.mfb("resume", str(job["id"]), *FAST_RETRY)
        done = env.job(job["id"])
        self.assertEqual(done["status"], "ok")
        self.assertEqual(env.spool_files(), [])
        stored = os.path.join(storage, "db1", "rxfull")
        names = [f for _, _, fs in os.walk(stored) for f in fs]
        self.assertEqual(sorted(n.rsplit(".", 1)[-1] for n in names), ["json", "sha256", "zip"])

    # -- the configuration database's disk ----------------------------------------------
    @unittest.skipUnless(IS_ROOT, "mounting a tmpfs needs root")
    def test_job_log_disk_fills_during_the_backup(self):
        """The job log cannot be written once the server is stopped: the
        backup still completes and says so, and the log line names the fix."""
        env = self.env
        self.instance("logfull", control="command",
                      stop_cmd=self.stop_then("true"))  # replaced below
        mnt = os.path.join(env.dir, "cfgsmall")
        os.makedirs(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        db = os.path.join(mnt, "mfb.db")
        con = sqlite3.connect(env.db_path)
        con.execute("VACUUM INTO ?", (db,))
        con.close()
        os.chmod(db, 0o600)
        filler = os.path.join(mnt, "filler")
        menv = dict(env.env, MFB_DB=db)
        subprocess.run([MFB, "instance", "set", "logfull", "--no-check", "--stop-cmd",
                        self.stop_then(f"dd if=/dev/zero of={filler} bs=64k 2>/dev/null")],
                       env=menv, check=True, capture_output=True)
        p = subprocess.run([MFB, "backup", "logfull", "--progress=none"], env=menv, text=True,
                           capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("backup stored: logfull_", p.stdout)
        self.assertRegex(p.stderr, r"error job id=\d+ note=cannot_write_job_log error=\"cannot "
                                   r".*: the disk is full\" hint=\"free space on the file system "
                                   rf"of '{db}'\"")
        self.assertTrue(any(b["instance"] == "logfull" for b in env.stored_backups()))


if __name__ == "__main__":
    main()
