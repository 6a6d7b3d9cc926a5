"""restore_diskfull.py - a restore whose disk fills up mid-way: one clear
error, nothing lost, and the same command resumes (docs/restore.md, "When
it fails").

Against a real MariaDB and a real mfb-server over TLS, reached through the
proxy of tests/lib/proxytestlib.py, which holds the download at a byte the
test chooses; while it is held, the test fills a small tmpfs (root only:
mounting; the tests skip, saying why, elsewhere), then lets the download go
on into the full disk:
- the spool (`--spool DIR` on a tmpfs with room for the backup when the
  preflight looks) fills during the download (of a staged restore, and of
  `--to DIR`, which downloads first): one error line saying the
  disk is full and where, the hint saying what to do and that the partial
  download is kept; exit 1; the server was never stopped and still
  answers; the job log has the failure; after the space is freed the same
  command resumes the download ("resumed at byte N") and the restore
  completes with the backup's data;
- the data directory on a tmpfs that holds the live data but not a second
  copy: the staged restore refuses before doing anything, with the numbers
  and the --in-place alternative;
- the same tmpfs with room for the staged copy, filled during the staging:
  the error names the staging directory, the staging is removed (docs:
  a full disk drops it), the server runs on untouched, the download's
  .part is kept; with the space freed the same command resumes the
  download and completes.
"""

import errno
import json
import os
import re
import subprocess
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from proxytestlib import CuttingProxy  # noqa: E402
from restore_testlib import INSTANCE, TARGET, OwnEnvTestCase, mount_tmpfs  # noqa: E402

WAIT = 120  # seconds; only a bound for a hang, never a measured duration
ENTRY_OVERHEAD = 4096  # what the preflight counts per entry beyond its data (restore.c)


def fill(directory):
    """Fills the file system of directory up to the last byte (a file
    'filler' there); returns its path."""
    path = os.path.join(directory, "filler")
    chunk = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            while True:
                try:
                    f.write(chunk[:size])
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return path


def wait_for_size(path, size, timeout=WAIT):
    """Waits until the file at path holds at least size bytes (the proxy
    has sent them; mfb writes them a batch at a time, in its own time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) >= size:
            return True
        time.sleep(0.05)
    return False


def used_bytes(mnt):
    st = os.statvfs(mnt)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def resize(mnt, size):
    subprocess.run(["mount", "-o", f"remount,size={size}", mnt], check=True)


class DiskFullTest(OwnEnvTestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")

    def start(self, tables=2, rows=10000):
        env = self.make_env(tables=tables, rows=rows)
        self.bid = env.backup()
        self.sums = self.db.checksum_tables()  # the backup's data
        self.stored = env.stored_path(self.bid)
        self.size = os.path.getsize(self.stored)
        self.assertGreater(self.size, 1 << 20, "the backup is too small to fill up in the middle")
        with zipfile.ZipFile(self.stored) as z:
            infos = [i for i in z.infolist() if i.filename.startswith("datadir/")]
        self.unpacked = sum(i.file_size + ENTRY_OVERHEAD for i in infos)
        self.proxy = CuttingProxy(env.rx.port)
        self.addCleanup(self.proxy.close)
        env.mfb("target", "set", TARGET, "--url", f"https://127.0.0.1:{self.proxy.port}")
        self.changed = self.change_data()
        return env

    def held_restore(self, args, at, full, part, more=None):
        """`mfb restore db BACKUP ARGS` whose download the proxy holds at byte
        `at`; once `part` (the download) holds a first batch, the file
        system of `full` is filled and the download let go (or only `more`
        bytes of it: the download cannot end before the restore fails).
        Returns (exit status, stdout, stderr, the filler's path)."""
        self.proxy.hold_after(at)
        proc = subprocess.Popen([mfbtest.MFB, "restore", INSTANCE, self.bid, *args],
                                env=self.env.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace")
        out = {}

        def collect(name, stream):
            out[name] = stream.read()
        threads = [threading.Thread(target=collect, args=(n, s), daemon=True)
                   for n, s in (("out", proc.stdout), ("err", proc.stderr))]
        for t in threads:
            t.start()
        filler = None
        try:
            held = self.proxy.holding.wait(WAIT) and wait_for_size(part, 256 << 10)
            if held:
                filler = fill(full)
            self.proxy.release(more)
            rc = proc.wait(timeout=WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for t in threads:
                t.join(timeout=WAIT)
            proc.stdout.close()
            proc.stderr.close()
        self.assertTrue(held, f"the download never got to byte {at}:\n{out}")
        return rc, out.get("out", ""), out.get("err", ""), filler

    def last_job(self):
        jobs = json.loads(self.env.mfb("logs", "--json", "--limit", "1").stdout)
        self.assertEqual(jobs[0]["kind"], "restore")
        return jobs[0]

    def assert_one_error(self, rc, out, err):
        self.assertEqual(rc, 1, f"--- stdout ---\n{out}\n--- stderr ---\n{err}")
        self.assertEqual(len([ln for ln in err.splitlines() if ln.startswith("mfb: error:")]), 1,
                         err)

    def assert_server_untouched(self, pid):
        self.assertEqual(self.db.server_pid(), pid, "the server was restarted")
        self.assertEqual(self.db.query_value("SELECT 1"), "1")
        self.assertEqual(self.db.checksum_tables(), self.changed)
        self.assertEqual(self.beside(".mfb-before-restore-"), [])
        self.assertEqual(self.beside(".mfb-failed-restore-"), [])

    def beside(self, infix):
        """What lies beside the data directory (the one a link points to)."""
        parent = os.path.dirname(os.path.realpath(self.env.datadir))
        return sorted(os.path.join(parent, n) for n in os.listdir(parent) if infix in n)

    def staging_dirs(self):
        return self.beside(".mfb-staging-")

    def assert_resumed(self, args, part_size):
        part = os.path.join(args[args.index("--spool") + 1] if "--spool" in args
                            else self.env.spool, f"restore-{self.bid}.zip")
        self.proxy.reset_count()
        r = self.env.restore(self.bid, *args)
        self.assertIn(f"downloaded {part} (resumed at byte {part_size}); SHA-256 matches",
                      r.stdout)
        self.assertIn(f"resume_from={part_size}", r.stderr)
        self.assertEqual(self.db.checksum_tables(), self.sums)
        return r

    def test_spool_fills_up_during_the_download(self):
        env, db = self.start(), self.db
        spool = self.path("spool-small")
        mount_tmpfs(self, spool, f"{(self.size >> 10) + 2048}k")  # room when the preflight looks
        part = os.path.join(spool, f"restore-{self.bid}.zip.part")
        pid = db.server_pid()

        rc, out, err, filler = self.held_restore(["--spool", spool], self.size // 2, spool, part)
        self.assert_one_error(rc, out, err)
        self.assertIn(f"mfb: error: cannot write '{part}': No space left on device\n", err)
        self.assertIn(f"HINT: nothing was changed, the server still runs; the spool's disk is "
                      f"full: free space there (or download elsewhere with --spool DIR), then "
                      f"run the same command again: '{part}' is kept and it continues the "
                      f"download\n", err)
        self.assert_server_untouched(pid)
        self.assertEqual(self.staging_dirs(), [])
        # the partial download is kept: a prefix of the backup
        have = os.path.getsize(part)
        self.assertGreater(have, 0)
        self.assertLess(have, self.size)
        with open(part, "rb") as p, open(self.stored, "rb") as s:
            self.assertEqual(p.read(), s.read(have))
        job = self.last_job()
        self.assertEqual(job["status"], "failed")
        self.assertIn("No space left on device", job["error"])

        os.unlink(filler)  # the DBA frees the space
        self.assert_resumed(["--spool", spool], have)
        self.assertLess(self.proxy.received, self.size - have + (512 << 10))
        self.assertEqual(self.last_job()["status"], "ok")

    def test_spool_fills_up_during_a_download_to_a_directory(self):
        # --to DIR (and --in-place) download first, then extract
        env, db = self.start(tables=1, rows=10000), self.db
        spool = self.path("spool-small")
        mount_tmpfs(self, spool, f"{(self.size >> 10) + 2048}k")
        part = os.path.join(spool, f"restore-{self.bid}.zip.part")
        to = self.path("files")
        rc, out, err, filler = self.held_restore(["--to", to, "--spool", spool],
                                                 self.size // 2, spool, part)
        self.assert_one_error(rc, out, err)
        self.assertIn(f"mfb: error: cannot write '{part}': No space left on device\n", err)
        self.assertIn(f"HINT: nothing was changed; the spool's disk is full: free space there (or "
                      f"download elsewhere with --spool DIR), then run the same command again: "
                      f"'{part}' is kept and it continues the download\n", err)
        self.assertFalse(os.path.exists(to) and os.listdir(to))
        have = os.path.getsize(part)
        self.assertGreater(have, 0)
        os.unlink(filler)
        self.proxy.reset_count()
        r = env.restore(self.bid, "--to", to, "--spool", spool)
        self.assertIn(f"downloaded {part[:-len('.part')]} (resumed at byte {have}); SHA-256 "
                      "matches", r.stdout)
        self.assertTrue(os.path.exists(os.path.join(to, "datadir", "sbtest", "sbtest1.ibd")))

    def test_spool_without_room_for_a_download_to_a_directory(self):
        # the room counted first: the numbers, and nothing was fetched
        env = self.start(tables=1, rows=10000)
        spool = self.path("spool-tiny")
        mount_tmpfs(self, spool, "256k")
        r = env.restore(self.bid, "--to", self.path("files"), "--spool", spool, expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: not enough room in the spool '{spool}' to "
                                   rf"download backup {self.bid}: it needs \S+ MiB more, \S+ "
                                   r"(B|KiB) are free\n"
                                   r"HINT: nothing was changed; free that much space there, or "
                                   r"download elsewhere with --spool DIR\n")
        self.assertEqual(os.listdir(spool), [])

    def datadir_on_tmpfs(self):
        """Moves the datadir onto a tmpfs of its own (the instance's path a
        link to it, as restore_3am.py does); returns the mount point, with
        the live data using part of it."""
        env, db = self.env, self.db
        mnt = self.path("fs")
        mount_tmpfs(self, mnt, "1g")
        real = os.path.join(mnt, "data")
        db.stop()
        subprocess.run(["cp", "-a", env.datadir, real], check=True)
        mfbtest.rmtree(env.datadir)
        os.symlink(real, env.datadir)
        db.start()
        self.changed = db.checksum_tables()
        return mnt

    def test_no_room_beside_the_datadir_is_refused_first(self):
        env, db = self.start(tables=1, rows=5000), self.db
        mnt = self.datadir_on_tmpfs()
        # room for the live data, not for a second copy beside it
        resize(mnt, used_bytes(mnt) + self.unpacked // 2)
        pid = db.server_pid()
        r = env.restore(self.bid, expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: not enough room to stage root 'datadir' beside "
                                   rf"'{mnt}/data': it needs [\d.]+ MiB, [\d.]+ MiB are free\n"
                                   r"HINT: nothing was changed; free that much space, restore "
                                   r"elsewhere with --map or --to, or use --in-place")
        self.assertLess(self.proxy.received, 1 << 20, "the backup was downloaded")
        self.assertEqual([n for n in os.listdir(env.spool) if not n.startswith(".mfb-")], [])
        self.assertEqual(os.listdir(mnt), ["data"])
        self.assert_server_untouched(pid)

    def test_staging_fills_up_during_the_extraction(self):
        env, db = self.start(), self.db
        mnt = self.datadir_on_tmpfs()
        resize(mnt, used_bytes(mnt) + self.unpacked + (4 << 20))  # room when the preflight looks
        part = os.path.join(env.spool, f"restore-{self.bid}.zip.part")
        pid = db.server_pid()

        rc, out, err, filler = self.held_restore([], self.size // 2, mnt, part, more=1 << 20)
        self.assert_one_error(rc, out, err)
        # the error names the file it could not write, in the staging directory
        m = re.search(r"(?m)^mfb: error: entry '[^']+': cannot (write|create|create directory) "
                      r"'([^']+)': No space left on device$", err)
        self.assertIsNotNone(m, err)
        self.assertRegex(m.group(2), rf"^{re.escape(mnt)}/\.data\.mfb-staging-\d+/")
        self.assertIn("HINT: nothing was changed, the server still runs; that disk is full: the "
                      "staging directories were removed; free space there (a staged restore "
                      "needs room for the restored files beside the live data, and --in-place "
                      "the same), then run the same command again: "
                      f"'{part}' is kept and it continues the download\n", err)
        self.assertEqual(self.staging_dirs(), [])
        self.assertEqual(sorted(os.listdir(mnt)), ["data", "filler"])
        self.assertEqual(env.spool_files(), [os.path.basename(part)])
        self.assert_server_untouched(pid)
        job = self.last_job()
        self.assertEqual(job["status"], "failed")
        self.assertIn("No space left on device", job["error"])

        have = os.path.getsize(part)
        os.unlink(filler)
        self.assert_resumed([], have)
        self.assertEqual(len(self.beside(".mfb-before-restore-")), 1)


if __name__ == "__main__":
    mfbtest.main()
