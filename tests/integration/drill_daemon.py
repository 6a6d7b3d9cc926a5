"""drill_daemon.py - restore drills through the daemon (docs/drill.md,
docs/daemon.md), with a real MariaDB and a real receiver:
- `mfb run INSTANCE --kind drill --wait` queues a drill of the latest
  backup, which ends ok as a job of kind drill;
- a schedule of kind drill missed while the daemon was down catches up
  once as a drill;
- a backup and a drill of one instance wait side by side (one entry per
  kind) and never run at the same time; with `--max-drills 1` drills of two
  instances run one after the other although two workers are free.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_run  # noqa: E402
from jobtestlib import MFB, JobTestCase  # noqa: E402
from mfbtest import main  # noqa: E402


class DrillDaemon(JobTestCase):
    env_name = "drill-daemon"

    jobs = daemon_run.Daemon.jobs
    wait_entry = daemon_run.Daemon.wait_entry
    stop_daemon = daemon_run.Daemon.stop_daemon

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.add_instance(name="one")
        cls.env.add_instance(name="two")
        for name in ("one", "two"):
            cls.env.mfb("backup", name)

    def start_daemon(self, *extra):
        self.daemon = subprocess.Popen([MFB, "daemon", "--no-alerts", *extra],
                                       stderr=subprocess.PIPE, env=self.env.env, text=True)
        self.addCleanup(self.stop_daemon)
        deadline = time.monotonic() + 30
        while self.env.mfb("daemon", "status", expect=None).returncode != 0:
            self.assertIsNone(self.daemon.poll(), "the daemon exited")
            self.assertLess(time.monotonic(), deadline, "the daemon does not answer")
            time.sleep(0.05)

    def assert_apart(self, a, b):
        """Jobs a and b (rows) did not run at the same time."""
        self.assertTrue(a["ended"] <= b["started"] or b["ended"] <= a["started"], (a, b))

    def test_run_kind_drill(self):
        self.start_daemon()
        r = self.env.mfb("run", "one", "--kind", "drill", "--wait", timeout=300)
        self.assertIn("one drill queued", r.stdout)
        self.assertIn(" ok", r.stdout)
        q = self.env.sql("SELECT * FROM queue ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual((q["kind"], q["state"]), ("drill", "done"))
        job = self.env.job(q["job_id"])
        self.assertEqual((job["kind"], job["status"], job["instance"]), ("drill", "ok", "one"))
        stored = self.env.stored_backups()
        latest = next(b for b in stored if b["instance"] == "one")
        self.assertEqual(latest["verification"]["result"], "passed")

    def test_schedule_kind_drill_catches_up(self):
        self.env.mfb("schedule", "add", "proof", "--instance", "two", "--cron", "0 3 * * *",
                     "--kind", "drill")
        self.assertIn("kind: drill", self.env.mfb("schedule", "show", "proof").stdout)
        con = sqlite3.connect(self.env.db_path)
        with con:
            t = int(time.time()) - 2 * 86400
            con.execute("UPDATE schedules SET created = ?, updated = ? WHERE name = 'proof'",
                        (t, t))
        con.close()
        self.start_daemon()
        deadline = time.monotonic() + 30
        while not [j for j in self.jobs() if j["trigger"] == "catch-up"]:
            self.assertLess(time.monotonic(), deadline, "no catch-up entry")
            time.sleep(0.1)
        e = [j for j in self.jobs() if j["trigger"] == "catch-up"][0]
        e = self.wait_entry(e["id"], lambda e: e["state"] == "done", timeout=300)
        self.assertEqual((e["instance"], e["kind"], e["status"]), ("two", "drill", "ok"), e)
        self.env.mfb("schedule", "pause", "proof")

    def test_never_beside_a_backup_and_max_drills(self):
        # queued before the daemon runs: all wait, then the workers take them
        self.start_daemon("--workers", "2", "--max-drills", "1")
        os.kill(self.daemon.pid, signal.SIGSTOP)  # nothing is taken while we queue
        try:
            ids = []
            for inst, kind in (("one", "drill"), ("one", "backup"), ("two", "drill")):
                p = subprocess.Popen([MFB, "run", inst, "--kind", kind], env=self.env.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                ids.append(p)
        finally:
            os.kill(self.daemon.pid, signal.SIGCONT)
        qids = []
        for p in ids:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn("queued", out)
            qids.append(int(out.split()[1].rstrip(":")))
        self.assertEqual(len(set(qids)), 3)  # one entry per instance and kind
        done = [self.wait_entry(q, lambda e: e["state"] == "done", timeout=300) for q in qids]
        for e in done:
            self.assertEqual(e["status"], "ok", e)
        jobs = [self.env.job(e["job_id"]) for e in done]
        self.assertEqual([j["kind"] for j in jobs], ["drill", "backup", "drill"])
        self.assert_apart(jobs[0], jobs[1])  # one instance: never at once
        self.assert_apart(jobs[0], jobs[2])  # --max-drills 1


if __name__ == "__main__":
    main()
