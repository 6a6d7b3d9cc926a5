"""rx_dashboard.py - the receiver's dashboard (docs/server.md, "The
dashboard") in a real headless chromium against a real `mfb-server serve`
over TLS, with backups uploaded through the protocol: no session leads to
the login page, a wrong password is refused, the page renders after login
with no console error (strict CSP included), an instance past its
expectation is shown as overdue and one within it is not, the drill, the
retention plan and an upload in progress are shown, a client's bearer
token opens no page and the session cookie authorises no API call.
Screenshots at desktop and phone widths land in build/ui-screenshots/.

The browser trusts only the receiver's own certificate (its public key's
SHA-256, --ignore-certificate-errors-spki-list), as a client pins it.
"""
import base64
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mfbtest import main  # noqa: E402
from server_testlib import MIB, Receiver, content_digest, pattern  # noqa: E402
from uitestlib import PASSWORD, Browser, by_testid, chromium  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

COOKIE = "mfb_receiver_session"
LOADED = (By.CSS_SELECTOR, 'body[data-loaded="yes"]')  # the page has drawn its data


def spki_sha256(cert):
    """base64 SHA-256 of the certificate's public key, as chromium takes it."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True,
                         capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True,
                            capture_output=True).stdout
    return base64.b64encode(digest).decode()


class ReceiverDashboard(Browser, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rx = cls.rx = Receiver("dash")
        cls.addClassCleanup(rx.cleanup)
        rx.init()
        cls.token = rx.add_client("db1")
        rx.add_client("db2")
        rx.run("admin", "passwd", input=PASSWORD + "\n")
        rx.start()
        cls.base = f"https://localhost:{rx.port}"
        # prod: two backups, the newer drilled, kept by keep-last 2, expected hourly
        rx.upload(cls.token, pattern(300 * 1024, 1), instance="prod")
        last = rx.upload(cls.token, pattern(200 * 1024, 2), instance="prod")
        status, _ = rx.json("POST", f"/v1/backups/{last['backup_id']}/verifications", cls.token,
                            {"result": "passed", "tables": 12, "host": "db1"})
        assert status == 201, status
        rx.run("retention", "set", "--client", "db1", "--instance", "prod", "--keep-last", "2")
        rx.run("expect", "set", "db1", "prod", "--every", "1h")
        # legacy: its client stopped sending; expected every second
        rx.upload(cls.token, pattern(100 * 1024, 3), instance="legacy")
        rx.run("expect", "set", "db1", "legacy", "--every", "1s")
        # an upload in progress: one chunk of three
        uid = rx.open_upload(cls.token, instance="prod", name="big.zip", size=3 * MIB)
        cs = rx.chunk_size(uid, cls.token)
        status, _ = rx.put_chunk(cls.token, uid, 0, pattern(cs, 4))
        assert status == 201, status
        cls.upload_id = uid
        cls.driver = chromium(os.path.join(rx.dir, "chromium"),
                              [f"--ignore-certificate-errors-spki-list={spki_sha256(rx.cert)}"])
        cls.addClassCleanup(cls.driver.quit)

    def logged_out(self):
        self.driver.delete_all_cookies()

    def session_cookie(self):
        c = self.driver.get_cookie(COOKIE)
        return f"{COOKIE}={c['value']}" if c else None

    def rows(self):
        return {(r.get_attribute("data-client"), r.get_attribute("data-instance")): r
                for r in self.driver.find_elements(*by_testid("instance-row"))}

    def test_1_no_session_goes_to_login(self):
        self.logged_out()
        self.open("/")
        self.wait(lambda d: d.current_url.endswith("/login.html"), what="the login page")
        self.assertEqual(self.console_errors(), [])

    def test_2_wrong_password_refused(self):
        self.logged_out()
        self.open("/login.html")
        self.wait(lambda d: d.find_elements(*by_testid("login-password")), what="login form")
        self.find("login-password").send_keys("not the password")
        self.find("login-submit").click()
        self.wait(lambda d: "wrong password" in self.find("login-message").text,
                  what="the refusal")
        self.assertTrue(self.driver.current_url.endswith("/login.html"))
        self.assert_base_styles()  # before a login too
        self.assertIsNone(self.session_cookie())
        self.screenshot("rx-login")
        self.assertEqual(self.console_errors(), [])  # the 401 of /ui/login is expected

    def test_3_dashboard_renders_and_marks_overdue(self):
        self.logged_out()
        self.login()
        self.wait(lambda d: d.find_elements(*LOADED), what="the dashboard's data")
        # legacy's one second has passed by now (its backup was stored
        # before the expectation was set); the page refreshes every 10 s
        deadline = time.monotonic() + 60
        while self.rows()[("db1", "legacy")].get_attribute("data-overdue") != "yes":
            self.assertLess(time.monotonic(), deadline, "legacy never shown overdue")
            time.sleep(1)
            self.driver.refresh()
            self.wait(lambda d: d.find_elements(*LOADED), what="the dashboard's data")
        rows = self.rows()
        self.assertEqual(set(rows), {("db1", "prod"), ("db1", "legacy")})
        legacy, prod = rows[("db1", "legacy")], rows[("db1", "prod")]
        self.assertIn("OVERDUE", legacy.find_element(*by_testid("overdue")).text)
        self.assertEqual(prod.get_attribute("data-overdue"), "no")
        self.assertEqual(prod.find_elements(*by_testid("overdue")), [])
        self.assertIn("on time", prod.find_element(*by_testid("expect")).text)
        drill = prod.find_element(*by_testid("drill"))
        self.assertEqual(drill.get_attribute("data-result"), "passed")
        self.assertIn("12 tables", drill.text)
        self.assertIn("never drilled", legacy.find_element(*by_testid("drill")).text)
        ret = prod.find_element(*by_testid("retention")).text
        self.assertIn("keep last 2", ret)
        self.assertIn("goes when the next backup arrives", ret)
        self.assertIn("no policy", legacy.find_element(*by_testid("retention")).text)
        up = self.find("upload-row")
        self.assertEqual(up.get_attribute("data-upload"), self.upload_id)
        self.assertIn("big.zip", up.text)
        self.assertIn("%", up.text)
        self.assertIn("of", self.find("storage-free").text)
        self.assertEqual(len(self.driver.find_elements(*by_testid("client-row"))), 2)
        self.assertIn("1 instance is overdue", self.find("overdue-summary").text)
        self.screenshot("rx-dashboard")
        self.assertEqual(self.console_errors(), [])

    def test_4_token_opens_no_dashboard_cookie_no_api(self):
        self.logged_out()
        self.login()
        cookie = self.session_cookie()
        self.assertIsNotNone(cookie)
        status, hdrs, _ = self.rx.request("GET", "/", self.token)
        self.assertEqual(status, 303)
        self.assertEqual(hdrs["location"], "/login.html")
        status, _, _ = self.rx.request("GET", "/ui/overview", self.token)
        self.assertEqual(status, 401)
        status, _, _ = self.rx.request("GET", "/ui/overview", headers={"Cookie": cookie})
        self.assertEqual(status, 200)
        for path in ("/v1/whoami", "/v1/backups"):
            status, _, _ = self.rx.request("GET", path, headers={"Cookie": cookie})
            self.assertEqual(status, 401, path)
        status, hdrs, _ = self.rx.request("GET", "/", headers={"Cookie": cookie})
        self.assertEqual(status, 200)
        self.assertIn("default-src 'self'", hdrs["content-security-policy"])
        self.assertEqual(hdrs["x-frame-options"], "DENY")
        # the API's answers carry none of the page's headers
        status, hdrs, _ = self.rx.request("GET", "/v1/whoami", self.token)
        self.assertEqual(status, 200)
        self.assertNotIn("set-cookie", hdrs)

    def test_5_logout(self):
        self.logged_out()
        self.login()
        self.wait(lambda d: d.find_elements(*LOADED), what="the dashboard's data")
        self.find("logout").click()
        self.wait(lambda d: d.current_url.endswith("/login.html"), what="the login page")
        self.open("/")
        self.wait(lambda d: d.current_url.endswith("/login.html"), what="the login page again")
        self.assertEqual(self.console_errors(), [])


if __name__ == "__main__":
    main()
