"""logs_cli.py - drives the real `mfb logs`, `mfb logs show` and `mfb report`
over a configuration database made by `mfb init`, whose jobs and events are
written with Python's sqlite3 (the schema is the contract; a real backup job
needs a MariaDB server and is covered by job_backup.py). Checks the filters
(--status, --instance, --since, --until, --search over FTS5), the --json
shapes, `logs show` with its events, the report's numbers in --json and
its --csv header, and one-line errors for bad options.
"""

import csv
import io
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402

DAY = 86400000


class LogsCli(mfbtest.TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.path("mfb.db")
        self.env = dict(mfbtest.UTF8_ENV, MFB_DB=self.db)
        self.mfb("init")
        self.now = int(time.time() * 1000)
        self.ids = {}
        # name: instance, status, started (days ago), duration, downtime, size, error, step
        rows = [
            ("a_ok_old", "alpha", "ok", 20, 4000, 1000, 1000, None, None),
            ("a_fail", "alpha", "failed", 10, 2000, -1, 0, "disk full on target", "upload"),
            ("a_ok_new", "alpha", "ok", 2, 6000, 3000, 1600, None, None),
            ("b_pending", "beta", "pending_upload", 1, 1000, 500, 0, "connection refused",
             "upload"),
            ("b_ancient", "beta", "ok", 60, 1000, 100, 10, None, None),
        ]
        con = sqlite3.connect(self.db)
        try:
            for name, inst, status, ago, dur, down, size, error, step in rows:
                started = self.now - ago * DAY
                cur = con.execute(
                    "INSERT INTO jobs (instance, target, kind, status, pid, started, ended, "
                    "stop_ms, upload_ms, downtime_ms, bytes_in, bytes_out, backup_name, error) "
                    "VALUES (?, 'box', 'backup', ?, 1, ?, ?, 12, 345, ?, ?, ?, ?, ?)",
                    (inst, status, started, started + dur, None if down < 0 else down,
                     size * 2, size, name if status == "ok" else None, error))
                jid = cur.lastrowid
                self.ids[name] = jid
                con.execute("INSERT INTO job_events (job_id, time, level, step, message) "
                            "VALUES (?, ?, 'info', 'preflight', ?)",
                            (jid, started + 1, "checked instance " + inst))
                if error:
                    con.execute("INSERT INTO job_events (job_id, time, level, step, message) "
                                "VALUES (?, ?, 'error', ?, ?)", (jid, started + 2, step, error))
            # a job whose server did not come back, with the detail a real
            # failure records: its step, the failing thread's stack, the
            # system state (no error event: the step comes from the column)
            started = self.now - 3 * DAY
            cur = con.execute(
                "INSERT INTO jobs (instance, kind, status, pid, started, ended, downtime_ms, "
                "error, hint, error_step, backtrace, system_state) VALUES ('gamma', 'backup', "
                "'critical', 1, ?, ?, 9000, 'the server did not start again', "
                "'follow the recovery steps', 'start', ?, 'spool_free=1.0 GiB open_fds=9')",
                (started, started + 9500,
                 "mfb(mfb_error_set+0x9f) [0x1]\nmfb(backup_run+0x2c4) [0x2]"))
            self.ids["g_crit"] = cur.lastrowid
            con.commit()
        finally:
            con.close()

    def mfb(self, *args, expect=0):
        return mfbtest.run([mfbtest.MFB, *map(str, args)], expect=expect, env=self.env)

    def logs_json(self, *args):
        return json.loads(self.mfb("logs", "--json", *args).stdout)

    def names(self, jobs):
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[j["id"]] for j in jobs]

    def test_filters(self):
        self.assertEqual(self.names(self.logs_json()),
                         ["b_pending", "a_ok_new", "g_crit", "a_fail", "a_ok_old", "b_ancient"])
        self.assertEqual(self.names(self.logs_json("--status", "failed")), ["a_fail"])
        self.assertEqual(self.names(self.logs_json("--status", "critical")), ["g_crit"])
        self.assertEqual(self.names(self.logs_json("--status", "ok")),
                         ["a_ok_new", "a_ok_old", "b_ancient"])
        self.assertEqual(self.names(self.logs_json("--instance", "beta")),
                         ["b_pending", "b_ancient"])
        self.assertEqual(self.names(self.logs_json("--since", "7d")),
                         ["b_pending", "a_ok_new", "g_crit"])
        self.assertEqual(self.names(self.logs_json("--until", "7d", "--since", "30d")),
                         ["a_fail", "a_ok_old"])
        self.assertEqual(self.names(self.logs_json("--search", "disk full")), ["a_fail"])
        self.assertEqual(self.names(self.logs_json("--search", "checked beta")),
                         ["b_pending", "b_ancient"])
        self.assertEqual(self.logs_json("--search", "nothing-like-this"), [])
        self.assertEqual(self.names(self.logs_json("--limit", "2")), ["b_pending", "a_ok_new"])
        day = time.strftime("%Y-%m-%d", time.gmtime((self.now - 15 * DAY) / 1000))
        self.assertEqual(self.names(self.logs_json("--since", day, "--instance", "alpha")),
                         ["a_ok_new", "a_fail"])

    def test_json_shape_and_table(self):
        job = [j for j in self.logs_json() if j["id"] == self.ids["a_fail"]][0]
        self.assertEqual(job["instance"], "alpha")
        self.assertEqual(job["status"], "failed")
        self.assertEqual(job["kind"], "backup")
        self.assertEqual(job["target"], "box")
        self.assertEqual(job["duration_ms"], 2000)
        self.assertIsNone(job["downtime_ms"])
        self.assertEqual(job["steps_ms"]["upload"], 345)
        self.assertIsNone(job["steps_ms"]["archive"])
        self.assertEqual(job["error"], "disk full on target")
        self.assertRegex(job["started"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        out = self.mfb("logs", "--instance", "alpha").stdout.splitlines()
        self.assertEqual(out[0].split(), ["ID", "INSTANCE", "KIND", "STATUS", "START",
                                          "DURATION", "DOWNTIME", "SIZE", "MESSAGE"])
        self.assertEqual(len(out), 4)
        self.assertIn("disk full on target", out[2])
        self.assertEqual(self.mfb("logs", "--status", "cancelled").stdout, "no jobs match\n")

    def test_show(self):
        jid = self.ids["b_pending"]
        job = json.loads(self.mfb("logs", "show", jid, "--json").stdout)
        self.assertEqual(job["status"], "pending_upload")
        self.assertEqual([(e["level"], e["step"], e["message"]) for e in job["events"]],
                         [("info", "preflight", "checked instance beta"),
                          ("error", "upload", "connection refused")])
        text = self.mfb("logs", "show", jid).stdout
        self.assertIn("job %d\n" % jid, text)
        self.assertIn("  status:    pending_upload\n", text)
        self.assertIn("  error:     connection refused\n", text)
        self.assertRegex(text, r"error\s+upload\s+connection refused")
        crit = json.loads(self.mfb("logs", "show", self.ids["g_crit"], "--json").stdout)
        self.assertEqual((crit["status"], crit["error_step"]), ("critical", "start"))
        self.assertEqual(crit["backtrace"], ["mfb(mfb_error_set+0x9f) [0x1]",
                                             "mfb(backup_run+0x2c4) [0x2]"])
        self.assertEqual(crit["system_state"], "spool_free=1.0 GiB open_fds=9")
        self.assertIsNone(job["backtrace"])
        text = self.mfb("logs", "show", self.ids["g_crit"]).stdout
        self.assertIn("  status:    critical\n", text)
        self.assertIn("  step:      start\n  system:    spool_free=1.0 GiB open_fds=9\n"
                      "  backtrace: (the failing thread, where the first error was set)\n"
                      "    mfb(mfb_error_set+0x9f) [0x1]\n    mfb(backup_run+0x2c4) [0x2]\n", text)
        r = self.mfb("logs", "show", 9999, expect=1)
        self.assertEqual(r.stderr.splitlines()[0], "mfb: error: no job #9999")

    def test_bad_options(self):
        r = self.mfb("logs", "--since", "yesterday", expect=2)
        self.assertEqual(r.stderr.splitlines()[0], "mfb: error: invalid --since 'yesterday'")
        r = self.mfb("logs", "--status", "succeeded", expect=2)
        self.assertEqual(r.stderr.splitlines(),
                         ["mfb: error: invalid --status 'succeeded'",
                          "HINT: use ok, failed, critical, pending_upload, cancelled or running"])
        r = self.mfb("logs", "show", "x1", expect=2)
        self.assertEqual(r.stderr.splitlines()[0], "mfb: error: invalid job id 'x1'")
        r = self.mfb("report", "--json", "--csv", expect=2)
        self.assertEqual(r.stderr.splitlines()[0],
                         "mfb: error: give only one of --json and --csv")

    def settings(self):
        return {x["name"]: x for x in json.loads(self.mfb("settings", "--json").stdout)}

    def test_settings(self):
        """`mfb settings`: the retention knobs, their defaults, validated changes."""
        got = self.settings()
        self.assertEqual(sorted(got), ["log_retention_count", "log_retention_days",
                                       "retry_initial", "retry_max"])
        # the daemon's upload retries (docs/daemon.md): 30 s doubling to 30 min
        self.assertEqual((got["retry_initial"]["value"], got["retry_max"]["value"]), (30, 1800))
        self.assertEqual(got["retry_initial"]["unit"], "seconds")
        self.assertEqual((got["log_retention_days"]["value"], got["log_retention_days"]["set"]),
                         (90, False))
        self.assertEqual(got["log_retention_count"]["value"], 10000)
        out = self.mfb("settings").stdout.splitlines()
        self.assertEqual(out[0].split(), ["NAME", "VALUE", "DEFAULT", "DESCRIPTION"])
        self.assertRegex(out[1], r"^log_retention_days\s+90 days \(default\)\s+90\s+after each")
        r = self.mfb("settings", "set", "log_retention_days", "030")
        self.assertEqual(r.stdout, "log_retention_days = 30 days; applies after the next job\n")
        self.mfb("settings", "set", "log_retention_count", "0")
        got = self.settings()
        self.assertEqual((got["log_retention_days"]["value"], got["log_retention_days"]["set"]),
                         (30, True))
        self.assertEqual(got["log_retention_count"]["value"], 0)
        self.assertIn("0 jobs (off)", self.mfb("settings", "show").stdout)
        con = sqlite3.connect(self.db)
        try:
            stored = dict(con.execute("SELECT key, value FROM settings").fetchall())
        finally:
            con.close()
        self.assertEqual(stored, {"log_retention_days": "30", "log_retention_count": "0"})
        # bad values: one line, a hint, exit status 2, nothing changed
        for name, value, hint in (
                ("log_retention_days", "1.5", "HINT: give a whole number of days from 0 (off) "
                                              "to 36500"),
                ("log_retention_days", "36501", "HINT: give a whole number of days from 0 (off) "
                                                "to 36500"),
                ("log_retention_count", "many", "HINT: give a whole number of jobs from 0 (off) "
                                                "to 100000000")):
            r = self.mfb("settings", "set", name, value, expect=2)
            self.assertEqual(r.stderr.splitlines(),
                             [f"mfb: error: invalid value '{value}' for {name}", hint])
        r = self.mfb("settings", "set", "log_retention", "5", expect=2)
        self.assertEqual(r.stderr.splitlines(),
                         ["mfb: error: unknown setting 'log_retention'",
                          "HINT: the settings are log_retention_days, log_retention_count, "
                          "retry_initial and retry_max; 'mfb settings' shows them"])
        self.assertEqual(self.settings()["log_retention_days"]["value"], 30)
        r = self.mfb("settings", "reset", "log_retention_days")
        self.assertEqual(r.stdout, "log_retention_days = 90 days (the default); applies after "
                                   "the next job\n")
        self.assertFalse(self.settings()["log_retention_days"]["set"])
        # a value stored by hand that makes no sense is ignored, not obeyed
        con = sqlite3.connect(self.db)
        try:
            con.execute("INSERT OR REPLACE INTO settings VALUES ('log_retention_count', '-5')")
            con.commit()
        finally:
            con.close()
        got = self.settings()["log_retention_count"]
        self.assertEqual((got["value"], got["set"]), (10000, False))

    def test_report(self):
        # A resume job that completed a backup (the backup job is then ok,
        # with its size) is not a second backup: the report leaves it out.
        con = sqlite3.connect(self.db)
        try:
            started = self.now - 2 * DAY + 60000
            con.execute("INSERT INTO jobs (instance, target, kind, status, pid, started, ended, "
                        "upload_ms, bytes_out, backup_name) VALUES ('alpha', 'box', 'resume', "
                        "'ok', 1, ?, ?, 50, 1600, 'a_ok_new')", (started, started + 100))
            con.commit()
        finally:
            con.close()
        rep = {r["instance"]: r for r in json.loads(self.mfb("report", "--json").stdout)}
        self.assertEqual(sorted(rep), ["alpha", "beta", "gamma"])
        a = rep["alpha"]
        self.assertEqual(a["jobs"], 3)
        self.assertEqual(a["ok"], 2)
        self.assertAlmostEqual(a["success_rate"], 2 / 3, places=6)
        self.assertEqual(a["avg_duration_ms"], 4000)
        self.assertEqual(a["max_duration_ms"], 6000)
        self.assertEqual(a["avg_downtime_ms"], 2000)
        self.assertEqual(a["max_downtime_ms"], 3000)
        self.assertEqual(a["total_size"], 2600)
        self.assertEqual(a["avg_size"], 1300)
        self.assertEqual(a["growth"], 600)
        self.assertEqual(a["failures"], [{"cause": "upload failed", "count": 1}])
        self.assertIsNotNone(a["last_success"])
        b = rep["beta"]  # the 60-day-old success is outside the period
        self.assertEqual((b["jobs"], b["ok"], b["last_success"]), (1, 0, None))
        self.assertEqual(b["failures"], [{"cause": "upload pending_upload", "count": 1}])
        g = rep["gamma"]
        self.assertEqual((g["jobs"], g["ok"], g["success_rate"]), (1, 0, 0))
        self.assertEqual(g["failures"], [{"cause": "start critical", "count": 1}])
        only = json.loads(self.mfb("report", "--period", "90d", "--instance", "beta",
                                   "--json").stdout)
        self.assertEqual([(r["instance"], r["jobs"]) for r in only], [("beta", 2)])
        rows = list(csv.reader(io.StringIO(self.mfb("report", "--csv").stdout)))
        self.assertEqual(rows[0], ["instance", "jobs", "ok", "success_rate",
                                   "last_success", "avg_duration_ms", "max_duration_ms",
                                   "avg_downtime_ms", "max_downtime_ms", "avg_size",
                                   "total_size", "growth", "failures"])
        self.assertEqual(rows[1][:4], ["alpha", "3", "2", "0.6667"])
        self.assertEqual(rows[1][-1], "upload failed=1")
        self.assertEqual(rows[3][-1], "start critical=1")
        self.assertEqual(len(rows), 4)
        self.assertIn("instance alpha", self.mfb("report").stdout)


if __name__ == "__main__":
    mfbtest.main()
