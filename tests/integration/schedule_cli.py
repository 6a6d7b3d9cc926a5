"""schedule_cli.py - drives the real `mfb` binary through `mfb schedule`
add/list/show/set/pause/resume/remove without any server (instances and
targets are added with --no-check): every refusal with its exact message,
the JSON shapes, the next three run times of a fixed expression in a fixed
zone (computed here with zoneinfo), and the refusal to remove an instance
or a target that a schedule uses (docs/schedules.md).
"""

import datetime
import json
import os
import sys
import unittest
import zoneinfo

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402

TOKEN = "c0ffee" * 10 + "beef"
FINGERPRINT = ":".join(["5A"] * 32)


def next_local(hour, minute, zone, count=3):
    """The next `count` times hour:minute local in zone after now, as ISO 8601."""
    tz = zoneinfo.ZoneInfo(zone)
    now = datetime.datetime.now(tz)
    day = now.date()
    out = []
    while len(out) < count:
        t = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if t > now:
            out.append(t.isoformat())
        day += datetime.timedelta(days=1)
    return out


class ScheduleCli(mfbtest.TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.path("mfb.db")
        self.env = dict(mfbtest.UTF8_ENV, MFB_DB=self.db)
        pw = self.path("pw")
        tok = self.path("tok")
        for p, text in ((pw, "pw\n"), (tok, TOKEN + "\n")):
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o600)
        self.mfb("init")
        self.mfb("instance", "add", "prod", "--socket", "/run/mysqld/mysqld.sock", "--user",
                 "backup", "--password-file", pw, "--datadir", "/var/lib/mysql", "--spool",
                 self.path(), "--control", "systemd:mariadb.service", "--no-check")
        for name in ("offsite", "second"):
            self.mfb("target", "add", name, "--url", "https://backup.example:8443",
                     "--token-file", tok, "--fingerprint", FINGERPRINT, "--no-check")

    def mfb(self, *args, expect=0):
        return mfbtest.run([mfbtest.MFB, *map(str, args)], expect=expect, env=self.env)

    def assert_error(self, args, message, hint, code=1):
        r = self.mfb(*args, expect=code)
        self.assertEqual(r.stderr, "mfb: error: %s\nHINT: %s\n" % (message, hint))
        self.assertEqual(r.stdout, "")

    def show(self, name):
        return json.loads(self.mfb("schedule", "show", name, "--json").stdout)

    def test_add_prints_the_next_three_runs_in_the_zone(self):
        before = next_local(3, 0, "Europe/Berlin")
        r = self.mfb("schedule", "add", "nightly", "--instance", "prod", "--cron", "0 3 * * *",
                     "--tz", "Europe/Berlin")
        after = next_local(3, 0, "Europe/Berlin")
        lines = r.stdout.strip().split("\n")
        self.assertEqual(lines[0], "added schedule 'nightly'")
        runs = [l[len("next run: "):] for l in lines[1:]]
        self.assertIn(runs, (before, after))
        self.assertEqual(self.show("nightly")["tz"], "Europe/Berlin")
        # UTC by default, "+00:00"
        r = self.mfb("schedule", "add", "utc", "--instance", "prod", "--cron", "30 4 * * *")
        expected = next_local(4, 30, "UTC")
        runs = [l[len("next run: "):] for l in r.stdout.strip().split("\n")[1:]]
        self.assertIn(runs, (expected, next_local(4, 30, "UTC")))
        self.assertTrue(runs[0].endswith("T04:30:00+00:00"))

    def test_crud_and_json_shapes(self):
        self.mfb("schedule", "add", "nightly", "--instance", "prod", "--target", "offsite",
                 "--cron", "0 3 * * *", "--tz", "America/New_York", "--jitter", "5m",
                 "--catch-up", "skip")
        s = self.show("nightly")
        self.assertEqual(sorted(s), sorted([
            "name", "instance", "target", "kind", "cron", "tz", "catch_up", "jitter_ms",
            "paused", "next_runs", "last_run", "created", "updated"]))
        self.assertEqual((s["name"], s["instance"], s["target"], s["kind"], s["cron"], s["tz"],
                          s["catch_up"], s["jitter_ms"], s["paused"], s["last_run"]),
                         ("nightly", "prod", "offsite", "backup", "0 3 * * *",
                          "America/New_York", "skip", 300000, False, None))
        self.assertEqual(len(s["next_runs"]), 3)

        # set keeps what is not given; '' for the target means the only one
        r = self.mfb("schedule", "set", "nightly", "--cron", "@daily", "--target", "")
        self.assertTrue(r.stdout.startswith("updated schedule 'nightly'\nnext run: "))
        s = self.show("nightly")
        self.assertEqual((s["cron"], s["target"], s["tz"], s["catch_up"], s["jitter_ms"]),
                         ("@daily", None, "America/New_York", "skip", 300000))

        self.assertEqual(self.mfb("schedule", "pause", "nightly").stdout,
                         "paused schedule 'nightly'\n")
        self.assertTrue(self.show("nightly")["paused"])
        self.assertEqual(self.mfb("schedule", "resume", "nightly").stdout,
                         "resumed schedule 'nightly'\n")
        self.assertFalse(self.show("nightly")["paused"])

        listed = json.loads(self.mfb("schedule", "list", "--json").stdout)
        self.assertEqual([x["name"] for x in listed], ["nightly"])
        self.assertEqual(listed[0], self.show("nightly"))
        text = self.mfb("schedule", "list").stdout.split("\n")
        self.assertEqual(text[0].split(), ["NAME", "INSTANCE", "TARGET", "CRON", "TZ", "PAUSED",
                                           "NEXT", "RUNS", "LAST", "RUN"])
        self.assertTrue(text[1].startswith("nightly "))
        self.assertTrue(text[1].endswith("none yet"))
        show = self.mfb("schedule", "show", "nightly").stdout
        self.assertIn("\ntarget: (the only one)\n", show)
        self.assertIn("\nlast run: none yet\n", show)

        self.assertEqual(self.mfb("schedule", "remove", "nightly").stdout,
                         "removed schedule 'nightly'\n")
        self.assertEqual(self.mfb("schedule", "list").stdout,
                         "no schedules; add one with 'mfb schedule add NAME ...'\n")
        self.assertEqual(self.mfb("schedule", "list", "--json").stdout.strip(), "[]")

    def test_refusals(self):
        add = ["schedule", "add", "x", "--instance", "prod", "--cron"]
        self.assert_error(["schedule", "add", "x", "--instance", "ghost", "--cron", "0 3 * * *"],
                          "no instance named 'ghost'",
                          "'mfb instance list' shows the configured instances")
        self.assert_error(add + ["0 3 * * *", "--target", "nowhere"],
                          "no target named 'nowhere'",
                          "'mfb target list' shows the configured targets")
        self.assert_error(add + ["61 * * * *"],
                          "cron expression '61 * * * *': minute 61 is out of range 0-59",
                          "the fields are MIN HOUR DOM MON DOW, e.g. '30 2 * * 1-5'; see "
                          "docs/schedules.md")
        self.assert_error(add + ["0 3 * * *", "--tz", "Mars/Olympus"],
                          "unknown time zone 'Mars/Olympus'",
                          "use an IANA zone name such as 'Europe/Berlin' (see "
                          "/usr/share/zoneinfo, package tzdata), 'UTC' or 'local'")
        self.assert_error(["schedule", "add", "x", "--cron", "0 3 * * *"], "no instance given",
                          "pass --instance NAME ('mfb instance list' shows them)", code=2)
        self.assert_error(["schedule", "add", "x", "--instance", "prod"],
                          "no cron expression given",
                          "pass --cron 'MIN HOUR DOM MON DOW', for example --cron '0 3 * * *'",
                          code=2)
        self.assert_error(add + ["0 3 * * *", "--catch-up", "all"], "unknown catch-up 'all'",
                          "use 'once' or 'skip'", code=2)
        self.mfb(*add, "0 3 * * *")
        self.assert_error(add + ["0 3 * * *"], "schedule 'x' already exists",
                          "change it with 'mfb schedule set x ...', or choose another name")
        for verb in ("show", "remove", "pause", "resume"):
            self.assert_error(["schedule", verb, "zzz"], "no schedule named 'zzz'",
                              "'mfb schedule list' shows the configured schedules")
        # a refused set changes nothing
        self.mfb("schedule", "set", "x", "--tz", "Nowhere/Land", expect=1)
        self.assertEqual(self.show("x")["tz"], "UTC")

    def test_removing_a_used_instance_or_target_is_refused(self):
        self.mfb("schedule", "add", "nightly", "--instance", "prod", "--target", "second",
                 "--cron", "0 3 * * *")
        self.assert_error(["instance", "remove", "prod"],
                          "instance 'prod' is used by schedule 'nightly'",
                          "remove the schedule first ('mfb schedule remove nightly'), or give "
                          "it another instance ('mfb schedule set nightly --instance NAME')")
        self.assert_error(["target", "remove", "second"],
                          "target 'second' is used by schedule 'nightly'",
                          "remove the schedule first ('mfb schedule remove nightly'), or give "
                          "it another target ('mfb schedule set nightly --target NAME')")
        # moved to the only target (none named): "offsite" may go, the last may not
        self.mfb("schedule", "set", "nightly", "--target", "")
        self.mfb("target", "remove", "offsite")
        self.assert_error(["target", "remove", "second"],
                          "target 'second' is used by schedule 'nightly'",
                          "remove the schedule first ('mfb schedule remove nightly'), or give "
                          "it another target ('mfb schedule set nightly --target NAME')")
        self.mfb("schedule", "remove", "nightly")
        self.mfb("target", "remove", "second")
        self.mfb("instance", "remove", "prod")


if __name__ == "__main__":
    mfbtest.main()
