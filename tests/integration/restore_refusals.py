"""restore_refusals.py - `mfb restore` refuses a backup the server cannot read,
and a refusal changes nothing: the server keeps running (same process), no
directory is moved aside, the data is as it was.

- a backup whose manifest says MySQL, on a MariaDB server: refused with the
  exact message; --force bypasses the check (the files are MariaDB's in
  truth, so the forced restore works);
- a backup of a newer release: refused, also when the server is down (the
  version then comes from `mariadbd --version`); a compatible backup is
  restored into a stopped instance and the server is started.
(restore_checks.py has the other refusals.)
"""

import os
import re
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from restore_testlib import RestoreTestCase  # noqa: E402


class RefusalTest(RestoreTestCase):

    def server_version(self):
        return re.match(r"\d+\.\d+\.\d+", self.db.query_value("SELECT VERSION()")).group(0)

    def test_other_flavour_then_force(self):
        env, db = self.env, self.db
        ours = self.server_version()
        bid = env.forged_backup(metadata={"flavour": "mysql", "version": "8.0.36"})
        db.execute("DROP TABLE sbtest.sbtest2")
        pid, sums = db.server_pid(), db.checksum_tables()

        r = env.restore(bid, expect=1)
        self.assertIn(f"mfb: error: the backup was made by MySQL 8.0.36 and the server of "
                      f"instance 'db' is MariaDB {ours}: a MySQL data directory cannot be "
                      f"restored under MariaDB\n", r.stderr)
        self.assertIn("HINT: restore it into a scratch directory with --to DIR and migrate with "
                      "a logical dump, or pass --force if you know better", r.stderr)
        self.assertNotIn("stopped the server", r.stdout)
        self.assert_untouched(pid, sums)
        self.assertEqual(env.spool_files(), [])

        r = env.restore(bid, "--force")
        self.assertIn(f"warning: the backup was made by MySQL 8.0.36 and the server of instance "
                      f"'db' is MariaDB {ours}", r.stdout)
        self.assertIn("restoring anyway (--force)", r.stdout)
        # the refusal came before the download (the archive's end only was
        # read): nothing to reuse, the forced run downloads while it stages
        self.assertIn("read the archive's directory from the receiver", r.stdout)
        self.assert_running()
        self.assertEqual(db.query_value("SELECT COUNT(*) FROM sbtest.sbtest2"), "10000")
        self.assertEqual(len(env.asides()), 1)

    def test_newer_release_and_a_stopped_server(self):
        env, db = self.env, self.db
        ours = self.server_version()
        newer = env.forged_backup(metadata={"version": "99.1.2-MariaDB"})
        good = env.backup()
        pid, sums = db.server_pid(), db.checksum_tables()
        msg = (f"mfb: error: the backup was made by MariaDB 99.1.2, a newer release than the "
               f"server of instance 'db' (MariaDB {ours}): a server cannot read the files of a "
               f"newer release\nHINT: upgrade the server to 99.1 or later first, or restore "
               f"with --to DIR, or pass --force if you know better\n")
        r = env.restore(newer, expect=1)
        self.assertIn(msg, r.stderr)
        self.assert_untouched(pid, sums)

        # the server is down: its binary tells the version
        db.execute("DELETE FROM sbtest.sbtest1")
        db.stop()
        r = env.restore(newer, expect=1)
        self.assertIn("the server of instance 'db' is not running", r.stdout)
        self.assertIn(msg, r.stderr)
        self.assertFalse(db.is_running())
        self.assertEqual(env.asides(), [])

        r = env.restore(good)
        self.assertIn(f"the backup was made by MariaDB {ours}; the server is MariaDB {ours}",
                      r.stdout)
        self.assertNotIn("stopped the server", r.stdout)
        self.assertIn("started the server; it answers", r.stdout)
        self.assert_running()
        self.assertEqual(db.checksum_tables(), sums)


if __name__ == "__main__":
    mfbtest.main()
