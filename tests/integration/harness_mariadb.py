"""harness_mariadb.py - proves the throwaway MariaDB harness (tests/lib/mariadb.py)
does what the backup tests will rely on: it starts, answers as root and as
its password user, keeps data across stop/start and across a crash, loads
sysbench data, and leaves nothing behind, whether the test body passes,
raises, or the test process is terminated or even killed.

Each case gets its own parent directory, so "nothing behind" is simply
"the parent is empty afterwards" (but for the cached template datadir).
"""

import glob
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from mariadb import MariaDB, MariaDBError  # noqa: E402

LIB = mfbtest.LIB_DIR


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(cond, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


@unittest.skipIf(mfbtest.SANITIZED, "tests the Python harness, not mfb; the plain build runs it")
class HarnessTest(mfbtest.TempDirTestCase):

    def assert_nothing_left(self):
        left = [n for n in os.listdir(self.tmp) if not n.startswith("mfb-mariadb-template-")]
        self.assertEqual(left, [], "the harness left files behind")

    def test_lifecycle_data_survives_restart(self):
        with MariaDB(parent_dir=self.tmp) as db:
            self.assertTrue(db.is_running())
            self.assertTrue(os.path.exists(db.socket))
            self.assertTrue(os.path.isfile(db.pid_file))
            self.assertGreater(db.port, 0)
            self.assertRegex(db.query_value("SELECT VERSION()"), r"MariaDB")
            db.execute("CREATE DATABASE shop; CREATE TABLE shop.items "
                       "(id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB; "
                       "INSERT INTO shop.items VALUES (1, 'tab\there'), (2, 'naïve'), (3, NULL)")
            rows = db.query("SELECT id, name FROM items ORDER BY id", database="shop")
            self.assertEqual(rows, [["1", "tab\there"], ["2", "naïve"], ["3", "NULL"]])
            before = db.checksum_tables()
            self.assertEqual(list(before), ["shop.items"])
            pid = db.server_pid()

            db.stop()
            self.assertFalse(db.is_running())
            self.assertFalse(alive(pid), "stop() returned while mariadbd still ran")
            self.assertFalse(os.path.exists(db.socket))
            with self.assertRaises(MariaDBError):
                db.query("SELECT 1")

            db.start()
            self.assertNotEqual(db.server_pid(), pid)
            self.assertEqual(db.checksum_tables(), before)
            self.assertEqual(db.query_value("SELECT COUNT(*) FROM shop.items"), "3")
            root, datadir, server = db.root, db.datadir, db.server_pid()
        self.assertFalse(alive(server))
        self.assertFalse(os.path.exists(root))
        self.assertFalse(os.path.exists(datadir))
        self.assert_nothing_left()

    def test_password_user_and_private_files(self):
        with MariaDB(parent_dir=self.tmp, user="backup") as db:
            self.assertEqual(db.query("SELECT CURRENT_USER()", as_user=True),
                             [["backup@localhost"]])
            with open(db.password_file) as f:
                self.assertEqual(f.read().strip(), db.password)
            for p in (db.password_file, db.user_cnf, db.client_cnf):
                self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600, p)
            # the password really is required: a wrong one is refused over TCP too
            r = subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P",
                                str(db.port), "-u", "backup", "-pwrong", "-e", "SELECT 1"],
                               capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("Access denied", r.stderr)
            r = subprocess.run(["mariadb", f"--defaults-file={db.user_cnf}", "-h", "127.0.0.1",
                                "-P", str(db.port), "--protocol=tcp", "-N", "-e",
                                "SELECT CURRENT_USER()"], capture_output=True, text=True)
            self.assertEqual(r.stdout.strip(), "backup@127.0.0.1", r.stderr)
            # the user may stop the server, as a backup job will
            self.assertEqual(db.query("SHOW GRANTS", as_user=True)[0][0][:33],
                             "GRANT ALL PRIVILEGES ON *.* TO `b")
        self.assert_nothing_left()

    def test_cleanup_when_body_raises(self):
        seen = {}
        with self.assertRaises(ZeroDivisionError):
            with MariaDB(parent_dir=self.tmp) as db:
                seen["pid"], seen["root"] = db.server_pid(), db.root
                db.execute("CREATE DATABASE doomed")
                1 / 0
        self.assertFalse(alive(seen["pid"]))
        self.assertFalse(os.path.exists(seen["root"]))
        self.assert_nothing_left()

    def test_crash_recovery_after_kill(self):
        with MariaDB(parent_dir=self.tmp) as db:
            db.execute("CREATE DATABASE c; CREATE TABLE c.t (a INT PRIMARY KEY); "
                       "INSERT INTO c.t VALUES (1), (2), (3)")
            pid = db.server_pid()
            db.kill()
            self.assertFalse(alive(pid))
            self.assertFalse(db.is_running())
            db.start()
            self.assertEqual(db.query_value("SELECT SUM(a) FROM c.t"), "6")
        self.assert_nothing_left()

    def test_sysbench_and_checksums(self):
        with MariaDB(parent_dir=self.tmp) as db:
            db.load_sysbench(tables=2, rows=300)
            self.assertEqual(db.tables(), ["sbtest.sbtest1", "sbtest.sbtest2"])
            self.assertEqual(db.query_value("SELECT COUNT(*) FROM sbtest.sbtest2"), "300")
            sums = db.checksum_tables()
            self.assertEqual(len(sums), 2)
            db.restart()
            self.assertEqual(db.checksum_tables(), sums)
            db.execute("UPDATE sbtest.sbtest1 SET k = k + 1 WHERE id = 7")
            self.assertNotEqual(db.checksum_tables()["sbtest.sbtest1"], sums["sbtest.sbtest1"])
        self.assert_nothing_left()

    def test_kept_datadir_outlives_instance(self):
        datadir = self.path("kept", "data")
        with MariaDB(datadir, parent_dir=self.path("kept")) as db:
            db.execute("CREATE DATABASE k; CREATE TABLE k.t (a INT); INSERT INTO k.t VALUES (42)")
        self.assertTrue(os.path.isdir(os.path.join(datadir, "k")))
        self.assertEqual(os.listdir(self.path("kept")), ["data"])
        with MariaDB(datadir, parent_dir=self.path("kept")) as db:
            self.assertEqual(db.query_value("SELECT a FROM k.t"), "42")

    def _child(self, body, parent=None):
        """A separate Python process that starts a server, prints its pid and
        directory, then runs body; returns (Popen, server pid, root)."""
        parent = parent or self.tmp
        code = textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {LIB!r})
            from mariadb import MariaDB
            db = MariaDB(parent_dir={parent!r}).start()
            print(db.server_pid(), db.root, flush=True)
            {body}
        """)
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        def reap():
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        self.addCleanup(reap)
        line = p.stdout.readline().split()
        self.assertEqual(len(line), 2, "child did not start its server")
        return p, int(line[0]), line[1]

    def test_cleanup_on_sigterm(self):
        p, server, root = self._child("time.sleep(120)")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=60), 128 + signal.SIGTERM)
        self.assertFalse(alive(server))
        self.assertFalse(os.path.exists(root))
        self.assert_nothing_left()

    def test_cleanup_at_normal_exit_without_stop(self):
        p, server, root = self._child("sys.exit(3)")  # atexit does the work
        self.assertEqual(p.wait(timeout=60), 3)
        self.assertFalse(alive(server))
        self.assertFalse(os.path.exists(root))
        self.assert_nothing_left()

    def test_sigkill_of_test_process(self):
        # nothing in the process can run: the server goes by PR_SET_PDEATHSIG,
        # the files by the sweep the next instance does
        # (a deep parent, so the socket sits in a directory of its own in /tmp)
        deep = self.path("d" * 60, "e" * 60)
        p, server, root = self._child("time.sleep(120)", parent=deep)
        p.kill()
        p.wait(timeout=30)
        self.assertTrue(wait_until(lambda: not alive(server), 60), "server outlived SIGKILL")
        self.assertTrue(os.path.exists(root))
        # The dead process's socket directory is not asserted to be there
        # still: any MariaDB another test starts meanwhile (ctest -j) runs
        # the same sweep and may have removed it already.
        MariaDB(parent_dir=deep).cleanup()
        self.assertEqual(os.listdir(deep), [])
        mfbtest.rmtree(self.path("d" * 60))
        self.assertFalse(os.path.exists(root))
        self.assert_nothing_left()
        self.assertEqual(glob.glob(os.path.join(tempfile.gettempdir(), f"mfb-mariadb-{p.pid}-*")),
                         [], "the dead process's socket directory was not swept")

    def test_long_paths_put_the_socket_in_a_short_directory(self):
        deep = self.path("d" * 60, "e" * 60)
        with MariaDB(parent_dir=deep) as db:
            self.assertLess(len(db.socket), 100)
            self.assertFalse(db.socket.startswith(deep))
            self.assertEqual(db.query_value("SELECT 1"), "1")
            socket_dir = os.path.dirname(db.socket)
        self.assertFalse(os.path.exists(socket_dir))
        self.assertEqual(os.listdir(deep), [])

    def test_command_line_run(self):
        tool = os.path.join(LIB, "mariadb-env")
        r = mfbtest.run([tool, "run", "--", "sh", "-c",
                         'mariadb --defaults-file="$MFB_MARIADB_USER_CNF" -N -e "SELECT 7*6";'
                         'test -S "$MFB_MARIADB_SOCKET" && test -s "$MFB_MARIADB_PASSWORD_FILE"'
                         ' && exit 5'],
                        env=dict(os.environ, MFB_TEST_TMP=self.tmp))
        self.assertEqual(r.returncode, 5, r.stderr)
        self.assertEqual(r.stdout.strip(), "42")
        self.assert_nothing_left()

    def test_bootstrap_failure_is_reported_and_cleaned(self):
        datadir = self.path("junk")
        os.makedirs(datadir)
        with open(os.path.join(datadir, "stray"), "w") as f:
            f.write("not a datadir")
        with self.assertRaisesRegex(MariaDBError, "is not empty and has no mysql schema"):
            with MariaDB(datadir, parent_dir=self.path("p")):
                pass
        self.assertEqual(os.listdir(self.path("p")), [])
        self.assertEqual(os.listdir(datadir), ["stray"])


if __name__ == "__main__":
    mfbtest.main()
