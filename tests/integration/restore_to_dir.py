"""restore_to_dir.py - `mfb restore INSTANCE BACKUP --to DIR` only extracts.

The backup is downloaded, verified and extracted into a scratch directory,
each root under DIR/<root>; the instance's own server is not touched (same
process, no directory moved aside). Then a SECOND mariadbd is started on the
extracted datadir, on its own socket and port, and it answers with exactly
the data of the backup, while the first server has moved on. A DIR that is
not empty is refused before anything is downloaded, and --to excludes --map.
"""

import os
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from restore_testlib import RestoreTestCase  # noqa: E402


class ToDirTest(RestoreTestCase):

    def test_extract_and_start_a_second_server(self):
        db, env = self.db, self.env
        before = db.checksum_tables()
        bid = env.backup()
        db.execute("DELETE FROM sbtest.sbtest4 WHERE id <= 100")
        now = db.checksum_tables()
        pid = db.server_pid()

        to = self.path("scratch")
        r = env.restore(bid, "--to", to)
        self.assertIn(f"extracted backup {bid} into {to}", r.stdout)
        self.assertIn(f"root datadir -> {to}/datadir", r.stdout)
        self.assertNotIn("stopped the server", r.stdout)
        self.assertEqual(sorted(os.listdir(to)), ["datadir"])
        self.assertTrue(os.path.isfile(os.path.join(to, "datadir", "sbtest", "sbtest1.ibd")))
        self.assertFalse(os.path.exists(os.path.join(to, "mfb-manifest.json")))

        # the instance was not touched
        self.assertEqual(db.server_pid(), pid)
        self.assertEqual(env.asides(), [])
        self.assertEqual(db.checksum_tables(), now)
        self.assertEqual(env.spool_files(), [])

        # a second server on the extracted files, beside the first
        with MariaDB(os.path.join(to, "datadir"), parent_dir=self.tmp) as second:
            self.assertNotEqual(second.socket, db.socket)
            self.assertNotEqual(second.port, db.port)
            self.assertEqual(second.checksum_tables(), before)
            self.assertEqual(second.query_value("SELECT COUNT(*) FROM sbtest.sbtest4"), "10000")
        self.assertFalse(second.is_running())
        self.assertEqual(db.query_value("SELECT COUNT(*) FROM sbtest.sbtest4"), "9900")

    def test_refusals(self):
        env = self.env
        bid = env.backup()
        full = self.path("full")
        os.makedirs(full)
        with open(os.path.join(full, "keep.txt"), "w") as f:
            f.write("mine")
        r = env.restore(bid, "--to", full, expect=1)
        self.assertIn(f"mfb: error: --to '{full}' is not empty\n", r.stderr)
        self.assertIn("HINT: give a new or empty directory; mfb never overwrites files", r.stderr)
        self.assertEqual(os.listdir(full), ["keep.txt"])
        self.assertEqual(env.spool_files(), [])  # refused before the download

        r = env.restore(bid, "--to", self.path("x"), "--map", "datadir=/tmp/y", expect=2)
        self.assertIn("mfb: error: --to and --map exclude each other", r.stderr)

        # an empty existing directory is fine
        empty = self.path("empty")
        os.makedirs(empty)
        env.restore(bid, "--to", empty)
        self.assertEqual(os.listdir(empty), ["datadir"])

    def test_manual_restore_with_unzip(self):
        """docs/restore.md: without mfb, `unzip` and `sha256sum` are enough."""
        db, env = self.db, self.env
        before = db.checksum_tables()
        bid = env.backup()
        stored = env.stored_path(bid)
        # the receiver's NAME.sha256 checks the file as sha256sum -c expects
        mfbtest.run(["sha256sum", "-c", os.path.basename(stored) + ".sha256"],
                    cwd=os.path.dirname(stored), expect=0)
        zip_path = self.path("backup.zip")
        env.mfb("fetch", bid, zip_path, *env.target_args())
        mfbtest.run(["unzip", "-tq", zip_path], expect=0)
        manual = self.path("manual")
        mfbtest.run(["unzip", "-q", zip_path, "datadir/*", "-d", manual], expect=0)
        self.assertEqual(os.listdir(manual), ["datadir"])
        with MariaDB(os.path.join(manual, "datadir"), parent_dir=self.tmp) as second:
            self.assertEqual(second.checksum_tables(), before)


if __name__ == "__main__":
    mfbtest.main()
