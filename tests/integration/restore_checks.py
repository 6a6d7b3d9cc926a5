"""restore_checks.py - the checks `mfb restore` makes before it touches
anything, each refusal leaving the server running and the data as it was:

- a corrupt download (a byte flipped in the receiver's stored file): the
  SHA-256 check refuses it before the datadir is touched;
- an archive without metadata, a --map naming no root, a datadir recorded
  elsewhere than the instance's (then restored with --map, as on another
  host), and a destination without room (on a small tmpfs, when one can be
  mounted).
"""

import fcntl
import os
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from restore_testlib import RestoreTestCase, mount_tmpfs  # noqa: E402


class CheckTest(RestoreTestCase):

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
        # a staged restore stages while it downloads (docs/restore.md,
        # "Extracting while downloading"): the damaged byte is caught by the
        # SHA-256 of the whole file, or first by the CRC-32 of the entry it
        # falls in; either way before the stop
        self.assertRegex(r.stderr, rf"mfb: error: (backup {bid}: downloaded SHA-256 "
                                   r"[0-9a-f]{64} does not match the receiver's [0-9a-f]{64}|"
                                   r"entry '[^']+': [^\n]+)\n")
        self.assertNotIn("stopped the server", r.stdout)
        self.assert_untouched(pid, sums)
        self.assertEqual(env.spool_files(), [])  # the bad bytes were not kept

    def test_plan_refusals(self):
        env, db = self.env, self.db
        bare = env.forged_backup(metadata={"flavour": None, "version": None, "roots": None})
        elsewhere = env.forged_backup(metadata={"datadir": "/srv/elsewhere/mysql",
                                         "roots": [{"name": "datadir",
                                                    "path": "/srv/elsewhere/mysql"}]})
        pid, sums = db.server_pid(), db.checksum_tables()

        r = env.restore(bare, expect=1)
        self.assertIn("mfb: error: the backup's manifest does not record the server's flavour "
                      "and version\n", r.stderr)
        self.assertIn("--force", r.stderr)

        r = env.restore(bare, "--map", "binlog=/srv/binlog", expect=2)
        self.assertIn("mfb: error: --map binlog: the backup has no root named 'binlog'\n"
                      "HINT: its roots are: datadir\n", r.stderr)

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
        mount_tmpfs(self, small, "2m")
        bid = env.backup()
        pid, sums = db.server_pid(), db.checksum_tables()
        r = env.restore(bid, "--map", f"datadir={small}/data", expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: not enough room to stage root 'datadir' beside "
                                   rf"'{small}/data': it needs \S+ MiB, \S+ (KiB|MiB) are free\n"
                                   r"HINT: nothing was changed; free that much space, restore "
                                   r"elsewhere with --map or --to, or use --in-place")
        self.assert_untouched(pid, sums)
        r = env.restore(bid, "--in-place", "--map", f"datadir={small}/data", expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: not enough room to restore root 'datadir' into "
                                   rf"'{small}/data': it needs \S+ MiB, \S+ (KiB|MiB) are free\n")
        self.assertIn("HINT: nothing was changed", r.stderr)
        self.assert_untouched(pid, sums)

    def test_busy_instance(self):
        env, db = self.env, self.db
        bid = env.backup()
        pid, sums = db.server_pid(), db.checksum_tables()
        lock = os.path.join(env.spool, ".mfb-db.lock")
        with open(lock, "w") as f:
            f.write("pid=%d job=99 kind=backup started=0\n" % os.getpid())
            f.flush()
            fcntl.flock(f, fcntl.LOCK_EX)
            r = env.restore(bid, expect=1)
        self.assertIn("mfb: error: instance 'db' is busy: backup job 99 (pid %d) is running\n"
                      % os.getpid(), r.stderr)
        self.assertEqual(r.stdout, "")
        self.assert_untouched(pid, sums)
        env.restore(bid)  # the lock is free again


if __name__ == "__main__":
    mfbtest.main()
