#!/usr/bin/env python3
"""job_failures.py - every way `mfb backup` can go wrong before or while the
server is stopped, against a real MariaDB and a real mfb-server, and the
promise kept in each: the database runs and answers at the end.

- The spool has no room: refused in the preflight, no downtime.
- The stop command fails, hangs (killed at the stop timeout), or half works
  (it stopped the server but failed): abort, nothing archived, the server
  runs (restarted in the last case) (9.1).
- Archiving fails: the spool's disk fills up while the server is stopped
  (a small tmpfs), a file cannot be read, the archive times out: the server
  is restarted and the failure reported (9.2, 9.5); no partial Data.zip is
  left, and the receiver's upload is abandoned.
- A byte of Data.zip changes on the spool's disk after the archive writer
  wrote it and before the upload read it (the test-only MFB_TEST_SPOOL_FLIP):
  the upload refuses the chunk before its last byte is sent, the job fails
  with one line naming the chunk and its bytes, with the server restarted
  (default policy) or already running (snapshot); nothing is stored, the
  spool is cleaned and the upload abandoned.
- Ctrl-C or SIGTERM during the archive: the same safe path (6.5); a second
  Ctrl-C does not skip the restart.
- Two backups of one instance at once: the second is refused, naming the
  first.
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from jobtestlib import FAST_RETRY, JobTestCase, finish, wait_for_event  # noqa: E402
from mfbtest import IS_ROOT, main  # noqa: E402


class Failures(JobTestCase):
    env_name = "fail"

    # -- helpers -----------------------------------------------------------
    def assert_no_upload_left(self, job):
        status, _ = self.env.rx.json("GET", f"/v1/uploads/{job['upload_id']}", self.env.token())
        self.assertEqual(status, 404, "the upload was not abandoned")

    def assert_failed(self, r, status="failed"):
        self.assertNotEqual(r.returncode, 0, r)
        job = self.env.job(r.job_id)
        self.assertEqual(job["status"], status, r)
        self.assertEqual(r.done["status"], status)
        return job

    def sparse_file(self, size="512M"):
        """Makes the archive take a while (zeros read from a sparse file)."""
        path = os.path.join(self.env.db.datadir, "mfb-test-sparse.bin")
        subprocess.run(["truncate", "-s", size, path], check=True)
        self.addCleanup(os.unlink, path)

    # -- before the stop ----------------------------------------------------
    @unittest.skipUnless(IS_ROOT, "mounting a tmpfs needs root")
    def test_spool_too_small_is_refused_before_the_stop(self):
        spool = self.tmpfs("small", "16m")
        self.instance("small", spool=spool)
        r = self.env.backup(expect=1)
        job = self.assert_failed(r)
        self.assertRegex(r.stderr, rf"mfb: error: the spool '{spool}' has 1[56]\.\d MiB free; the "
                                   r"backup needs about [\d.]+ MiB \([\d.]+ MiB of server files, "
                                   r"plus a margin\)")
        self.assertIn("HINT: free space there, or choose a larger spool", r.stderr)
        self.assertIsNone(job["stop_ms"])
        self.assertIsNone(job["downtime_ms"])
        self.assertIn("the server was not stopped: no downtime", self.env.events(job["id"]))

    # -- the stop -----------------------------------------------------------
    def test_stop_command_fails(self):
        self.instance("stopfails", control="command",
                      stop_cmd="echo 'stopping'; echo 'permission denied' >&2; exit 3")
        r = self.env.backup(expect=1)
        job = self.assert_failed(r)
        self.assertIn("mfb: error: stop command 'echo 'stopping'; echo 'permission denied' >&2; "
                      "exit 3' failed with exit status 3: stopping | permission denied",
                      r.stderr)
        self.assertIn("the server still runs and answers; nothing was archived",
                      self.env.events(job["id"]))
        self.assertIsNone(job["archive_ms"])
        self.assertIsNone(job["downtime_ms"])
        self.assertEqual(self.env.spool_files(), [])
        self.assert_no_upload_left(job)
        self.assert_failure_detail(job["id"], "stop")

    def test_job_log_retention_runs_after_each_job(self):
        """`mfb settings set log_retention_count N`: after the next job only
        the newest N finished jobs are left (7.5); reset restores the default."""
        env = self.env
        self.instance("retention", control="command", stop_cmd="exit 3")
        for _ in range(2):
            env.backup(expect=1)
        self.assertGreaterEqual(env.sql("SELECT COUNT(*) AS n FROM jobs")[0]["n"], 2)
        env.mfb("settings", "set", "log_retention_count", "1")
        self.addCleanup(env.mfb, "settings", "reset", "log_retention_count")
        r = env.backup(expect=1)
        self.assertEqual([j["id"] for j in env.sql("SELECT id FROM jobs WHERE status NOT IN "
                                                  "('pending_upload', 'running')")], [r.job_id])
        self.assertEqual(env.sql("SELECT COUNT(*) AS n FROM job_events WHERE job_id NOT IN "
                                 "(SELECT id FROM jobs)")[0]["n"], 0)
        self.assertEqual(json.loads(env.mfb("logs", "--json", "--status", "failed").stdout)[0]["id"],
                         r.job_id)

    def assert_failure_detail(self, job_id, step):
        """The record of a failed job (7.4): the failing step, the stack of
        the failing thread with mfb's function names, and the system state,
        in `mfb logs show` as text and as JSON."""
        shown = json.loads(self.env.mfb("logs", "show", str(job_id), "--json").stdout)
        self.assertEqual(shown["status"], "failed")
        self.assertEqual(shown["error_step"], step)
        frames = shown["backtrace"]
        self.assertIsInstance(frames, list)
        self.assertIn("(mfb_error_set", frames[0])  # innermost first: where it was set
        self.assertTrue(any("(backup_run+" in f for f in frames), frames)
        self.assertRegex(shown["system_state"],
                         r"^spool_free=\S+ \S+ datadir_free=\S+ \S+ load=[\d.]+/[\d.]+/[\d.]+ "
                         r"mem_available=\S+ \S+ open_fds=\d+$")
        text = self.env.mfb("logs", "show", str(job_id)).stdout
        self.assertIn(f"\n  step:      {step}\n", text)
        self.assertIn("\n  system:    spool_free=", text)
        self.assertRegex(text, r"\n  backtrace: .*\n    \S*\(mfb_error_set\+0x[0-9a-f]+\) ")
        self.assertRegex(text, r"\n    \S*\(backup_run\+0x[0-9a-f]+\) ")

    def test_stop_command_hangs_until_the_timeout(self):
        self.instance("stophangs", control="command", stop_cmd="sleep 60",
                      extra=["--stop-timeout", "1s"])
        r = self.env.backup(expect=1)
        job = self.assert_failed(r)
        self.assertIn("mfb: error: stop command 'sleep 60' did not finish within 1.0s and was "
                      "killed", r.stderr)
        self.assertIsNone(job["archive_ms"])
        self.assertIn("the server still runs and answers; nothing was archived",
                      self.env.events(job["id"]))

    def test_stop_command_half_works(self):
        # It stops the server, then fails: mfb must start it again.
        self.instance("stophalf", control="command", stop_cmd=self.stop_then(after="exit 1"))
        r = self.env.backup(expect=1)
        job = self.assert_failed(r)
        self.assertRegex(r.stderr, r"mfb: error: stop command .* failed with exit status 1")
        ev = self.env.events(job["id"])
        self.assertIn("the stop half-worked: the server is down; starting it again", ev)
        self.assertTrue(any(e.startswith("the server answers again") for e in ev), ev)
        self.assertIsNone(job["archive_ms"])
        self.assertGreater(job["downtime_ms"], 0)

    # -- the archive --------------------------------------------------------
    def tmpfs(self, name, size):
        path = os.path.join(self.env.dir, name)
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", path],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", path])
        return path

    @unittest.skipUnless(IS_ROOT, "mounting a tmpfs needs root")
    def test_spool_fills_up_during_the_archive(self):
        spool = self.tmpfs("full", "140m")
        # The disk fills up once the server is stopped, after the preflight
        # found enough room.
        fill = f"dd if=/dev/zero of={spool}/filler bs=1M 2>/dev/null; true"
        self.instance("diskfull", spool=spool, control="command",
                      stop_cmd=self.stop_then(after=fill))
        r = self.env.backup(expect=1)
        job = self.assert_failed(r)
        self.assertRegex(r.stderr, r"mfb: error: .*No space left on device")
        ev = self.env.events(job["id"])
        self.assertTrue(any(e.startswith("the server answers again") for e in ev), ev)
        self.assertIsNone(job["upload_ms"])
        self.assertEqual(sorted(os.listdir(spool)), [".mfb-diskfull.lock", "filler"])
        self.assert_no_upload_left(job)

    @unittest.skipUnless(IS_ROOT and os.path.exists("/usr/bin/setpriv"),
                         "needs root and setpriv to drop CAP_DAC_OVERRIDE")
    def test_unreadable_file(self):
        path = os.path.join(self.env.db.datadir, "mfb-test-unreadable.bin")
        with open(path, "wb") as f:
            f.write(b"x" * 1000)
        os.chmod(path, 0)
        self.addCleanup(os.unlink, path)
        self.instance("unreadable")
        # Root reads anything; without CAP_DAC_OVERRIDE it is refused like
        # any user would be.
        caps = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps",
                "-all", "--"]
        env = self.env
        p = subprocess.run(caps + [os.environ.get("MFB") or "build/mfb", "backup", "unreadable",
                                   "--progress=json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env.env, text=True,
                           timeout=120)
        from jobtestlib import Result
        r = Result(p, p.stdout, p.stderr)
        job = self.assert_failed(r)
        self.assertIn(f"cannot open '{path}': Permission denied", r.stderr)
        ev = env.events(job["id"])
        self.assertTrue(any(e.startswith("the server answers again") for e in ev), ev)
        self.assertEqual(env.spool_files(), [])

    def test_archive_timeout(self):
        self.instance("archtimeout", extra=["--archive-timeout", "1ms"])
        r = self.env.backup(expect=1)
        job = self.assert_failed(r)
        self.assertIn("mfb: error: the archive did not finish within 1ms", r.stderr)
        self.assertIn("HINT: raise it with 'mfb instance set archtimeout --archive-timeout "
                      "DURATION'", r.stderr)
        self.assertGreater(job["downtime_ms"], 0)
        self.assertEqual(self.env.spool_files(), [])

    # -- the spool's disk ------------------------------------------------------
    def spool_byte_changes(self, name, policy, offset):
        self.instance(name, restart_after=policy)
        p = self.env.spawn_backup(env={"MFB_TEST_SPOOL_FLIP": str(offset)})
        r = finish(p, [])
        job = self.assert_failed(r)
        chunk = offset // (1 << 20)
        first = chunk << 20
        errors = [line for line in r.stderr.splitlines() if line.startswith("mfb: error:")]
        self.assertEqual(len(errors), 1, r)
        self.assertRegex(errors[0], rf"^mfb: error: '[^']*/Data\.zip' changed on the disk after "
                                    rf"it was written: chunk {chunk} \(bytes {first}-\d+\) read "
                                    rf"back does not match the digest taken as it was written$")
        self.assertIn("HINT: nothing of it was stored; check the spool's disk", r.stderr)
        self.assertEqual(job["error_step"], "upload")
        self.assertEqual(self.env.spool_files(), [])
        self.assert_no_upload_left(job)
        self.assertNotIn(name, [b.get("instance") for b in self.env.stored_backups()])

    def test_spool_byte_changes_before_the_upload(self):
        self.spool_byte_changes("flipped", "upload", 100)

    def test_spool_byte_changes_before_the_upload_from_a_snapshot(self):
        self.spool_byte_changes("flippedsnap", "snapshot", (1 << 20) + 4321)

    # -- cancel ---------------------------------------------------------------
    def cancel_during_archive(self, signals):
        self.sparse_file()
        p = self.env.spawn_backup()
        lines = wait_for_event(p, lambda e: e["event"] == "step" and e["step"] == "archive")
        p.send_signal(signals[0])
        if len(signals) > 1:
            # the second one while the server is being started again (the
            # restart can take less than a fixed sleep: wait for its step)
            lines += wait_for_event(p, lambda e: e["event"] == "step" and e["step"] == "start")
            for sig in signals[1:]:
                p.send_signal(sig)
        r = finish(p, lines)
        job = self.assert_failed(r, "cancelled")
        self.assertIn("mfb: error: backup cancelled; the server runs again", r.stderr)
        ev = self.env.events(job["id"])
        self.assertTrue(any(e.startswith("the server answers again") for e in ev), ev)
        self.assertEqual(self.env.spool_files(), [])
        self.assert_no_upload_left(job)
        return r

    def test_ctrl_c_during_the_archive_twice(self):
        self.instance("cancel2")
        r = self.cancel_during_archive([signal.SIGINT, signal.SIGINT])
        self.assertIn("note=cancelling_already:_the_server_is_being_restarted", r.stderr)

    def test_sigterm_during_the_archive(self):
        self.instance("cancelterm")
        self.cancel_during_archive([signal.SIGTERM])

    # -- the lock -------------------------------------------------------------
    def test_two_backups_of_one_instance(self):
        self.instance("locked", control="command",
                      stop_cmd="sleep 2; " + self.stop_then())
        first = self.env.spawn_backup()
        lines = wait_for_event(first, lambda e: e["event"] == "step" and e["step"] == "stop")
        job_id = next(e["job_id"] for e in map(__import__("json").loads, lines[:1]))
        second = self.env.backup(expect=1)
        self.assertIn(f"mfb: error: instance 'locked' is busy: backup job {job_id} (pid "
                      f"{first.pid}) is running", second.stderr)
        self.assertIn("HINT: two jobs of one instance never run at once", second.stderr)
        r = finish(first, lines)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(self.env.job(job_id)["status"], "ok")


if __name__ == "__main__":
    main()
