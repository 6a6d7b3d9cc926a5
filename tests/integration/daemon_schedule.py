"""daemon_schedule.py - the daemon fires the stored schedules
(docs/daemon.md, "Schedules"), with a real MariaDB and a real receiver: an
every-minute schedule queues a `schedule:NAME` job that ends ok, and at
start runs missed while the daemon was down give one `catch-up` entry
with `--catch-up once` and none with `skip`.
"""

import os
import sqlite3
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_run  # noqa: E402
from jobtestlib import JobTestCase  # noqa: E402
from mfbtest import main  # noqa: E402


class DaemonSchedule(JobTestCase):
    env_name = "daemon-schedule"

    # the daemon helpers of daemon_run.py (not its tests)
    start_daemon = daemon_run.Daemon.start_daemon
    stop_daemon = daemon_run.Daemon.stop_daemon
    jobs = daemon_run.Daemon.jobs
    wait_entry = daemon_run.Daemon.wait_entry

    def entries(self, trigger):
        return [j for j in self.jobs() if j["trigger"] == trigger]

    def backdate(self, name, seconds):
        """Makes schedule `name` look created `seconds` ago, as if the daemon
        had been down since."""
        con = sqlite3.connect(self.env.db_path)
        with con:
            t = int(time.time()) - seconds
            con.execute("UPDATE schedules SET created = ?, updated = ? WHERE name = ?",
                        (t, t, name))
        con.close()

    def test_every_minute_fires_a_scheduled_job(self):
        self.instance("minutely")
        self.env.mfb("schedule", "add", "each", "--instance", "minutely", "--cron", "* * * * *")
        self.start_daemon()
        deadline = time.monotonic() + 70
        while not self.entries("schedule:each"):
            self.assertLess(time.monotonic(), deadline, "no entry within 70 s")
            time.sleep(0.2)
        e = self.entries("schedule:each")[0]
        e = self.wait_entry(e["id"], lambda e: e["state"] == "done", timeout=180)
        self.assertEqual(e["status"], "ok", e)
        self.assertEqual(e["instance"], "minutely")
        # `mfb schedule list` learns the run from the schedule's last job
        s = self.env.sql("SELECT last_run_job_id FROM schedules WHERE name = 'each'")[0]
        self.assertEqual(s["last_run_job_id"], e["job_id"])
        self.env.mfb("schedule", "pause", "each")

    def test_missed_runs_catch_up_once_or_skip(self):
        self.instance("late")
        self.instance("lazy")
        self.env.mfb("schedule", "add", "late", "--instance", "late", "--cron", "0 3 * * *",
                     "--catch-up", "once")
        self.env.mfb("schedule", "add", "lazy", "--instance", "lazy", "--cron", "0 3 * * *",
                     "--catch-up", "skip")
        # down for three days: three 03:00 runs missed by each
        self.backdate("late", 3 * 86400)
        self.backdate("lazy", 3 * 86400)
        self.start_daemon()
        deadline = time.monotonic() + 30
        while not self.entries("catch-up"):
            self.assertLess(time.monotonic(), deadline, "no catch-up entry")
            time.sleep(0.1)
        e = self.wait_entry(self.entries("catch-up")[0]["id"], lambda e: e["state"] == "done",
                            timeout=180)
        self.assertEqual((e["instance"], e["status"]), ("late", "ok"), e)
        # the catch-up's job is the schedule's last run, as an on-time run's
        s = self.env.sql("SELECT last_run_job_id FROM schedules WHERE name = 'late'")[0]
        self.assertEqual(s["last_run_job_id"], e["job_id"])
        # one entry for the three runs; none for the skipping schedule
        q = self.env.sql("SELECT instance, trigger FROM queue WHERE instance IN ('late', 'lazy')")
        self.assertEqual(q, [{"instance": "late", "trigger": "catch-up"}])
        # a restart does not catch the same runs up again
        self.stop_daemon()
        self.start_daemon()
        self.env.mfb("daemon", "status")
        q = self.env.sql("SELECT instance, trigger FROM queue WHERE instance IN ('late', 'lazy')")
        self.assertEqual(len(q), 1, q)
        self.env.mfb("schedule", "pause", "late")
        self.env.mfb("schedule", "pause", "lazy")


if __name__ == "__main__":
    main()
