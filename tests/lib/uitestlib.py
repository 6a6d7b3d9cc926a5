"""uitestlib.py - what the web UI's browser tests share (docs/ui.md): a
JobEnv (real MariaDB, real receiver over TLS) with `mfb daemon` serving the
UI on a free loopback port, a headless Debian chromium driven through the
system's chromedriver (never a downloaded one), login, plain HTTP requests
beside the browser, the console-error check and screenshots.

    class T(UITestCase):
        def test_x(self):
            self.login()
            self.open("/jobs.html")

Screenshots go to ui-screenshots/ beside the mfb binary under test
(build/ui-screenshots/ for the normal build), at desktop and phone widths.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

LIB = os.path.dirname(os.path.abspath(__file__))
if LIB not in sys.path:
    sys.path.insert(0, LIB)

from jobtestlib import JobTestCase  # noqa: E402
from mfbtest import MFB  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PASSWORD = "correct horse battery"
SCREENSHOTS = os.path.join(os.path.dirname(os.path.abspath(MFB)), "ui-screenshots")
DESKTOP = (1280, 900)
PHONE = (390, 844)
# Console messages the UI causes on purpose: the refused wrong password.
# (The event stream must work through the gate: an error of it is one.)
EXPECTED_CONSOLE = [re.compile(r"/ui/login .*401")]


def by_testid(testid, extra=""):
    return (By.CSS_SELECTOR, f'[data-testid="{testid}"]{extra}')


def chromium(profile_dir, extra_args=()):
    """A headless Debian chromium through the system's chromedriver, its
    profile in profile_dir, with the browser's console log kept."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--no-first-run", "--disable-extensions", "--disable-background-networking",
              f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
              f"--user-data-dir={profile_dir}") + tuple(extra_args):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(60)
    return d


class Browser:
    """What a browser test does with the page: self.driver and self.base
    (the origin) are the test class's. Shared by the client UI's tests
    (UITestCase) and the receiver dashboard's (tests/browser/rx_dashboard.py)."""

    def open(self, path):
        self.driver.get(self.base + path)

    def wait(self, cond, timeout=60, what="condition"):
        # a page that re-renders replaces the elements a condition holds
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: cond(d), message=what)

    def find(self, testid, extra=""):
        return self.driver.find_element(*by_testid(testid, extra))

    def login(self):
        self.open("/login.html")
        self.wait(lambda d: d.find_elements(*by_testid("login-password")), what="login form")
        self.find("login-password").send_keys(PASSWORD)
        self.find("login-submit").click()
        self.wait(lambda d: d.current_url.endswith("/index.html"), what="dashboard after login")

    def assert_base_styles(self):
        """The page has the shared base stylesheet (ui-common/base.css, which
        style.css imports): its 15px root font, not the browser's 16px."""
        self.wait(lambda d: d.execute_script(
            "return getComputedStyle(document.documentElement).fontSize") == "15px",
            what="base.css applied")

    def console_errors(self):
        """SEVERE console messages since the last call, less the expected ones."""
        out = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            if any(p.search(entry["message"]) for p in EXPECTED_CONSOLE):
                continue
            out.append(entry["message"])
        return out

    def screenshot(self, name):
        """The page at desktop and phone widths into SCREENSHOTS."""
        os.makedirs(SCREENSHOTS, exist_ok=True)
        for label, (w, h) in (("desktop", DESKTOP), ("phone", PHONE)):
            self.driver.set_window_size(w, h)
            time.sleep(0.2)  # let the layout settle; nothing is asserted on it
            self.driver.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-{label}.png"))
        self.driver.set_window_size(*DESKTOP)


class UITestCase(Browser, JobTestCase):
    """One env, one daemon with the UI and one browser per test class."""

    env_name = "ui"
    workers = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.mfb("ui", "passwd", input=PASSWORD + "\n")
        cls.prepare()
        cls.start_daemon()
        cls.driver = cls.make_driver()
        cls.addClassCleanup(cls.driver.quit)

    @classmethod
    def prepare(cls):
        """Instances and schedules, before the daemon starts."""

    @classmethod
    def start_daemon(cls):
        cls.daemon_log = os.path.join(cls.env.dir, "daemon.log")
        cls.daemon_err = open(cls.daemon_log, "w")
        cls.daemon = subprocess.Popen(
            [MFB, "daemon", "--workers", str(cls.workers), "--no-alerts", "--ui-listen",
             "127.0.0.1:0"], stderr=cls.daemon_err, env=cls.env.env)
        cls.addClassCleanup(cls.stop_daemon)
        deadline = time.monotonic() + 30
        while True:
            with open(cls.daemon_log) as f:
                m = re.search(r"daemon-ui url=(http://127\.0\.0\.1:\d+)/", f.read())
            if m:
                cls.base = m.group(1)
                return
            assert cls.daemon.poll() is None, open(cls.daemon_log).read()
            assert time.monotonic() < deadline, "the UI does not listen"
            time.sleep(0.05)

    @classmethod
    def stop_daemon(cls):
        """SIGTERM; the daemon must exit 0 (in the sanitizer build a leak or
        an error report makes it exit otherwise)."""
        died = cls.daemon.poll() is not None
        if not died:
            cls.daemon.terminate()
            cls.daemon.wait(timeout=120)
        cls.daemon_err.close()
        if died or cls.daemon.returncode != 0:
            with open(cls.daemon_log) as f:
                raise AssertionError(f"the daemon {'died' if died else 'exited'} with "
                                     f"{cls.daemon.returncode}:\n{f.read()[-8000:]}")

    @classmethod
    def make_driver(cls):
        return chromium(os.path.join(cls.env.dir, "chromium"))

    # -- plain HTTP ---------------------------------------------------------
    def http(self, method, path, body=None, cookie=None, csrf=None, ctype="application/json"):
        """(status, headers, parsed JSON or text) of one request, outside the browser."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        if cookie:
            req.add_header("Cookie", cookie)
        if csrf:
            req.add_header("X-CSRF-Token", csrf)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            r = opener.open(req, timeout=30)
            status, headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        text = raw.decode("utf-8", "replace")
        if (headers.get("Content-Type") or "").startswith("application/json"):
            return status, headers, json.loads(text)
        return status, headers, text

    def session_cookie(self):
        c = self.driver.get_cookie("mfb_session")
        return f"mfb_session={c['value']}" if c else None
