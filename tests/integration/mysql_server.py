#!/usr/bin/env python3
"""mysql_server.py - src/mysql/ against a real MariaDB server.

Starts a throwaway MariaDB with the test harness (tests/lib/mariadb.py),
with its binary logs in a directory outside the datadir, and runs the
server-backed cmocka tests (tests/unit/mysql_server_test.c) with the
harness's MFB_MARIADB_* variables set. Those tests connect, discover,
pre-flush, and stop and start the server with the shutdown-sql and command
methods, including a stop command that fails, one that hangs and a start
command that cannot run. They leave the server running; this script checks
that it still answers, and the harness then stops it and removes every
file, even when something failed.

The same binary runs in CTest's unit pass without these variables, where
every server test is skipped: this script fails if any is skipped here.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.environ["MFB_TEST_LIB"])
from mariadb import MariaDB  # noqa: E402


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    build = os.path.dirname(os.environ["MFB"])
    binary = os.path.join(build, "tests", "mysql_server_test")
    if not os.access(binary, os.X_OK):
        fail(f"{binary} was not built")
    tmp = os.environ.get("MFB_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(tmp, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="mysql_binlog_", dir=tmp) as binlog:
        options = {"log_bin": os.path.join(binlog, "mariadb-bin"), "server_id": "1"}
        with MariaDB(options=options) as db:
            env = dict(os.environ, **db.env(), MFB_TEST_MYSQL_BINLOG_DIR=binlog)
            r = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=600)
            print(r.stdout)
            running = db.is_running()
            answers = running and db.query_value("SELECT 1") == "1"
        if db.is_running():
            fail("the harness left a server running")

    if r.returncode != 0:
        fail(f"mysql_server_test exited with {r.returncode}")
    if "SKIPPED" in r.stdout:
        fail("tests were skipped although a server was provided")
    if not answers:
        fail("the server was not running and answering after the tests")
    print("ok: mysql_server_test passed against MariaDB; the server was left running and "
          "has been stopped")


if __name__ == "__main__":
    main()
