"""config_validate.py - the checks `mfb instance add` and `mfb target add`
make before saving (requirement 2.4), against a real MariaDB server
(tests/lib/mariadb.py) and a real receiver (`mfb-server serve`).

Each refusal must name the problem and its fix, nothing must be saved, and
--no-check must save anyway with a warning. Checks never touch the server
they check: it must still be running at the end.
"""

import json
import os
import socket
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from server_testlib import Receiver  # noqa: E402


def closed_port():
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Base(mfbtest.TempDirTestCase):
    secrets = ()

    def setUp(self):
        super().setUp()
        self.env = dict(mfbtest.UTF8_ENV, MFB_DB=self.path("mfb.db"))
        self.outputs = []
        self.mfb("init")

    def tearDown(self):
        for text in self.outputs:
            for secret in self.secrets:
                self.assertNotIn(secret, text)
        super().tearDown()

    def mfb(self, *args, expect=0):
        r = mfbtest.run([mfbtest.MFB, *map(str, args)], expect=expect, env=self.env)
        self.outputs += [r.stdout, r.stderr]
        return r

    def secret_file(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text + "\n")
        os.chmod(p, 0o600)
        return p

    def names(self, group):
        return [i["name"] for i in json.loads(self.mfb(group, "list", "--json").stdout)]

    def assert_refused(self, r, group, name, failed, total, *errors):
        """Exit 1; each (message, hint) appears as an error and HINT line;
        the last line says what was not saved."""
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = r.stderr.strip().split("\n")
        for message, hint in errors:
            self.assertIn("mfb: error: " + message, lines, r.stderr)
            i = lines.index("mfb: error: " + message)
            if hint is not None:
                self.assertEqual(lines[i + 1], "HINT: " + hint, r.stderr)
        self.assertEqual(lines[-2], f"mfb: error: {group} '{name}' not added: {failed} of "
                                    f"{total} checks failed")
        self.assertEqual(lines[-1], "HINT: fix the problems above, or pass --no-check to "
                                    "save it anyway")
        self.assertNotIn(name, self.names(group))


class InstanceChecks(Base):

    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB()
        cls.db.start()
        with open(cls.db.password_file) as f:
            cls.secrets = (f.read().strip(),)

    @classmethod
    def tearDownClass(cls):
        cls.db.cleanup()

    def setUp(self):
        super().setUp()
        self.spool = self.path("spool")
        os.mkdir(self.spool)
        self.assertTrue(self.db.is_running())

    def tearDown(self):
        self.assertTrue(self.db.is_running(), "a check must never stop the server")
        super().tearDown()

    def add(self, name, *extra, expect=None, datadir=None, password_file=None,
            connection=None):
        db = self.db
        return self.mfb(
            "instance", "add", name, *(connection or ["--socket", db.socket]),
            "--user", db.user, "--password-file", password_file or db.password_file,
            "--datadir", datadir or db.datadir, "--spool", self.spool,
            "--control", "command", "--stop-cmd", f"kill $(cat {db.pid_file})",
            "--start-cmd", f"mariadbd --defaults-file={db.server_cnf}", *extra, expect=expect)

    def test_good_instance_is_checked_and_saved(self):
        r = self.add("good", expect=0)
        out = r.stdout.split("\n")
        self.assertIn(f"check datadir: ok ({self.db.datadir})", out)
        self.assertIn(f"check spool: ok ({self.spool})", out)
        self.assertIn("check stop/start: ok (command)", out)
        self.assertTrue(any(line.startswith("check connect: ok (mariadb 10.") for line in out),
                        r.stdout)
        self.assertIn(f"check @@datadir: ok ({os.path.realpath(self.db.datadir)})", out)
        self.assertEqual(out[-2], "added instance 'good'")
        self.assertNotIn("warning", r.stderr)
        r = self.mfb("instance", "check", "good")
        self.assertEqual(r.stdout.strip().split("\n")[-1], "instance 'good' is ready")
        # over TCP as well
        self.add("tcp", expect=0, connection=["--host", "127.0.0.1", "--port", self.db.port])
        self.assertEqual(self.names("instance"), ["good", "tcp"])

    def test_wrong_password_refused_with_its_fix(self):
        wrong = self.secret_file("wrong", "not-the-password")
        r = self.add("bad", password_file=wrong)
        self.assert_refused(
            r, "instance", "bad", 1, 4,
            (f"access denied for user '{self.db.user}' at socket '{self.db.socket}'",
             "check the password in the file given with --password-file, and that the user "
             f"'{self.db.user}' exists for the host mfb connects from "
             "(SELECT user, host FROM mysql.user)"))

    def test_wrong_datadir_refused_with_its_fix(self):
        other = self.path("not-the-datadir")
        os.mkdir(other)
        real = os.path.realpath(self.db.datadir)
        r = self.add("bad", datadir=other)
        self.assert_refused(
            r, "instance", "bad", 1, 5,
            (f"data directory '{other}' is not the server's: it reports @@datadir = '{real}'",
             f"pass --datadir '{real}'"))

    def test_every_problem_at_once(self):
        wrong = self.secret_file("wrong", "not-the-password")
        missing = self.path("no-such-datadir")
        r = self.mfb("instance", "add", "bad", "--socket", self.db.socket, "--user", self.db.user,
                     "--password-file", wrong, "--datadir", missing,
                     "--spool", self.path("no-spool"), "--control", "command",
                     "--stop-cmd", "/nonexistent/bin/stop-db", "--start-cmd",
                     "no-such-start-program --now", expect=None)
        self.assert_refused(
            r, "instance", "bad", 4, 4,
            (f"data directory '{missing}' cannot be used: No such file or directory",
             "give the server's data directory (SELECT @@datadir) with --datadir"),
            (f"spool directory '{self.path('no-spool')}' does not exist",
             f"create it (mkdir -p -m 700 '{self.path('no-spool')}') or give another with "
             "--spool"),
            ("the stop command '/nonexistent/bin/stop-db' cannot run: '/nonexistent/bin/stop-db'"
             ": No such file or directory", "correct the path of the program in the stop command"),
            (f"access denied for user '{self.db.user}' at socket '{self.db.socket}'", None))

    def test_no_check_saves_with_a_warning(self):
        wrong = self.secret_file("wrong", "not-the-password")
        r = self.add("later", "--no-check", password_file=wrong, expect=0)
        self.assertEqual(r.stdout, "added instance 'later'\n")
        self.assertEqual(r.stderr, "mfb: warning: instance 'later' was saved without checking "
                                   "it (--no-check)\nHINT: run 'mfb instance check later' once "
                                   "it is reachable\n")
        self.assertEqual(self.names("instance"), ["later"])
        r = self.mfb("instance", "check", "later", expect=1)
        lines = r.stderr.strip().split("\n")
        self.assertEqual(lines[-2], "mfb: error: instance 'later' has problems: 1 of 4 checks "
                                    "failed")
        self.assertEqual(lines[-1], "HINT: fix the problems above, or pass --no-check to save "
                                    "it anyway")
        # set checks too, and with the right password the instance is fixed
        r = self.mfb("instance", "set", "later", "--password-file", self.db.password_file)
        self.assertIn("updated instance 'later'", r.stdout)
        self.mfb("instance", "check", "later")


class TargetChecks(Base):

    @classmethod
    def setUpClass(cls):
        cls.rx = Receiver()
        try:
            cls.rx.init()
            cls.token = cls.rx.add_client("db1")
            cls.rx.start()
        except BaseException:
            cls.rx.cleanup()
            raise
        cls.url = f"https://127.0.0.1:{cls.rx.port}"
        cls.secrets = (cls.token,)

    @classmethod
    def tearDownClass(cls):
        cls.rx.cleanup()

    def setUp(self):
        super().setUp()
        self.tokfile = self.secret_file("token", self.token)

    def add(self, name, *extra, url=None, expect=None):
        return self.mfb("target", "add", name, "--url", url or self.url,
                        "--token-file", self.tokfile, *extra, expect=expect)

    def test_good_target_is_checked_and_saved(self):
        r = self.add("pinned", "--fingerprint", self.rx.fingerprint, expect=0)
        self.assertEqual(r.stdout.strip().split("\n"), [
            f"check health: ok (mfb-server 0.1.0 at {self.url}, certificate pinned)",
            "check token: ok (accepted for client 'db1')",
            "added target 'pinned'"])
        r = self.add("ca", "--ca-file", self.rx.cert, expect=0)
        self.assertIn("check ca-file: ok", r.stdout)
        self.assertIn("certificate verified", r.stdout)
        self.assertEqual(self.mfb("target", "check", "pinned").stdout.strip().split("\n")[-1],
                         "target 'pinned' is ready")
        self.assertEqual(self.names("target"), ["ca", "pinned"])

    def test_wrong_fingerprint_refused(self):
        wrong = ":".join(["AB"] * 32)
        r = self.add("bad", "--fingerprint", wrong)
        self.assert_refused(
            r, "target", "bad", 1, 1,
            (f"cannot reach the receiver: the certificate of {self.url} does not match the "
             f"pinned fingerprint: expected {wrong}, presented {self.rx.fingerprint}", None))

    def test_wrong_token_refused(self):
        self.tokfile = self.secret_file("other", "0" * 64)
        r = self.add("bad", "--fingerprint", self.rx.fingerprint)
        self.assert_refused(
            r, "target", "bad", 1, 2,
            ("the receiver refused the token: the receiver answered 401 unauthorized: unknown "
             "token", "check the token in --token-file; 'mfb-server client add NAME' on the "
                      "receiver issues one"))

    def test_receiver_down(self):
        url = f"https://127.0.0.1:{closed_port()}"
        r = self.add("down", "--fingerprint", self.rx.fingerprint, url=url)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.split("\n")
        first = lines[0]
        self.assertTrue(first.startswith(f"mfb: error: cannot reach the receiver: {url}: "),
                        r.stderr)
        self.assertTrue(lines[1].startswith("HINT: check that "), r.stderr)
        self.assertNotIn("down", self.names("target"))
        r = self.add("down", "--fingerprint", self.rx.fingerprint, "--no-check", url=url,
                     expect=0)
        self.assertIn("mfb: warning: target 'down' was saved without checking it", r.stderr)
        r = self.mfb("target", "check", "down", expect=1)
        self.assertIn("mfb: error: target 'down' has problems: 1 of 1 checks failed", r.stderr)
        # pointing it at the running receiver fixes it
        self.mfb("target", "set", "down", "--url", self.url)
        self.mfb("target", "check", "down")


if __name__ == "__main__":
    mfbtest.main()
