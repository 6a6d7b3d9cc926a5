"""server_admin.py - `mfb-server admin passwd` (docs/server.md, "The
dashboard"): the password comes from standard input or a file of mode
0600, never from the command line; a short one is refused; only its scrypt
hash reaches the catalog; a running receiver takes a new password at the
next login, and the old one stops working.
"""
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from metricstestlib import write_secret  # noqa: E402
from mfbtest import main  # noqa: E402
from server_testlib import Receiver  # noqa: E402


class AdminPasswd(unittest.TestCase):
    def setUp(self):
        self.rx = Receiver("admin")
        self.addCleanup(self.rx.cleanup)
        self.rx.init()

    def stored(self):
        with sqlite3.connect(self.rx.db) as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'admin_password'").fetchone()
        return row[0] if row else None

    def login(self, password):
        status, _ = self.rx.json("POST", "/ui/login", body={"password": password})
        return status

    def test_passwd(self):
        p = self.rx.run("admin", "passwd", check=False, input="short\n")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("the password must have 8 to 1024 characters", p.stderr)
        self.assertIsNone(self.stored())
        # no option takes the password itself
        p = self.rx.run("admin", "passwd", "--password", "first password", check=False)
        self.assertNotEqual(p.returncode, 0)

        p = self.rx.run("admin", "passwd", input="first password\n")
        self.assertIn("dashboard password set", p.stdout)
        stored = self.stored()
        self.assertTrue(stored.startswith("scrypt$15$8$1$"), stored)
        self.assertNotIn("first password", stored)

        loose = os.path.join(self.rx.dir, "loose.pw")
        with open(loose, "w") as f:
            f.write("second password\n")
        os.chmod(loose, 0o644)
        p = self.rx.run("admin", "passwd", "--password-file", loose, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("readable by group or others", p.stderr)
        self.assertEqual(self.stored(), stored)

        self.rx.start()
        self.assertEqual(self.login("first password"), 200)
        self.rx.run("admin", "passwd", "--password-file",
                    write_secret(os.path.join(self.rx.dir, "tight.pw"), "second password"))
        self.assertEqual(self.login("first password"), 401)
        self.assertEqual(self.login("second password"), 200)
        self.rx.stop()
        log = self.rx.log_text()
        self.assertIn("dashboard-login result=ok", log)
        self.assertIn("dashboard-login result=refused", log)
        for secret in ("first password", "second password"):
            self.assertNotIn(secret, log)


if __name__ == "__main__":
    main()
