#!/usr/bin/env python3
"""job_guardian.py - `mfb backup` killed (kill -9) while the database server
is down, against a real MariaDB and a real mfb-server over TLS: the backup's
guardian (docs/backup.md, "The guardian") starts the server again, records
what it did in the job log, and is gone afterwards.

- kill -9 in the archive step: the server answers again, the job is
  failed with the guardian's account, the partial Data.zip is removed.
- kill -9 in the upload step (restart after the upload), Data.zip sealed:
  the same, and the job is pending_upload; `mfb resume` completes it.
- kill -9 where the guardian's start fails: the job is critical, with the
  recovery steps, and the critical alert is sent.
- kill -9 once the server runs again (restart after the archive, no
  guardian any more): `mfb logs` never shows the dead job as running, and
  its sealed Data.zip becomes pending_upload for `mfb resume`.
- A normal backup leaves no guardian behind.

The kill lands in a given step without a race: the test-only
MFB_TEST_PAUSE_AT stops the job once a step has begun (docs/testing.md), or
the stop command freezes the receiver (SIGSTOP) so the upload waits.
"""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from jobtestlib import FAST_RETRY, JobTestCase, finish, step_begins, wait_for_event  # noqa: E402
from mfbtest import main  # noqa: E402

KILLED = re.compile(r"mfb was killed during (\w+); the guardian restarted the server "
                    r"\(downtime [0-9.]+m?s\)")


class Guardian(JobTestCase):
    env_name = "guardian"

    def kill_at(self, step, *, pause=True, extra=()):
        """Starts a backup, kills it (SIGKILL) once `step` has begun, and
        returns the job's row once the guardian (if any) has recorded it."""
        env = self.env
        p = env.spawn_backup(*extra, env={"MFB_TEST_PAUSE_AT": step} if pause else None)
        lines = wait_for_event(p, step_begins(step))
        job_id = next(json.loads(x)["job_id"] for x in lines if '"job_id"' in x)
        return p, lines, job_id

    def killed(self, p, lines, job_id):
        p.kill()
        finish(p, lines)  # its stderr ends when the guardian, which shares it, exits
        return self.env.wait_job_ended(job_id)

    def test_kill_during_the_archive(self):
        env = self.env
        self.instance("killarchive")
        p, lines, job_id = self.kill_at("archive")
        self.assertEqual(len(env.guardians()), 1)  # started before the stop
        job = self.killed(p, lines, job_id)
        env.assert_running()
        env.assert_no_guardian()
        self.assertEqual(job["status"], "failed", job)
        m = KILLED.fullmatch(job["error"])
        self.assertTrue(m, job["error"])
        self.assertEqual(m.group(1), "archive")
        self.assertIn("then run the backup again ('mfb backup killarchive')", job["hint"])
        self.assertGreaterEqual(job["downtime_ms"], 0)
        events = env.events(job_id)
        self.assertTrue(any(e.startswith("mfb was killed during archive while the server was "
                                         "down; its guardian (pid ") for e in events), events)
        self.assertTrue(any(e.startswith("the server answers again") for e in events), events)
        self.assertEqual(env.spool_files(), [])  # the partial Data.zip is gone
        # The job log never shows it running, and the next backup works.
        logs = json.loads(env.mfb("logs", "--json").stdout)
        self.assertEqual(next(j for j in logs if j["id"] == job_id)["status"], "failed")
        env.backup()
        env.assert_no_guardian()

    def test_kill_during_the_upload_with_data_zip_sealed(self):
        env = self.env
        self.instance("killupload", control="command",
                      stop_cmd=self.stop_then(self.freeze_receiver()))
        p, lines, job_id = self.kill_at("upload", pause=False, extra=("--stall-timeout", "60s"))
        job = self.killed(p, lines, job_id)
        env.assert_running()
        env.assert_no_guardian()
        self.thaw_receiver()
        self.assertEqual(job["status"], "pending_upload", job)
        m = KILLED.fullmatch(job["error"])
        self.assertTrue(m, job["error"])
        self.assertEqual(m.group(1), "upload")
        zip_path = os.path.join(env.spool, f"job-{job_id}", "Data.zip")
        self.assertEqual(job["hint"], f"Data.zip was sealed before and is kept at {zip_path}; "
                                      f"'mfb resume {job_id}' completes the upload")
        self.assertEqual(env.spool_files(), [f"job-{job_id}/Data.zip"])
        env.mfb("resume", str(job_id), *FAST_RETRY)
        done = env.job(job_id)
        self.assertEqual(done["status"], "ok")
        self.assertIn(done["backup_id"], [b["backup_id"] for b in env.stored_backups()])
        self.assertEqual(env.spool_files(), [])

    def test_guardian_start_fails(self):
        env = self.env
        out = os.path.join(env.dir, "guardian-alert.txt")
        env.mfb("alert", "add", "guardcmd", "--command",
                f"env | grep ^MFB_ >> {out}; echo '---' >> {out}")
        # A start command that runs and fails: the server refuses an option.
        broken = f"mariadbd --defaults-file={env.db.server_cnf} --no-such-option-mfb=1"
        self.instance("killbroken", start_cmd=broken)
        try:
            p, lines, job_id = self.kill_at("archive")
            job = self.killed(p, lines, job_id)
            env.assert_no_guardian()
            self.assertFalse(env.db.is_running())
            self.assertEqual(job["status"], "critical", job)
            self.assertTrue(job["error"].startswith(
                "mfb was killed during archive, and the guardian could not start the server "
                f"again: start command '{broken}' failed with exit status "), job["error"])
            datadir = env.db.datadir
            self.assertEqual(job["hint"], f"follow the recovery steps in 'mfb logs show "
                                          f"{job_id}' (also sent to the alert channels); the "
                                          f"data directory is {datadir}")
            events = "\n".join(env.events(job_id))
            self.assertIn("MySQL instance 'killbroken' did not start again after its backup: "
                          "the database server is DOWN.", events)
            self.assertIn(f"run the start command by hand and read what it prints: {broken}",
                          events)
            with open(out) as f:
                alert = f.read()
            self.assertIn("MFB_ALERT_SEVERITY=critical\n", alert)
            self.assertIn("MFB_JOB_STATUS=critical\n", alert)
            self.assertIn(f"MFB_JOB_ID={job_id}\n", alert)
            self.assertEqual(env.spool_files(), [])  # the partial Data.zip is gone
        finally:
            env.mfb("alert", "remove", "guardcmd")
            if not env.db.is_running():
                env.db.start()  # what the operator would do

    def test_kill_after_the_restart_without_guardian(self):
        """--restart-after archive: the server runs again and the guardian has
        left when the upload begins; a kill -9 then leaves the job to the
        orphan check, which keeps the sealed Data.zip for `mfb resume`."""
        env = self.env
        self.instance("killlate", restart_after="archive", control="command",
                      stop_cmd=self.stop_then(self.freeze_receiver()))
        p, lines, job_id = self.kill_at("upload", pause=False, extra=("--stall-timeout", "60s"))
        env.assert_no_guardian()
        p.kill()
        finish(p, lines)
        self.thaw_receiver()
        logs = json.loads(env.mfb("logs", "--json").stdout)
        job = next(j for j in logs if j["id"] == job_id)
        self.assertEqual(job["status"], "pending_upload", job)
        self.assertEqual(env.spool_files(), [f"job-{job_id}/Data.zip"])
        env.mfb("resume", *FAST_RETRY)
        self.assertEqual(env.job(job_id)["status"], "ok")
        self.assertEqual(env.spool_files(), [])

    def test_normal_backup_leaves_no_guardian(self):
        env = self.env
        self.instance("normal")
        r = env.backup()
        self.assertEqual(env.job(r.job_id)["status"], "ok")
        self.assertEqual(env.guardians(), [])


if __name__ == "__main__":
    main()
