"""restore_refusals.py - what `mfb restore` refuses, and that a refusal changes
nothing: the server keeps running (same process), no directory is moved
aside, the data is as it was.

- a backup whose manifest says MySQL, on a MariaDB server: refused with the
  exact message; --force bypasses the check (the files are MariaDB's in
  truth, so the forced restore works);
- a backup of a newer release: refused, also when the server is down (the
  version then comes from `mariadbd --version`); a compatible backup is
  restored into a stopped instance and the server is started;
- a corrupt download (a byte flipped in the receiver's stored file): the
  SHA-256 check refuses it before the datadir is touched;
- an archive without metadata, a --map naming no root, a datadir recorded
  elsewhere than the instance's (fixed with --map), and a destination
  without room (on a small tmpfs, when one can be mounted).
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from restore_testlib import RestoreTestCase  # noqa: E402


class RefusalTest(RestoreTestCase):

    def server_version(self):
        return re.match(r"\d+\.\d+\.\d+", self.db.query_value("SELECT VERSION()")).group(0)

    def assert_untouched(self, pid, checksums):
        self.assertEqual(self.db.server_pid(), pid)
        self.assertEqual(self.env.asides(), [])
        self.assertEqual(self.env.failed(), [])
        self.assertEqual(self.db.checksum_tables(), checksums)

    def test_other_flavour_then_force(self):
        env, db = self.env, self.db
        ours = self.server_version()
        bid = env.backup(metadata={"flavour": "mysql", "version": "8.0.36"})
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

        r = env.restore(bid, "--force")
        self.assertIn(f"warning: the backup was made by MySQL 8.0.36 and the server of instance "
                      f"'db' is MariaDB {ours}", r.stdout)
        self.assertIn("restoring anyway (--force)", r.stdout)
        self.assertIn("using the earlier download", r.stdout)  # kept by the refusal
        self.assert_running()
        self.assertEqual(db.query_value("SELECT COUNT(*) FROM sbtest.sbtest2"), "10000")
        self.assertEqual(len(env.asides()), 1)

    def test_newer_release_and_a_stopped_server(self):
        env, db = self.env, self.db
        ours = self.server_version()
        newer = env.backup(metadata={"version": "99.1.2-MariaDB"})
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

    def test_corrupt_download_is_refused_before_anything(self):
        env, db = self.env, self.db
        bid = env.backup()
        stored = env.stored_path(bid)
        os.chmod(stored, 0o640)  # immutable in production; the test breaks it on purpose
        with open(stored, "r+b") as f:
            f.seek(os.path.getsize(stored) // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0x40]))
        pid, sums = db.server_pid(), db.checksum_tables()
        r = env.restore(bid, expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: backup {bid}: downloaded SHA-256 [0-9a-f]{{64}} "
                                   r"does not match the receiver's [0-9a-f]{64}\n")
        self.assertNotIn("archive ok", r.stdout)
        self.assert_untouched(pid, sums)
        self.assertEqual(os.listdir(env.spool), [])  # the bad bytes were not kept

    def test_plan_refusals(self):
        env, db = self.env, self.db
        pid, sums = db.server_pid(), db.checksum_tables()

        bare = env.backup(metadata={"flavour": None, "version": None, "roots": None})
        r = env.restore(bare, expect=1)
        self.assertIn("mfb: error: the backup's manifest does not record the server's flavour "
                      "and version\n", r.stderr)
        self.assertIn("--force", r.stderr)

        r = env.restore(bare, "--map", "binlog=/srv/binlog", expect=2)
        self.assertIn("mfb: error: --map binlog: the backup has no root named 'binlog'\n"
                      "HINT: its roots are: datadir\n", r.stderr)

        elsewhere = env.backup(metadata={"datadir": "/srv/elsewhere/mysql",
                                         "roots": [{"name": "datadir",
                                                    "path": "/srv/elsewhere/mysql"}]})
        r = env.restore(elsewhere, expect=1)
        self.assertIn(f"mfb: error: the backup's data directory was '/srv/elsewhere/mysql', but "
                      f"instance 'db' uses '{env.datadir}'\nHINT: to restore into the instance's "
                      f"data directory add --map datadir={env.datadir}; to look at the files "
                      f"elsewhere use --to DIR\n", r.stderr)
        self.assert_untouched(pid, sums)

        # the same backup, mapped to the instance's datadir: a restore from another host
        env.restore(elsewhere, "--map", f"datadir={env.datadir}")
        self.assert_running()
        self.assertEqual(len(env.asides()), 1)

    def test_no_room(self):
        env, db = self.env, self.db
        small = self.path("small")
        os.makedirs(small)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small],
                           capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {p.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", small])
        bid = env.backup()
        pid, sums = db.server_pid(), db.checksum_tables()
        r = env.restore(bid, "--map", f"datadir={small}/data", expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: not enough room to restore root 'datadir' into "
                                   rf"'{small}/data': it needs \S+ MiB, \S+ (KiB|MiB) are free\n")
        self.assertIn("HINT: nothing was changed", r.stderr)
        self.assert_untouched(pid, sums)


if __name__ == "__main__":
    mfbtest.main()
