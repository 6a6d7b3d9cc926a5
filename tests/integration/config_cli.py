"""config_cli.py - drives the real `mfb` binary through the configuration
commands without any server: `mfb init`, `mfb instance` and `mfb target`
add/list/show/set/remove with --no-check, their --json output, the database
file's mode and the refusal of a readable one, secrets never printed, and
one-line errors (with a HINT line) for bad flags.

The live checks against a real MariaDB and a real receiver are in
config_validate.py.
"""

import json
import os
import sqlite3
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402

PASSWORD = "pw-Zq8v1-never-shown"
TOKEN = "c0ffee" * 10 + "beef"
FINGERPRINT = ":".join(["5A"] * 32)


class ConfigCli(mfbtest.TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.path("state", "mfb.db")
        self.env = dict(mfbtest.UTF8_ENV, MFB_DB=self.db)
        self.outputs = []  # every stdout and stderr, to look for secrets
        self.pwfile = self.secret_file("pw", PASSWORD + "\n")
        self.tokfile = self.secret_file("tok", TOKEN + "\n")
        self.spool = self.path("spool")
        os.mkdir(self.spool)

    def secret_file(self, name, text, mode=0o600):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def mfb(self, *args, expect=0, input=None, env=None):
        r = mfbtest.run([mfbtest.MFB, *map(str, args)], expect=expect, env=env or self.env,
                        input=input)
        self.outputs += [r.stdout, r.stderr]
        return r

    def assert_one_error(self, r, message, hint=None, code=2):
        """A failure prints exactly one error line and at most one HINT line."""
        self.assertEqual(r.returncode, code, r.stderr)
        lines = r.stderr.strip().split("\n")
        self.assertEqual(lines[0], "mfb: error: " + message, r.stderr)
        self.assertLessEqual(len(lines), 2, r.stderr)
        if hint is not None:
            self.assertEqual(lines[1], "HINT: " + hint, r.stderr)
        self.assertEqual(r.stdout, "")

    def add_instance(self, name="prod", *extra, expect=0):
        return self.mfb("instance", "add", name, "--socket", "/run/mysqld/mysqld.sock",
                        "--user", "backup", "--password-file", self.pwfile,
                        "--datadir", "/var/lib/mysql", "--spool", self.spool,
                        "--control", "systemd:mariadb.service", "--no-check", *extra,
                        expect=expect)

    def add_target(self, name="offsite", *extra, expect=0):
        return self.mfb("target", "add", name, "--url", "https://backup.example:8443",
                        "--token-file", self.tokfile, "--fingerprint", FINGERPRINT,
                        "--no-check", *extra, expect=expect)

    def tearDown(self):
        for text in self.outputs:
            self.assertNotIn(PASSWORD, text)
            self.assertNotIn(TOKEN, text)
        super().tearDown()

    # -- init and the file -------------------------------------------------

    def test_init_creates_private_database(self):
        r = self.mfb("init")
        self.assertIn(f"created configuration database {self.db} (schema version 10)", r.stdout)
        st = os.stat(self.db)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.db)).st_mode), 0o700)
        r = self.mfb("init")
        self.assertEqual(r.stdout.strip(),
                         f"configuration database {self.db} is up to date (schema version 10)")
        # --db wins over $MFB_DB
        other = self.path("other.db")
        r = self.mfb("init", "--db", other)
        self.assertIn(other, r.stdout)
        self.assertTrue(os.path.exists(other))
        r = self.mfb("instance", "list", "--db", other)
        self.assertIn("no instances", r.stdout)

    def test_commands_need_init(self):
        r = self.mfb("instance", "list", expect=1)
        self.assert_one_error(r, f"no configuration database at '{self.db}'",
                              "run 'mfb init' first, or pass --db PATH", code=1)
        self.assertFalse(os.path.exists(self.db))

    def test_readable_database_refused(self):
        self.mfb("init")
        self.add_instance()
        for mode in (0o644, 0o640, 0o606):
            os.chmod(self.db, mode)
            for argv in (["instance", "list"], ["instance", "show", "prod"], ["init"],
                         ["target", "list", "--json"]):
                r = self.mfb(*argv, expect=1)
                self.assert_one_error(
                    r, f"configuration database '{self.db}' is accessible by group or others "
                       f"(mode 0{mode:o})",
                    f"it holds passwords and tokens; run: chmod 600 '{self.db}'", code=1)
        os.chmod(self.db, 0o600)
        self.mfb("instance", "show", "prod")

    def damage_table(self, db, table):
        """Overwrites the root page of a table with garbage (after a
        checkpoint, so that the page is in the file, not in the WAL)."""
        con = sqlite3.connect(db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                           (table,)).fetchone()[0]
        con.close()
        with open(db, "r+b") as f:
            f.seek((root - 1) * page_size)
            f.write(b"\xde\xad\xbe\xef" * (page_size // 4))

    def test_damaged_database_gets_a_hint(self):
        """A damaged file is named, with what to do, by both programs."""
        self.mfb("init")
        self.add_instance()
        self.damage_table(self.db, "instances")
        damaged = (f"the file '{self.db}' is damaged: restore it from a copy (sqlite3 "
                   f"'{self.db}' 'PRAGMA integrity_check' shows what is wrong)")
        r = self.mfb("instance", "list", expect=1)
        self.assert_one_error(r, "cannot list the instances: database disk image is malformed",
                              damaged, code=1)
        r = self.mfb("backup", "prod", expect=1)
        self.assert_one_error(r, "cannot read the instance: database disk image is malformed",
                              damaged, code=1)
        # cut short: refused when opened
        os.truncate(self.db, 4096)
        r = self.mfb("instance", "list", expect=1)
        self.assert_one_error(r, f"cannot open '{self.db}': database disk image is malformed",
                              damaged, code=1)
        # the receiver's catalog
        catalog = self.path("rx", "mfb-server.db")
        env = dict(self.env, MFB_DB=catalog)
        mfbtest.run([mfbtest.MFB_SERVER, "init", "--storage", self.path("rx", "store")],
                    expect=0, env=env)
        mfbtest.run([mfbtest.MFB_SERVER, "client", "add", "db1"], expect=0, env=env)
        self.damage_table(catalog, "clients")
        r = mfbtest.run([mfbtest.MFB_SERVER, "client", "list"], expect=1, env=env)
        lines = r.stderr.strip().split("\n")
        self.assertEqual(len(lines), 2, r.stderr)
        self.assertRegex(lines[0], r"^mfb-server: error: cannot .*: database disk image is "
                                   r"malformed$")
        self.assertEqual(lines[1], "HINT: " + damaged.replace(self.db, catalog))

    @unittest.skipUnless(mfbtest.IS_ROOT, "a read-only bind mount needs root")
    def test_unwritable_database_gets_a_hint(self):
        self.mfb("init")
        ro = self.path("ro")
        os.mkdir(ro)
        subprocess.run(["mount", "--bind", os.path.dirname(self.db), ro], check=True)
        self.addCleanup(subprocess.run, ["umount", ro])
        subprocess.run(["mount", "-o", "remount,ro,bind", ro], check=True)
        db = os.path.join(ro, "mfb.db")
        r = self.mfb("instance", "list", "--db", db, expect=1)
        self.assert_one_error(r, f"cannot open '{db}': unable to open database file",
                              f"'{db}' is not writable (Read-only file system); the file and "
                              "its directory must be writable: SQLite keeps its -wal and -shm "
                              "files beside it", code=1)

    # -- instances -----------------------------------------------------------

    def test_instance_lifecycle(self):
        self.mfb("init")
        r = self.add_instance()
        self.assertEqual(r.stdout, "added instance 'prod'\n")
        self.assertEqual(r.stderr,
                         "mfb: warning: instance 'prod' was saved without checking it "
                         "(--no-check)\nHINT: run 'mfb instance check prod' once it is "
                         "reachable\n")
        self.mfb("instance", "add", "tcp", "--host", "db.example", "--port", "3307",
                 "--user", "backup", "--password-file", "-", "--datadir", "rel/data",
                 "--spool", self.spool, "--control", "command", "--stop-cmd", "stop-db now",
                 "--start-cmd", "start-db", "--restart-after", "snapshot",
                 "--stop-timeout", "90s", "--verify-timeout", "2m", "--no-check",
                 input=PASSWORD + "\n")

        r = self.mfb("instance", "list")
        lines = r.stdout.strip().split("\n")
        self.assertEqual(lines[0].split(), ["NAME", "CONNECTION", "CONTROL", "DATADIR",
                                            "RESTART"])
        self.assertEqual(lines[1].split(), ["prod", "socket", "/run/mysqld/mysqld.sock",
                                            "systemd:mariadb.service", "/var/lib/mysql",
                                            "upload"])
        self.assertEqual(lines[2].split()[:3], ["tcp", "db.example:3307", "command"])

        items = json.loads(self.mfb("instance", "list", "--json").stdout)
        self.assertEqual([i["name"] for i in items], ["prod", "tcp"])
        tcp = json.loads(self.mfb("instance", "show", "tcp", "--json").stdout)
        self.assertEqual(tcp, items[1])
        self.assertEqual(tcp["host"], "db.example")
        self.assertEqual(tcp["port"], 3307)
        self.assertIsNone(tcp["socket"])
        self.assertTrue(tcp["password_set"])
        self.assertNotIn("password", tcp)
        self.assertEqual(tcp["control"], "command")
        self.assertEqual(tcp["stop_cmd"], "stop-db now")
        self.assertEqual(tcp["start_cmd"], "start-db")
        self.assertEqual(tcp["restart_after"], "snapshot")
        self.assertEqual(tcp["datadir"], os.path.join(os.getcwd(), "rel/data"))
        self.assertEqual(tcp["timeouts_ms"], {"preflush": 300000, "stop": 90000,
                                              "archive": 21600000, "upload": 43200000,
                                              "start": 600000, "verify": 120000})

        show = self.mfb("instance", "show", "prod").stdout
        self.assertIn("password: (set)\n", show)
        self.assertIn("control: systemd:mariadb.service\n", show)
        self.assertIn("connection: socket /run/mysqld/mysqld.sock\n", show)

        # set changes only what is given
        self.mfb("instance", "set", "prod", "--control", "shutdown-sql",
                 "--start-cmd", "systemctl start mariadb", "--archive-timeout", "2h",
                 "--no-check")
        prod = json.loads(self.mfb("instance", "show", "prod", "--json").stdout)
        self.assertEqual(prod["control"], "shutdown-sql")
        self.assertEqual(prod["start_cmd"], "systemctl start mariadb")
        self.assertEqual(prod["timeouts_ms"]["archive"], 7200000)
        self.assertEqual(prod["timeouts_ms"]["stop"], 600000)
        self.assertEqual(prod["user"], "backup")
        self.assertTrue(prod["password_set"])
        # switching to TCP drops the socket; --no-password clears the password
        self.mfb("instance", "set", "prod", "--host", "127.0.0.1", "--no-password", "--no-check")
        prod = json.loads(self.mfb("instance", "show", "prod", "--json").stdout)
        self.assertEqual((prod["host"], prod["port"], prod["socket"]), ("127.0.0.1", 3306, None))
        self.assertFalse(prod["password_set"])
        self.assertIn("password: (none)", self.mfb("instance", "show", "prod").stdout)
        # back to systemd: the start command goes with shutdown-sql
        self.mfb("instance", "set", "prod", "--control", "systemd:mysql", "--no-check")
        prod = json.loads(self.mfb("instance", "show", "prod", "--json").stdout)
        self.assertIsNone(prod["start_cmd"])

        # the stored password is the file's content, without the newline
        with sqlite3.connect(self.db) as c:
            (pw,) = c.execute("SELECT password FROM instances WHERE name = 'tcp'").fetchone()
        self.assertEqual(pw, PASSWORD)

        self.assertEqual(self.mfb("instance", "remove", "tcp").stdout, "removed instance 'tcp'\n")
        r = self.mfb("instance", "show", "tcp", expect=1)
        self.assert_one_error(r, "no instance named 'tcp'",
                              "'mfb instance list' shows the configured instances", code=1)
        r = self.add_instance(expect=1)
        self.assert_one_error(r, "instance 'prod' already exists",
                              "change it with 'mfb instance set prod ...', or choose another "
                              "name", code=1)

    def test_remove_refused_while_a_job_runs(self):
        self.mfb("init")
        self.add_instance()
        with sqlite3.connect(self.db) as c:  # a job of a live process: this one
            c.execute("INSERT INTO jobs (instance, kind, status, pid, started) "
                      "VALUES ('prod', 'backup', 'running', ?, 1)", (os.getpid(),))
        r = self.mfb("instance", "remove", "prod", expect=1)
        self.assert_one_error(r, "instance 'prod' has a running job (#1)",
                              "wait until the job has finished, or cancel it, then remove "
                              "again", code=1)
        # a job whose process is gone does not block it, and is marked failed
        with sqlite3.connect(self.db) as c:
            c.execute("UPDATE jobs SET pid = 2147483647")
        self.mfb("instance", "remove", "prod")
        with sqlite3.connect(self.db) as c:
            status, error = c.execute("SELECT status, error FROM jobs").fetchone()
        self.assertEqual(status, "failed")
        self.assertIn("interrupted", error)

    def test_instance_bad_flags(self):
        self.mfb("init")
        base = ["instance", "add", "x", "--user", "u", "--datadir", "/d", "--spool", "/s",
                "--no-check"]
        cases = [
            (["--socket", "/s.sock", "--host", "h", "--control", "command"],
             "--socket and --host exclude each other",
             "give --socket PATH, or --host HOST with --port PORT"),
            (["--control", "systemd:m"], "no connection given",
             "give --socket PATH, or --host HOST with --port PORT"),
            (["--socket", "/s.sock", "--port", "3307", "--control", "command"],
             "--port needs --host", "give --host HOST with --port PORT"),
            (["--host", "h", "--port", "70000", "--control", "sysv:mysql"],
             "--port: invalid number '70000'", "give a whole number from 1 to 65535"),
            (["--socket", "/s.sock", "--control", "upstart:mysql"],
             "invalid control method 'upstart:mysql'",
             "use systemd:UNIT, sysv:NAME, shutdown-sql or command"),
            (["--socket", "/s.sock", "--control", "command", "--start-cmd", "go"],
             "the stop/start method command needs a stop command",
             "give the command that stops the server with --stop-cmd"),
            (["--socket", "/s.sock", "--control", "systemd:m", "--start-cmd", "go"],
             "the stop/start method systemd:m does not use a start command",
             "leave out --start-cmd, or use --control shutdown-sql or command"),
            (["--socket", "/s.sock", "--control", "sysv:m", "--restart-after", "never"],
             "invalid restart policy 'never'", "use upload, archive or snapshot"),
            (["--socket", "/s.sock", "--control", "sysv:m", "--stop-timeout", "soon"],
             None, None),
            (["--socket", "/s.sock", "--control", "sysv:m", "--stop-timeout", "0"],
             "the stop timeout must not be 0",
             "every step needs a timeout; give a duration such as 5m"),
            (["--socket", "/s.sock", "--control", "sysv:m", "--bogus"],
             "unknown option '--bogus' for 'mfb instance add'",
             "run 'mfb instance add --help' to see its options"),
        ]
        for extra, message, hint in cases:
            with self.subTest(extra=extra):
                r = self.mfb(*base, *extra, expect=None)
                self.assertNotEqual(r.returncode, 0)
                if message is None:
                    self.assertTrue(r.stderr.startswith("mfb: error: --stop-timeout: "),
                                    r.stderr)
                    self.assertLessEqual(len(r.stderr.strip().split("\n")), 2)
                else:
                    self.assert_one_error(r, message, hint, code=r.returncode)
        r = self.mfb("instance", "add", "a/b", "--socket", "/s", "--user", "u", "--datadir",
                     "/d", "--spool", "/s2", "--control", "sysv:m", "--no-check", expect=1)
        self.assert_one_error(r, "invalid instance name 'a/b': name must not contain '/'",
                              code=1)
        r = self.mfb("instance", "add", "sp", "--socket", "/s", "--user", "u", "--datadir",
                     "/data", "--spool", "/data/spool", "--control", "sysv:m", "--no-check",
                     expect=1)
        self.assert_one_error(r, "the spool '/data/spool' is inside the data directory '/data'",
                              code=1)
        r = self.mfb("instance", "add", "nouser", "--socket", "/s", "--datadir", "/d",
                     "--spool", "/s2", "--control", "sysv:m", "--no-check", expect=1)
        self.assert_one_error(r, "no MySQL user given", code=1)
        # --control left out: say so, not "invalid systemd unit name"
        r = self.mfb("instance", "add", "nocontrol", "--socket", "/s", "--user", "u",
                     "--datadir", "/d", "--spool", "/s2", "--no-check", expect=1)
        self.assert_one_error(r, "no stop/start method given",
                              "give --control systemd:UNIT, sysv:NAME, shutdown-sql or command",
                              code=1)
        r = self.mfb("instance", "show", expect=2)
        self.assert_one_error(r, "wrong number of arguments for 'mfb instance show'",
                              "usage: mfb instance show NAME")
        # nothing was saved by any of them
        self.assertEqual(json.loads(self.mfb("instance", "list", "--json").stdout), [])

    def test_secret_files(self):
        self.mfb("init")
        loose = self.secret_file("loose", PASSWORD + "\n", mode=0o644)
        r = self.add_instance("p", "--password-file", loose, expect=1)
        self.assert_one_error(r, f"secret file '{loose}' is readable by group or others "
                                 f"(mode 0644)", f"run: chmod 600 '{loose}'", code=1)
        empty = self.secret_file("empty", "\n")
        r = self.add_target("t", "--token-file", empty, expect=1)
        self.assert_one_error(r, f"the secret in '{empty}' is empty", code=1)
        r = self.mfb("instance", "add", "p", "--socket", "/s", "--user", "u",
                     "--password-file", self.pwfile, "--no-password", "--datadir", "/d",
                     "--spool", "/s2", "--control", "sysv:m", "--no-check", expect=2)
        self.assert_one_error(r, "--password-file and --no-password exclude each other",
                              "give one of them")
        self.assertEqual(json.loads(self.mfb("instance", "list", "--json").stdout), [])

    # -- targets -------------------------------------------------------------

    def test_target_lifecycle(self):
        self.mfb("init")
        r = self.add_target()
        self.assertEqual(r.stdout, "added target 'offsite'\n")
        self.assertIn("mfb: warning: target 'offsite' was saved without checking it", r.stderr)
        self.mfb("target", "add", "local", "--url", "https://127.0.0.1:8443/",
                 "--token-file", "-", "--ca-file", "certs/ca.pem", "--directory", "nightly/eu",
                 "--naming", "{host}-{instance}-{seq:4}.zip", "--chunk-size", "32M",
                 "--connections", "8", "--no-check", input=TOKEN + "\n")

        items = json.loads(self.mfb("target", "list", "--json").stdout)
        self.assertEqual([t["name"] for t in items], ["local", "offsite"])
        local = json.loads(self.mfb("target", "show", "local", "--json").stdout)
        self.assertEqual(local, items[0])
        self.assertEqual(local["url"], "https://127.0.0.1:8443/")
        self.assertTrue(local["token_set"])
        self.assertNotIn("token", local)
        self.assertIsNone(local["fingerprint"])
        self.assertEqual(local["ca_file"], os.path.join(os.getcwd(), "certs/ca.pem"))
        self.assertEqual(local["directory"], "nightly/eu")
        self.assertEqual(local["naming"], "{host}-{instance}-{seq:4}.zip")
        self.assertEqual(local["chunk_size"], 32 << 20)
        self.assertEqual(local["connections"], 8)
        off = items[1]
        self.assertEqual(off["fingerprint"], FINGERPRINT)
        self.assertEqual(off["naming"], "{instance}_{time:%Y%m%d-%H%M%S}.zip")
        self.assertEqual((off["chunk_size"], off["connections"]), (16 << 20, 4))
        self.assertEqual((local["max_jobs"], off["max_jobs"]), (1, 1))

        show = self.mfb("target", "show", "offsite").stdout
        self.assertIn("token: (set)\n", show)
        self.assertIn(f"certificate: pin {FINGERPRINT}\n", show)
        lines = self.mfb("target", "list").stdout.strip().split("\n")
        self.assertEqual(lines[0].split(), ["NAME", "URL", "DIRECTORY", "NAMING", "MAX-JOBS"])
        self.assertEqual(lines[1].split(), ["local", "https://127.0.0.1:8443/", "nightly/eu",
                                            "{host}-{instance}-{seq:4}.zip", "1"])

        # --max-jobs: the daemon's jobs sending to it at once; kept by a
        # later set that does not name it
        self.mfb("target", "set", "local", "--max-jobs", "3", "--no-check")
        self.assertIn("max jobs: 3\n", self.mfb("target", "show", "local").stdout)
        r = self.mfb("target", "set", "local", "--max-jobs", "0", "--no-check", expect=2)
        self.assertIn("--max-jobs: invalid number '0'", r.stderr)

        # a fingerprint in another spelling is stored in the canonical one;
        # giving it drops the CA file
        self.mfb("target", "set", "local", "--fingerprint", "5a" * 32, "--directory", "",
                 "--no-check")
        local = json.loads(self.mfb("target", "show", "local", "--json").stdout)
        self.assertEqual(local["fingerprint"], FINGERPRINT)
        self.assertIsNone(local["ca_file"])
        self.assertIsNone(local["directory"])
        self.assertEqual(local["connections"], 8)
        self.assertEqual(local["max_jobs"], 3)

        self.assertEqual(self.mfb("target", "remove", "local").stdout,
                         "removed target 'local'\n")
        self.assertEqual([t["name"] for t in
                          json.loads(self.mfb("target", "list", "--json").stdout)], ["offsite"])

    def test_target_bad_flags(self):
        self.mfb("init")
        base = ["target", "add", "t", "--token-file", self.tokfile, "--no-check"]
        cases = [
            (["--fingerprint", FINGERPRINT], "no receiver URL given",
             "pass --url https://HOST:PORT"),
            (["--url", "ftp://x", "--fingerprint", FINGERPRINT],
             "receiver URL 'ftp://x' is not an https:// URL", "pass --url https://HOST:PORT"),
            (["--url", "https://x"], "no way to verify the receiver's certificate",
             "pass --fingerprint (printed by 'mfb-server init') or --ca-file"),
            (["--url", "https://x", "--fingerprint", FINGERPRINT, "--ca-file", "/ca"],
             "--fingerprint and --ca-file exclude each other",
             "pin the certificate or name a CA file, not both"),
            (["--url", "https://x", "--fingerprint", "12:34"],
             "invalid certificate fingerprint '12:34'", None),
            (["--url", "https://x", "--fingerprint", FINGERPRINT, "--naming", "{db}.zip"],
             "naming pattern '{db}.zip': unknown placeholder '{db}'", None),
            (["--url", "https://x", "--fingerprint", FINGERPRINT, "--directory", "../up"],
             None, None),
            (["--url", "https://x", "--fingerprint", FINGERPRINT, "--chunk-size", "3M"],
             "invalid chunk size 3.0 MiB (3145728 bytes)", None),
            (["--url", "https://x", "--fingerprint", FINGERPRINT, "--connections", "0"],
             "--connections: invalid number '0'", "give a whole number from 1 to 64"),
        ]
        for extra, message, hint in cases:
            with self.subTest(extra=extra):
                r = self.mfb(*base, *extra, expect=None)
                self.assertNotEqual(r.returncode, 0)
                if message is None:
                    self.assertTrue(r.stderr.startswith("mfb: error: invalid --directory"),
                                    r.stderr)
                else:
                    self.assert_one_error(r, message, hint, code=r.returncode)
        r = self.mfb("target", "add", "t", "--url", "https://x", "--fingerprint", FINGERPRINT,
                     "--no-check", expect=2)
        self.assert_one_error(r, "no token given")
        self.assertEqual(json.loads(self.mfb("target", "list", "--json").stdout), [])


if __name__ == "__main__":
    mfbtest.main()
