"""expect_daemon.py - the daemon's silence alarms (docs/monitoring.md) with
a real MariaDB, a real receiver and the real daemon: an instance whose
schedule is paused gets no backup past its --expect-every, the daemon sends
a critical alert through the command channel, then a good backup brings
the recovery notice; an instance still within its expectation gets
nothing; `instance show` and `--json` show the expectation. Likewise
--expect-drill-every: no drill ever, the drill_overdue alarm; a drill
through the daemon's queue, its recovery notice.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from jobtestlib import JobTestCase  # noqa: E402
from metricstestlib import Daemon  # noqa: E402
from mfbtest import main  # noqa: E402


class Expectations(JobTestCase):
    env_name = "expect"

    def alerts(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_alert(self, event, instance, timeout=90):
        deadline = time.monotonic() + timeout
        while True:
            found = [a for a in self.alerts() if a["event"] == event and
                     a["instance"] == instance]
            if found:
                return found[0]
            self.assertLess(time.monotonic(), deadline,
                            f"no {event} alert for {instance}: {self.alerts()}")
            time.sleep(0.1)

    def test_paused_schedule_alarm_then_recovery(self):
        self.out = os.path.join(self.env.dir, "alerts.jsonl")
        self.env.mfb("alert", "add", "sink", "--command",
                     f"printf '%s\\n' \"$MFB_ALERT_JSON\" >> {self.out}",
                     "--min-severity", "critical")
        self.instance("calm")
        self.env.mfb("instance", "set", "calm", "--expect-every", "1h", "--no-check")
        self.instance("prod")
        self.env.mfb("schedule", "add", "nightly", "--instance", "prod", "--cron", "0 3 * * *")
        self.env.mfb("schedule", "pause", "nightly")
        self.env.backup()
        self.env.mfb("instance", "set", "prod", "--expect-every", "5s", "--no-check")
        show = json.loads(self.env.mfb("instance", "show", "prod", "--json").stdout)
        self.assertEqual((show["expect_every_ms"], show["expect_drill_every_ms"]), (5000, None))
        self.assertIn("expect a good backup every: 5.0s",
                      self.env.mfb("instance", "show", "prod").stdout)

        daemon = Daemon(self.env)
        self.addCleanup(daemon.stop)
        alarm = self.wait_alert("backup_overdue", "prod")
        self.assertEqual(alarm["severity"], "critical")
        self.assertIn("no good backup of prod for", alarm["subject"])
        self.assertIn("(expected every 5.0s)", alarm["subject"])
        self.assertIn("mfb schedule list", alarm["text"])
        self.assertIn("Its last good backup ended at", alarm["text"])
        self.assertEqual([a for a in self.alerts() if a["instance"] == "calm"], [])

        # a good backup: the recovery notice, at info, to the channel that
        # takes only critical alerts (it goes where the alarm went)
        self.env.mfb("run", "prod", "--wait", timeout=180)
        recovery = self.wait_alert("backup_overdue_resolved", "prod")
        self.assertEqual(recovery["severity"], "info")
        self.assertIn("has a good backup again", recovery["subject"])
        err = daemon.stop()
        self.assertIn("expect-overdue instance=prod what=backup", err)
        self.assertIn("expect-recovered instance=prod what=backup", err)
        # the alarm's state is gone with it
        self.assertEqual(self.env.sql("SELECT * FROM expect_alarms WHERE instance = 'prod'"), [])

    def test_drill_expectation_alarm_then_recovery(self):
        """--expect-drill-every: an instance whose backups were never proven
        by a drill gets drill_overdue past it; a drill through the daemon's
        queue brings the recovery notice."""
        self.out = os.path.join(self.env.dir, "drill-alerts.jsonl")
        self.env.mfb("alert", "add", "drillsink", "--command",
                     f"printf '%s\\n' \"$MFB_ALERT_JSON\" >> {self.out}",
                     "--min-severity", "critical")
        self.instance("proven")
        self.env.backup()
        self.env.mfb("instance", "set", "proven", "--expect-drill-every", "5s", "--no-check")
        show = json.loads(self.env.mfb("instance", "show", "proven", "--json").stdout)
        self.assertEqual((show["expect_every_ms"], show["expect_drill_every_ms"]), (None, 5000))

        daemon = Daemon(self.env)
        self.addCleanup(daemon.stop)
        alarm = self.wait_alert("drill_overdue", "proven")
        self.assertEqual(alarm["severity"], "critical")
        self.assertIn("no good drill of proven for", alarm["subject"])
        self.assertIn("(expected every 5.0s)", alarm["subject"])
        self.assertIn("It has never had a good drill", alarm["text"])
        self.assertIn("--expect-drill-every", alarm["text"])
        self.assertEqual([a for a in self.alerts() if a["event"] == "backup_overdue"], [])

        r = self.env.mfb("run", "proven", "--kind", "drill", "--wait", timeout=300)
        self.assertIn(" ok", r.stdout)
        recovery = self.wait_alert("drill_overdue_resolved", "proven")
        self.assertEqual(recovery["severity"], "info")
        self.assertIn("has a good drill again", recovery["subject"])
        err = daemon.stop()
        self.assertIn("expect-overdue instance=proven what=drill", err)
        self.assertIn("expect-recovered instance=proven what=drill", err)
        self.assertEqual(self.env.sql("SELECT * FROM expect_alarms WHERE instance = 'proven'"),
                         [])


if __name__ == "__main__":
    main()
