"""ui_dashboard.py - the web UI's login and dashboard in a real browser
(docs/ui.md), against a real daemon, MariaDB and receiver: the login
(wrong password refused, no session -> redirect or 401, a change without
the CSRF token -> 403), a row per instance, Run now with progress
advancing to `ok` without a reload, and Cancel of a running job ending
`cancelled` with the database answering.
"""
import os
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mfbtest import main  # noqa: E402
from uitestlib import PASSWORD, UITestCase, by_testid  # noqa: E402


class Dashboard(UITestCase):
    env_name = "uidash"

    @classmethod
    def prepare(cls):
        pid = cls.env.db.pid_file

        def stop_after(seconds):
            return (f"sleep {seconds}; kill $(cat {pid}); "
                    f"while [ -e {pid} ]; do sleep 0.05; done")

        # "prod" stays stopped 2 s, long enough to watch it run; "slow" 30 s,
        # to cancel it while the database is down.
        cls.env.add_instance(name="prod", control="command", stop_cmd=stop_after(2))
        cls.env.add_instance(name="slow", control="command", stop_cmd=stop_after(30))

    def setUp(self):
        super().setUp()
        if self.session_cookie() is None:
            self.login()

    def row(self, name):
        return self.driver.find_element(*by_testid("instance-row", f'[data-instance="{name}"]'))

    def status_of(self, name):
        s = self.row(name).find_element(*by_testid("job-status"))
        return s.text, s.get_attribute("data-job")

    def test_a_login_and_refusals(self):
        self.driver.delete_all_cookies()
        # no session: a page redirects to the login, the API answers 401
        self.open("/index.html")
        self.wait(lambda d: d.current_url.endswith("/login.html"), what="redirect to login")
        status, _, body = self.http("GET", "/v1/jobs")
        self.assertEqual((status, body["error"]), (401, "unauthorized"))
        status, _, _ = self.http("GET", "/index.html")
        self.assertEqual(status, 303)
        # a wrong password is refused, and says so
        self.find("login-password").send_keys("not the password")
        self.find("login-submit").click()
        self.wait(lambda d: "wrong password" in d.find_element("id", "login-message").text,
                  what="refusal shown")
        self.assertIsNone(self.session_cookie())
        self.assertTrue(self.driver.current_url.endswith("/login.html"))
        # the right one logs in; the cookie is HttpOnly and SameSite=Strict
        self.find("login-password").clear()
        self.find("login-password").send_keys(PASSWORD)
        self.find("login-submit").click()
        self.wait(lambda d: d.current_url.endswith("/index.html"), what="dashboard")
        c = self.driver.get_cookie("mfb_session")
        self.assertTrue(c["httpOnly"])
        self.assertEqual(c["sameSite"], "Strict")
        # a change without the CSRF token is refused, with it accepted
        cookie = self.session_cookie()
        status, headers, body = self.http("POST", "/v1/jobs", {"instance": "nosuch"},
                                          cookie=cookie)
        self.assertEqual((status, body["error"]), (403, "csrf"))
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertIn("default-src 'self'", headers["Content-Security-Policy"])
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        _, _, s = self.http("GET", "/ui/session", cookie=cookie)
        status, _, body = self.http("POST", "/v1/jobs", {"instance": "nosuch"}, cookie=cookie,
                                    csrf="0" * 64)
        self.assertEqual(status, 403)
        status, _, body = self.http("POST", "/v1/jobs", {"instance": "nosuch"}, cookie=cookie,
                                    csrf=s["csrf"])
        self.assertEqual(status, 404, body)  # past the gate: the API's own answer
        self.assertEqual(self.console_errors(), [])

    def test_b_run_now_progress_to_ok(self):
        self.open("/index.html")
        self.wait(lambda d: len(d.find_elements(*by_testid("instance-row"))) == 2,
                  what="a row per instance")
        names = sorted(r.get_attribute("data-instance")
                       for r in self.driver.find_elements(*by_testid("instance-row")))
        self.assertEqual(names, ["prod", "slow"])
        # idle: nothing to cancel, and no placeholder text leaks into a row
        self.wait(lambda d: "no schedule" in self.row("prod").text, what="rows filled")
        self.assertFalse(self.row("prod").find_element(*by_testid("cancel-job")).is_displayed())
        self.assertNotIn("null", self.row("prod").text)
        # live progress comes from the event stream through the UI's gate
        self.wait(lambda d: self.find("live-mode").get_attribute("data-mode"), what="live mode")
        self.assertEqual(self.find("live-mode").get_attribute("data-mode"), "stream")
        self.driver.execute_script("window.mfbNoReload = 1")
        self.row("prod").find_element(*by_testid("run-now")).click()
        seen_running, seen, states = False, [], set()
        deadline = time.monotonic() + 180
        while True:
            text, job = self.status_of("prod")
            bar = self.row("prod").find_element(*by_testid("job-progress"))
            state = self.row("prod").find_element(*by_testid("instance-state")).text
            if text == "running" and bar.is_displayed() and bar.get_attribute("data-step"):
                seen_running = True
                self.assertEqual(bar.get_attribute("data-job"), job)
                seen.append((bar.get_attribute("data-step"),
                             int(bar.get_attribute("aria-valuenow"))))
                states.add(state)
            if text not in ("idle", "queued", "running"):
                break
            self.assertLess(time.monotonic(), deadline, "the job does not end")
            time.sleep(0.05)
        self.assertEqual(text, "ok")
        self.assertTrue(seen_running, "the page never showed the job running")
        # the bar is the current step's bytes: it never goes back within a
        # step, and the steps come in the job's order
        steps = [st for i, (st, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != st]
        self.assertEqual(len(steps), len(set(steps)), f"a step came back: {steps}")
        self.assertIn("stop", steps)
        for st in steps:
            pcts = [p for s2, p in seen if s2 == st]
            self.assertEqual(pcts, sorted(pcts), f"step {st} went backwards: {seen}")
        self.assertTrue(any(s2.startswith("running: stop") for s2 in states), states)
        self.assertTrue(any("database stopped for" in s2 for s2 in states), states)
        bar = self.row("prod").find_element(*by_testid("job-progress"))
        self.assertEqual(bar.get_attribute("aria-valuenow"), "100")
        self.assertEqual(self.driver.execute_script("return window.mfbNoReload"), 1)
        # the row's last backup shows the new job once the daemon ended it
        self.wait(lambda d: "stored" in self.row("prod").find_element(*by_testid("last-job")).text,
                  what="last backup shown")
        self.assertEqual(self.row("prod").find_element(*by_testid("instance-state")).text, "idle")
        self.env.assert_running()
        self.assertEqual(self.console_errors(), [])
        self.screenshot("dashboard")

    def test_c_cancel_a_running_job(self):
        self.open("/index.html")
        self.wait(lambda d: d.find_elements(*by_testid("instance-row", '[data-instance="slow"]')),
                  what="slow row")
        self.row("slow").find_element(*by_testid("run-now")).click()
        self.wait(lambda d: "stop" in (self.row("slow").find_element(*by_testid("job-progress"))
                                       .get_attribute("aria-valuetext") or ""),
                  what="the job in its stop step")
        self.row("slow").find_element(*by_testid("cancel-job")).click()
        dialog = self.driver.find_element("id", "cancel-dialog")
        self.wait(lambda d: dialog.is_displayed(), what="confirmation")
        self.assertIn("starts it again", dialog.text)
        self.find("confirm-cancel").click()
        self.wait(lambda d: self.status_of("slow")[0] == "cancelled", timeout=180,
                  what="cancelled")
        self.env.assert_running()
        self.assertEqual(self.console_errors(), [])


if __name__ == "__main__":
    main()
