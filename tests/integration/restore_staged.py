"""restore_staged.py - the staged restore (docs/restore.md, "Staged restore"):
the backup is extracted beside each root while the server runs, and the
server is down only for the swap and the start.

- a server with files in several places (binary logs elsewhere, a table
  with DATA DIRECTORY outside the datadir, a datadir that is a symbolic
  link): every root is staged before the stop, swapped in, the link stays,
  and every table's CHECKSUM TABLE is the backup's; binary logs on a file
  system of their own (a tmpfs) are staged on it;
- kill -9 while staging (MFB_TEST_PAUSE_AT=staging): the server runs
  untouched; the next run adopts the staging directory its record names
  and reuses the files staged there (restore_resume.py has the details);
- kill -9 in the middle of the swap (MFB_TEST_PAUSE_AT=swap, after the
  first of two roots): the next run puts the old directories back first
  (the server then runs on the old set, never on a mix), and a run after
  that restores;
- kill -9 once every root is swapped: the next run finishes that swap;
- a backup whose file matches its SHA-256 but holds a damaged entry: the
  archive's structure passes, the entry's CRC-32 fails while it is staged,
  and nothing was changed (the server still runs, no staging left);
- --in-place: the old method (stop, move aside, extract) still works.
"""

import json
import os
import shutil
import re
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import ziptools  # noqa: E402
from restore_testlib import INSTANCE, OwnEnvTestCase, mount_tmpfs  # noqa: E402


def staging_dirs(place):
    parent, base = os.path.split(place)
    return sorted(n for n in os.listdir(parent) if n.startswith(f".{base}.mfb-staging-"))


class StagedTest(OwnEnvTestCase):

    def journal(self):
        return os.path.join(self.env.spool, f".mfb-{INSTANCE}.restore-swap")

    def killed_at(self, bid, point):
        """`mfb restore` paused at point (the test-only MFB_TEST_PAUSE_AT), then
        killed with SIGKILL. Returns what it printed."""
        env = dict(self.env.env(), MFB_TEST_PAUSE_AT=point)
        proc = subprocess.Popen([mfbtest.MFB, "restore", INSTANCE, bid], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                if line.strip() == f"test pause at {point}":
                    break
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        out = "".join(lines)
        self.assertIn(f"test pause at {point}", out)
        return out

    def binlog_env(self, tmpfs=None, **kw):
        binlog = self.path("binlog")
        if tmpfs:  # a file system of their own (the mount point is its parent)
            mount_tmpfs(self, self.path("fs2"), tmpfs)
            binlog = self.path("fs2/binlog")
        os.makedirs(binlog)
        env = self.make_env(options={"log_bin": os.path.join(binlog, "mariadb-bin"),
                                     "server_id": "1"}, **kw)
        return env, binlog

    def test_several_places(self):
        env, binlog = self.binlog_env(tables=2, rows=2000)
        db = self.db
        ts = self.path("ts")
        os.makedirs(ts)
        db.execute("CREATE TABLE sbtest.outside (id INT PRIMARY KEY, v VARCHAR(20)) "
                   f"ENGINE=InnoDB DATA DIRECTORY='{ts}'; "
                   "INSERT INTO sbtest.outside VALUES (1, 'a'), (2, 'b')")
        before = db.checksum_tables()
        bid = env.backup()
        db.execute("UPDATE sbtest.outside SET v = 'changed'; "
                   "DELETE FROM sbtest.sbtest1 WHERE id > 100; FLUSH BINARY LOGS")
        self.assertNotEqual(db.checksum_tables(), before)
        # the datadir becomes a symbolic link to a directory of another name
        real = env.datadir + ".real"
        db.stop()
        os.rename(env.datadir, real)
        os.symlink(real, env.datadir)
        db.start()

        r = env.restore(bid)
        out = r.stdout
        for root in ("datadir", "binlog", "tablespace-1"):
            self.assertIn(f"staged root {root} in ", out)
            self.assertLess(out.index(f"staged root {root} in "), out.index("stopped the server"))
        self.assertIn(f"restored root datadir into {real}: ", out)
        self.assertIn(f"(the link {env.datadir} stays)", out)
        self.assertIn(f"restored root binlog into {binlog}: ", out)
        self.assertIn(f"restored root tablespace-1 into {os.path.join(ts, 'sbtest')}: ", out)
        self.assertEqual(db.checksum_tables(), before)
        self.assertEqual(db.query_value("SELECT v FROM sbtest.outside WHERE id = 1"), "a")
        self.assertTrue(os.path.islink(env.datadir))
        self.assertEqual(os.readlink(env.datadir), real)
        for place in (real, binlog, os.path.join(ts, "sbtest")):
            self.assertEqual(staging_dirs(place), [])
        self.assertFalse(os.path.exists(self.journal()))

    def test_roots_on_two_file_systems(self):
        """The binary logs on a tmpfs of their own: staged there, beside them."""
        env, binlog = self.binlog_env(tmpfs="64m", tables=1, rows=2000)
        self.assertNotEqual(os.stat(binlog).st_dev, os.stat(env.datadir).st_dev)
        before = self.db.checksum_tables()
        bid = env.backup()
        self.change_data(keep=500)
        r = env.restore(bid)
        self.assertRegex(r.stdout, rf"staged root binlog in {self.tmp}/fs2/\.binlog\.mfb-staging-\d+: ")
        self.assertIn(f"restored root binlog into {binlog}: ", r.stdout)
        self.assertEqual(self.db.checksum_tables(), before)
        self.assertEqual(staging_dirs(binlog), [])

    def test_kill_while_staging(self):
        env = self.make_env(tables=2, rows=5000)
        before = self.db.checksum_tables()
        bid = env.backup()
        old = self.change_data()
        pid = self.db.server_pid()
        out = self.killed_at(bid, "staging")
        self.assertNotIn("stopped the server", out)
        # the server runs untouched; the staging directory is what is left
        self.assertEqual(self.db.server_pid(), pid)
        self.assertEqual(self.db.checksum_tables(), old)
        self.assertEqual(env.asides(), [])
        self.assertEqual(len(staging_dirs(env.datadir)), 1)

        # the next run adopts it: every file it had staged is reused
        r = env.restore(bid)
        self.assertNotIn("removed 1 staging directory", r.stdout)
        self.assertRegex(r.stdout, r"adopted the staging of an interrupted restore of this "
                                   rf"backup \({env.datadir.rsplit('/', 1)[0]}/\.data\."
                                   r"mfb-staging-\d+\): (\d+) entries \(.*\) it had staged and "
                                   r"checked are unchanged and reused\n")
        m = re.search(r"reused_entries=(\d+) ", r.stderr)
        self.assertGreater(int(m.group(1)), 0)
        self.assertEqual(self.db.checksum_tables(), before)
        self.assertEqual(staging_dirs(env.datadir), [])

    def test_kill_during_the_swap(self):
        env, binlog = self.binlog_env(tables=2, rows=5000)
        before = self.db.checksum_tables()
        bid = env.backup()
        old = self.change_data()
        out = self.killed_at(bid, "swap")
        self.assertIn(f"restored root datadir into {env.datadir}: ", out)
        self.assertNotIn("restored root binlog into", out)
        self.assertFalse(self.db.is_running())
        self.assertTrue(os.path.exists(self.journal()))

        # the next run puts the old directories back before anything else
        # (killed again while staging, to look at what it found)
        out = self.killed_at(bid, "staging")
        self.assertIn("an interrupted restore had swapped only part of the roots; the old "
                      f"directories are back: {env.datadir} (restored files in "
                      f"{env.failed()[0]})", out)
        self.assertFalse(os.path.exists(self.journal()))
        self.assertEqual(env.asides(), [])
        self.db.start()
        self.assertEqual(self.db.checksum_tables(), old)

        # and a complete run restores (adopting what the second one staged)
        r = env.restore(bid)
        self.assertIn("adopted the staging of an interrupted restore of this backup", r.stdout)
        self.assertEqual(self.db.checksum_tables(), before)
        self.assertEqual(staging_dirs(env.datadir), [])
        self.assertEqual(staging_dirs(binlog), [])

    def test_kill_once_every_root_is_swapped(self):
        env = self.make_env(tables=1, rows=2000)
        before = self.db.checksum_tables()
        bid = env.backup()
        self.change_data(keep=500)
        self.killed_at(bid, "swap")
        self.assertFalse(self.db.is_running())
        self.assertEqual(len(env.asides()), 1)
        r = env.restore(bid)
        self.assertIn("an interrupted restore had swapped every root; its swap was finished: "
                      f"{env.datadir}", r.stdout)
        self.assertEqual(self.db.checksum_tables(), before)
        self.assertFalse(os.path.exists(self.journal()))

    def test_damaged_entry_is_caught_while_staging(self):
        env = self.make_env(tables=1, rows=2000)
        bid = env.backup()
        old = self.change_data(keep=500)
        pid = self.db.server_pid()
        damaged = self.path("damaged.zip")
        shutil.copyfile(env.stored_path(bid), damaged)
        offset, length = ziptools.data_range(damaged, "datadir/sbtest/sbtest1.ibd")
        ziptools.flip_byte(damaged, offset + length // 2)
        r = env.mfb("push", damaged, *env.target_args(), "--instance", INSTANCE, "--json")
        bad = json.loads(r.stdout)["backup_id"]
        r = env.restore(bad, expect=1)
        self.assertIn("archive ok: ", r.stdout)  # the structure is whole
        self.assertIn("mfb: error: ", r.stderr)
        self.assertIn("sbtest/sbtest1.ibd", r.stderr)
        # the entry is caught as it arrives, before the download has ended
        self.assertIn("HINT: nothing was changed, the server still runs; the receiver sent "
                      "damaged data (the partial download was removed), so its stored copy most "
                      "likely is damaged ('sha256sum -c' its .sha256 file there tells): restore "
                      "another backup\n", r.stderr)
        self.assertEqual(env.spool_files(), [])
        self.assertNotIn("stopped the server", r.stdout)
        self.assertEqual(self.db.server_pid(), pid)
        self.assertEqual(self.db.checksum_tables(), old)
        self.assertEqual(staging_dirs(env.datadir), [])
        self.assertEqual(env.asides(), [])

    def test_aside_name_of_the_same_second(self):
        """Two restores of one second (one killed during its swap, which the
        next run's recovery finished) never meet at one aside name: the name
        carries the job's id, '<stamp>-job<id>'. The stamp-only names of
        every second from just before the run to long after it are taken,
        so the run's own second is among them."""
        env = self.make_env(tables=1, rows=2000)
        before = self.db.checksum_tables()
        bid = env.backup()
        self.change_data(keep=500)
        now = time.time()
        taken = [f"{env.datadir}.mfb-before-restore-"
                 f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now + i))}"
                 for i in range(-2, 600)]
        for t in taken:
            os.mkdir(t)
        r = env.restore(bid)
        m = re.search(rf"moved {re.escape(env.datadir)} aside to (\S+)\n", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        stamp = re.fullmatch(r"(.*)-job\d+", m.group(1))
        self.assertIsNotNone(stamp, m.group(1))
        self.assertIn(stamp.group(1), taken)
        self.assertTrue(os.path.isdir(m.group(1)))
        self.assertEqual(self.db.checksum_tables(), before)

    def test_in_place(self):
        env = self.make_env(tables=1, rows=2000)
        before = self.db.checksum_tables()
        bid = env.backup()
        self.change_data(keep=500)
        r = env.restore(bid, "--in-place")
        self.assertNotIn("staged", r.stdout)
        self.assertLess(r.stdout.index("stopped the server"),
                        r.stdout.index(f"restored root datadir into {env.datadir}: "))
        self.assertEqual(self.db.checksum_tables(), before)
        self.assertEqual(len(env.asides()), 1)
        r = env.restore(bid, "--in-place", "--to", self.path("x"), expect=2)
        self.assertIn("--to and --in-place exclude each other", r.stderr)


if __name__ == "__main__":
    mfbtest.main()
