"""ui_pages.py - the web UI's pages other than the dashboard, in a real
browser against a real daemon, MariaDB and receiver (docs/ui.md): the job
log (a job found by a word of its events, the status and kind filters,
filters kept in the URL), a failed job's page (error, hint, stack trace),
a restore drill in the log and on its page, the dashboard's expectations
(overdue as the silence alarm decides, last job, next run), the report
(one chart point per backup, a drill is none; the CSV), schedules (a bad cron expression
refused as typed, a good one showing the next runs, pause and resume), the
settings (no secret shown, instance Check, Send test), the header every
page shares (rendered by common.js; Log out ends the session), the base
stylesheet on the login page, no console error on any page, and
screenshots of every page at desktop and phone widths.
"""
import os
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mfbtest import main  # noqa: E402
from uitestlib import UITestCase, by_testid  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

MARKER = "zebrafish"  # a word only the failed job's events hold


class Pages(UITestCase):
    env_name = "uipages"

    @classmethod
    def prepare(cls):
        env = cls.env
        env.add_instance(name="prod")
        env.add_instance(name="broken", control="command",
                         stop_cmd=f"echo {MARKER} stop refused >&2; exit 3")
        env.instance = "prod"
        cls.ok_ids = [env.backup().job_id for _ in range(2)]
        env.instance = "broken"
        cls.failed_id = env.backup(expect=None).job_id
        env.instance = "prod"
        # a restore drill of prod's latest backup: a job of kind drill
        env.mfb("drill", "prod", timeout=300)
        cls.drill_id = env.sql("SELECT MAX(id) AS id FROM jobs")[0]["id"]
        assert env.job(cls.drill_id)["kind"] == "drill", env.job(cls.drill_id)
        assert env.job(cls.drill_id)["status"] == "ok", env.job(cls.drill_id)
        # expectations: prod's last good backup is recent, broken never had one
        env.mfb("instance", "set", "prod", "--expect-every", "1d")
        env.mfb("instance", "set", "broken", "--expect-every", "1s")
        cls.alert_out = os.path.join(env.dir, "alert.out")
        env.mfb("alert", "add", "pager", "--command", f"echo \"$MFB_ALERT_SUBJECT\" > {cls.alert_out}")
        env.mfb("schedule", "add", "nightly", "--instance", "prod", "--cron", "0 3 * * *")

    def setUp(self):
        super().setUp()
        if self.session_cookie() is None:
            self.login()

    def job_rows(self):
        return [int(r.get_attribute("data-job"))
                for r in self.driver.find_elements(*by_testid("job-row"))]

    def wait_rows(self, want):
        self.wait(lambda d: self.job_rows() == want, what=f"job rows {want}")

    def test_header_on_every_page(self):
        """Every page's header (rendered by common.js) names the same pages,
        marks the current one, and its Log out ends the session."""
        pages = [("/index.html", "Dashboard"), ("/jobs.html", "Jobs"),
                 ("/reports.html", "Reports"), ("/schedules.html", "Schedules"),
                 ("/settings.html", "Instances, targets, alerts")]
        for path in [p for p, _ in pages] + [f"/job.html?id={self.failed_id}"]:
            self.open(path)
            links = self.wait(lambda d: d.find_elements("css selector", "header.top nav a"),
                              what=f"{path}: the header's links")
            self.assertEqual([(a.get_attribute("pathname"), a.text) for a in links], pages)
            current = [a.get_attribute("pathname") for a in links
                       if a.get_attribute("aria-current") == "page"]
            self.assertEqual(current, [p for p, _ in pages if p == path], path)
            self.assertEqual(self.driver.find_element("css selector", "header.top .brand").text,
                             "mfb")
        cookie = self.session_cookie()
        self.assertEqual(self.http("GET", "/ui/session", cookie=cookie)[0], 200)
        self.driver.find_element("id", "logout").click()
        self.wait(lambda d: d.current_url.endswith("/login.html"), what="the login page")
        self.assertEqual(self.http("GET", "/ui/session", cookie=cookie)[0], 401)
        self.assertEqual(self.console_errors(), [])

    def test_jobs_search_filter_and_failed_job(self):
        job = self.env.job(self.failed_id)
        self.assertEqual(job["status"], "failed")
        self.assertTrue(any(MARKER in m for m in self.env.events(self.failed_id)),
                        self.env.events(self.failed_id))
        self.open("/jobs.html")
        all_ids = sorted(self.ok_ids + [self.failed_id, self.drill_id], reverse=True)
        self.wait_rows(all_ids)  # newest first
        # a word of its events finds the failed job, and the URL keeps it
        self.find("log-search").send_keys(MARKER + "\n")
        self.wait_rows([self.failed_id])
        self.assertIn(f"q={MARKER}", self.driver.current_url)
        self.find("log-search").clear()
        self.find("log-search").send_keys("\n")
        self.wait_rows(all_ids)
        # the status filter
        Select(self.find("log-filter-status")).select_by_value("ok")
        ok_ids = sorted(self.ok_ids + [self.drill_id], reverse=True)
        self.wait_rows(ok_ids)
        self.assertIn("status=ok", self.driver.current_url)
        self.driver.refresh()  # the filter comes back from the URL
        self.wait_rows(ok_ids)
        self.screenshot("jobs")
        Select(self.find("log-filter-status")).select_by_value("failed")
        self.wait_rows([self.failed_id])
        # the failed job's page: error, hint, stack trace
        self.driver.find_element(*by_testid("job-row", f'[data-job="{self.failed_id}"]')).click()
        self.wait(lambda d: d.find_elements(*by_testid("job-error")), what="job page")
        self.assertIn(f"job.html?id={self.failed_id}", self.driver.current_url)
        self.assertIn(job["error"], self.find("job-error").text)
        self.assertEqual(self.find("job-hint").text, job["hint"])
        self.assertTrue(job["backtrace"])
        self.assertEqual(self.find("job-backtrace").text.strip(), job["backtrace"].strip())
        self.assertEqual(self.find("job-status").text, "failed")
        self.assertIn(MARKER, self.driver.find_element("id", "job").text)
        self.screenshot("job-failed")
        self.open(f"/job.html?id={self.ok_ids[0]}")
        self.wait(lambda d: d.find_elements(*by_testid("job-timeline")), what="timeline")
        self.assertEqual(self.find("job-status").text, "ok")
        self.screenshot("job-ok")
        self.assertEqual(self.console_errors(), [])

    def test_drill_in_the_log_and_its_page(self):
        self.open("/jobs.html")
        self.wait(lambda d: len(self.job_rows()) == 4, what="every job")
        Select(self.find("log-filter-kind")).select_by_value("drill")
        self.wait_rows([self.drill_id])
        self.assertIn("kind=drill", self.driver.current_url)
        row = self.driver.find_element(*by_testid("job-row", f'[data-job="{self.drill_id}"]'))
        self.assertEqual(row.find_element(*by_testid("job-kind")).text, "drill")
        Select(self.find("log-filter-kind")).select_by_value("backup")
        self.wait_rows(sorted(self.ok_ids + [self.failed_id], reverse=True))
        self.open(f"/job.html?id={self.drill_id}")
        self.wait(lambda d: d.find_elements(*by_testid("job-timeline")), what="drill page")
        self.assertEqual(self.find("job-status").text, "ok")
        self.assertIn("Restore drill", self.driver.find_element("id", "title").text)
        self.assertIn("not touched", self.find("drill-note").text)
        timeline = self.find("job-timeline").text
        self.assertIn("check tables", timeline)
        self.assertNotIn("downtime", self.driver.find_element("id", "job").text)
        self.screenshot("job-drill")
        self.assertEqual(self.console_errors(), [])

    def test_dashboard_expectations_and_last_job(self):
        self.open("/index.html")
        row = lambda name: self.driver.find_element(  # noqa: E731
            *by_testid("instance-row", f'[data-instance="{name}"]'))
        self.wait(lambda d: row("broken").find_elements(*by_testid("overdue")), what="overdue")
        self.assertIn("never", row("broken").find_element(*by_testid("overdue")).text)
        self.assertIn("expected every 1.0 s", row("broken").find_element(*by_testid("overdue")).text)
        # prod: on time, its last job the drill, its next run the nightly schedule
        self.assertEqual(row("prod").find_elements(*by_testid("overdue")), [])
        self.assertIn("expected every 1 d", row("prod").find_element(*by_testid("expect-backup")).text)
        last = row("prod").find_element(*by_testid("last-job"))
        self.assertEqual(int(last.get_attribute("data-job")), self.drill_id)
        self.assertIn("drill", last.text)
        self.assertIn("nightly", row("prod").find_element(*by_testid("next-run")).text)
        self.assertEqual(row("prod").find_element(*by_testid("instance-state")).text, "idle")
        # the same figures for curl: /v1/ui/instances is /v1/instances and more
        _, _, ui = self.http("GET", "/v1/ui/instances", cookie=self.session_cookie())
        _, _, plain = self.http("GET", "/v1/instances", cookie=self.session_cookie())
        for a, b in zip(ui["instances"], plain["instances"]):
            self.assertEqual({k: a[k] for k in b}, b)
        broken = next(i for i in ui["instances"] if i["name"] == "broken")
        self.assertEqual((broken["overdue"], broken["expect_every_ms"], broken["last_ok_ms"]),
                         (True, 1000, None))
        self.assertEqual(self.console_errors(), [])

    def test_report_points_and_csv(self):
        self.open("/reports.html")
        self.wait(lambda d: d.find_elements(*by_testid("report-instance")), what="report")
        prod = self.driver.find_element(*by_testid("report-instance", '[data-instance="prod"]'))
        points = prod.find_elements(*by_testid("chart-duration"))[0].find_elements(
            *by_testid("chart-point"))
        self.assertEqual(sorted(int(p.get_attribute("data-job")) for p in points),
                         sorted(self.ok_ids))
        self.assertEqual(prod.find_element(*by_testid("success-rate")).text, "100.0%")
        broken = self.driver.find_element(*by_testid("report-instance",
                                                     '[data-instance="broken"]'))
        self.assertEqual(len(broken.find_elements(*by_testid("chart-point"))), 2,
                         "duration and downtime charts: one point each for the one job")
        self.assertEqual(broken.find_element(*by_testid("success-rate")).text, "0.0%")
        # the CSV is `mfb report --csv`'s
        status, headers, text = self.http(
            "GET", "/v1/ui/report?since=30d&format=csv", cookie=self.session_cookie())
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        cli = self.env.mfb("report", "--csv").stdout
        self.assertEqual(text.splitlines()[0], cli.splitlines()[0])
        self.assertEqual(sorted(text.splitlines()), sorted(cli.splitlines()))
        self.screenshot("reports")
        self.assertEqual(self.console_errors(), [])

    def test_schedules_cron_check_and_pause(self):
        self.open("/schedules.html")
        self.wait(lambda d: d.find_elements(*by_testid("schedule-row")), what="schedules")
        cron = self.find("schedule-cron")
        cron.send_keys("61 3 * * *")
        self.wait(lambda d: d.find_elements(*by_testid("cron-error")), what="cron error")
        self.assertIn("minute", self.find("cron-error").text)
        self.assertEqual(cron.get_attribute("aria-invalid"), "true")
        cron.clear()
        cron.send_keys("30 2 * * *")
        self.wait(lambda d: d.find_elements(*by_testid("cron-next")), what="next runs")
        runs = self.find("cron-next").find_elements("css selector", "li")
        self.assertEqual(len(runs), 5)
        self.assertTrue(all("02:30 UTC" in r.text for r in runs), [r.text for r in runs])
        # save it as a new schedule, then pause and resume it
        self.find("schedule-name").send_keys("early")
        self.driver.find_element("id", "s-save").click()
        self.wait(lambda d: d.find_elements(*by_testid("schedule-row", '[data-schedule="early"]')),
                  what="new schedule listed")
        row = lambda: self.driver.find_element(*by_testid("schedule-row",  # noqa: E731
                                                          '[data-schedule="early"]'))
        self.assertIn("30 2 * * *", row().text)
        row().find_element(*by_testid("pause-schedule")).click()
        self.wait(lambda d: row().find_elements(*by_testid("resume-schedule")), what="paused")
        listed = self.env.mfb("schedule", "list", "--json").stdout
        self.assertIn('"paused": true', listed.replace('"paused":true', '"paused": true'))
        self.screenshot("schedules")
        row().find_element(*by_testid("resume-schedule")).click()
        self.wait(lambda d: row().find_elements(*by_testid("pause-schedule")), what="resumed")
        self.assertEqual(self.console_errors(), [])

    def test_settings_without_secrets_check_and_test_alert(self):
        self.open("/settings.html")
        self.wait(lambda d: d.find_elements(*by_testid("settings-instance")), what="settings")
        page = self.driver.find_element("tag name", "main").text
        with open(self.env.db.password_file) as f:
            self.assertNotIn(f.read().strip(), page)
        self.assertNotIn(self.env.token(), page)
        _, _, raw = self.http("GET", "/v1/ui/settings", cookie=self.session_cookie())
        self.assertNotIn(self.env.token(), str(raw))
        prod = self.driver.find_element(*by_testid("settings-instance", '[data-instance="prod"]'))
        prod.find_element(*by_testid("check-instance")).click()
        self.wait(lambda d: "connect" in prod.find_element(*by_testid("check-instance-result")).text,
                  what="instance checked")
        self.assertNotIn("✗", prod.find_element(*by_testid("check-instance-result")).text)
        self.find("test-alert").click()
        self.wait(lambda d: "sent" in self.find("test-alert-result").text, what="alert sent")
        with open(self.alert_out) as f:  # sent: the command has run
            self.assertEqual(f.read().strip(), "test alert from mfb")
        self.screenshot("settings")
        self.assertEqual(self.console_errors(), [])

    def test_z_every_page_without_console_errors(self):
        for path, name in (("/index.html", "dashboard"), ("/jobs.html", None),
                           ("/reports.html", None), ("/schedules.html", None),
                           ("/settings.html", None), (f"/job.html?id={self.failed_id}", None)):
            self.open(path)
            self.wait(lambda d: d.execute_script("return document.readyState") == "complete",
                      what=f"{path} loaded")
            time.sleep(0.5)  # let the page's own requests finish; nothing timed is asserted
            self.assertEqual(self.console_errors(), [], path)
            if name:
                self.screenshot(name)
        self.driver.delete_all_cookies()
        self.open("/login.html")
        self.wait(lambda d: d.find_elements(*by_testid("login-password")), what="login page")
        self.assert_base_styles()  # before a login too
        self.screenshot("login")
        self.assertEqual(self.console_errors(), [])


if __name__ == "__main__":
    main()
