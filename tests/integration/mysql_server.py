#!/usr/bin/env python3
"""mysql_server.py - src/mysql/ against a real MariaDB server.

Starts a throwaway MariaDB with the test harness (tests/lib/mariadb.py),
with its binary logs in a directory outside the datadir, and runs the
server-backed cmocka tests (tests/unit/mysql/mysql_server_test.c) with the
harness's MFB_MARIADB_* variables set. Those tests connect, discover the
files (a table with DATA DIRECTORY, the binary logs), pre-flush, and stop
and start the server with the shutdown-sql and command methods, including a
stop command that fails, one that hangs and a start command that cannot
run. They leave the server running; this script checks that it still
answers, and the harness then stops it and removes every file, even when
something failed.

The same binary runs in CTest's unit pass without these variables, where
every server test is skipped; here a skipped test is a failure.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from mariadb import MariaDB  # noqa: E402


class MysqlServerTest(mfbtest.TempDirTestCase):

    def test_control_layer_against_mariadb(self):
        binary = os.path.join(os.path.dirname(mfbtest.MFB), "tests", "mysql_server_test")
        self.assertTrue(os.access(binary, os.X_OK), f"{binary} was not built")
        binlog = self.path("binlog")
        os.makedirs(binlog)
        options = {"log_bin": os.path.join(binlog, "mariadb-bin"), "server_id": "1"}
        with MariaDB(options=options) as db:
            env = dict(os.environ, **db.env(), MFB_TEST_MYSQL_BINLOG_DIR=binlog,
                       MFB_TEST_TMP=self.tmp)
            r = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=600)
            print(r.stdout)
            answers = db.is_running() and db.query_value("SELECT 1") == "1"
        self.assertFalse(db.is_running(), "the harness left the server running")
        self.assertEqual(r.returncode, 0, "mysql_server_test failed")
        self.assertNotIn("SKIPPED", r.stdout, "tests were skipped although a server was given")
        self.assertTrue(answers, "the server was not running and answering after the tests")


if __name__ == "__main__":
    mfbtest.main()
