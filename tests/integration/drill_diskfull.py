"""drill_diskfull.py - a restore drill whose scratch directory's disk is too
small (docs/drill.md, "The verdict"): a local disk problem says nothing
about the backup, so the drill is undecided, never "not restorable".

Against a real MariaDB and a real receiver over TLS, with `--scratch` on a
small tmpfs (root only: mounting; skipped, saying why, elsewhere):
- a tmpfs smaller than the backup unpacked: one error line with the
  numbers and what to do, exit 1, the scratch directory and the download
  removed, the real server untouched (same pid, answering), the job log
  has the failed drill and its reason, the alert is `drill_error` (error,
  "could not run"), not the critical `drill_failed`, and the receiver is
  told nothing;
- a tmpfs that holds the backup unpacked but not what the throwaway
  server writes when it starts (InnoDB's temporary tablespace): refused
  the same way, before the extraction;
- a tmpfs with room when the drill looks that is full when the server
  starts (a --server-bin that fills it, then runs mariadbd): the same, the
  error saying the scratch directory's disk is full;
- the spool filled during the download (a proxy holds it while the test
  fills a tmpfs): the same kind of failure, the '.part' kept, and the
  next drill continues it and passes.
"""

import os
import shutil
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402,F401
from jobtestlib import MFB, JobTestCase  # noqa: E402
from proxytestlib import CuttingProxy  # noqa: E402

ENTRY_OVERHEAD = 4096  # what the drill counts per file beyond its data (drill.c)


class DrillDiskFullTest(JobTestCase):
    env_name = "drill-diskfull"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.add_instance()
        cls.alerts = os.path.join(env.dir, "alerts.txt")
        env.mfb("alert", "add", "cmd", "--command",
                f"env | grep ^MFB_ALERT_ >> {cls.alerts}; echo '---' >> {cls.alerts}",
                "--min-severity", "warning")
        env.backup()
        cls.bid = env.stored_backups()[0]["backup_id"]
        b = env.stored_backups()[0]
        with zipfile.ZipFile(os.path.join(env.rx.storage, b["path"])) as z:
            cls.unpacked = sum(i.file_size + ENTRY_OVERHEAD for i in z.infolist()
                               if not i.is_dir())

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        open(self.alerts, "w").close()

    def tmpfs(self, name, size):
        path = os.path.join(self.env.dir, name)
        os.makedirs(path)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", path])
        return path

    def verification(self):
        b = next(b for b in self.env.stored_backups() if b["backup_id"] == self.bid)
        return b.get("verification")

    def drill_fails_locally(self, mnt, *args, left=()):
        """A drill with --scratch MNT/scratch that cannot run for want of
        room: everything a local failure must be. Returns its result."""
        env = self.env
        scratch = os.path.join(mnt, "scratch")
        pid = env.db.server_pid()
        verified = self.verification()
        r = env.mfb("drill", env.instance, self.bid, "--scratch", scratch, *args, expect=1,
                    timeout=300)
        self.assertEqual(len([ln for ln in r.stderr.splitlines() if ln.startswith("mfb: error:")]),
                         1, r.stderr)
        self.assertNotIn("not restorable", r.stdout + r.stderr)
        # the real server never stopped; nothing left behind
        self.assertEqual(env.db.server_pid(), pid)
        self.assertEqual(env.db.query_value("SELECT 1"), "1")
        self.assertEqual(sorted(os.listdir(mnt)), sorted(left))
        self.assertEqual([f for f in env.spool_files() if f.startswith("restore-")], [])
        # the job log: failed, with the reason
        job = env.sql("SELECT * FROM jobs WHERE kind = 'drill' ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual(job["status"], "failed")
        self.assertEqual(job["backup_id"], self.bid)
        # an error alert saying the drill could not run, not the critical one
        with open(self.alerts) as f:
            alerts = f.read()
        self.assertIn("MFB_ALERT_EVENT=drill_error", alerts)
        self.assertIn("MFB_ALERT_SEVERITY=error", alerts)
        self.assertIn(f"MFB_ALERT_SUBJECT=restore drill of '{env.instance}' could not run",
                      alerts)
        self.assertNotIn("drill_failed", alerts)
        self.assertNotIn("critical", alerts)
        # the receiver was told nothing: the backup is not proven either way
        self.assertEqual(self.verification(), verified)
        return r, job, alerts

    def assert_no_room(self, size):
        mnt = self.tmpfs(f"small-{size}", size)
        r, job, alerts = self.drill_fails_locally(mnt)
        scratch = os.path.join(mnt, "scratch")
        self.assertRegex(r.stderr, rf"mfb: error: not enough room in '{scratch}' for the drill: "
                                   r"the backup unpacked and its server need [\d.]+ MiB, "
                                   r"[\d.]+ (KiB|MiB) are free\n"
                                   r"HINT: this says nothing about the backup: free some space, "
                                   r"or give a scratch directory on a larger file system with "
                                   r"--scratch DIR\n")
        self.assertIn("not enough room in", job["error"])
        self.assertIn("not enough room in", alerts)

    def test_scratch_smaller_than_the_backup(self):
        self.assert_no_room("1m")

    def test_scratch_without_room_for_the_server(self):
        # room for the files, not for the temporary tablespace InnoDB makes
        # as it starts: refused before, not a server failing on a full disk
        self.assert_no_room(f"{(self.unpacked >> 10) + 1024}k")

    def test_scratch_fills_up_before_the_server_starts(self):
        # room when the drill looks; the disk is full when the server starts
        # (a server program that fills it first, then runs the real one)
        mnt = self.tmpfs("tight", f"{(self.unpacked >> 10) + (34 << 10)}k")
        real = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        wrapper = os.path.join(self.env.dir, "mariadbd-fills")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "case \"$1\" in --defaults-file=*) "
                    f"dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null;; esac\n"
                    f"exec {real} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        r, job, alerts = self.drill_fails_locally(mnt, "--server-bin", wrapper, left=["filler"])
        scratch = os.path.join(mnt, "scratch")
        self.assertIn(f"mfb: error: the drill's server could not start: the disk of the scratch "
                      f"directory '{scratch}' is full", r.stderr)
        self.assertIn("HINT: this says nothing about the backup: free space there, or give a "
                      "scratch directory on a larger file system with --scratch DIR", r.stderr)
        self.assertIn("is full", job["error"])
        self.assertIn("is full", alerts)

    def test_spool_fills_up_during_the_download(self):
        env = self.env
        b = next(b for b in env.stored_backups() if b["backup_id"] == self.bid)
        size = os.path.getsize(os.path.join(env.rx.storage, b["path"]))
        spool = self.tmpfs("spool-tight", f"{(size >> 10) + 1024}k")  # room when the drill looks
        env.add_instance(name="tight", spool=spool)
        scratch = os.path.join(env.dir, "scratch-tight")
        part = os.path.join(spool, f"restore-{self.bid}.zip.part")
        proxy = CuttingProxy(env.rx.port)
        self.addCleanup(proxy.close)
        env.mfb("target", "set", "rx", "--url", f"https://127.0.0.1:{proxy.port}")
        self.addCleanup(env.mfb, "target", "set", "rx", "--url",
                        f"https://127.0.0.1:{env.rx.port}")
        verified = self.verification()
        proxy.hold_after(size // 2)
        proc = subprocess.Popen([MFB, "drill", "tight", self.bid, "--scratch", scratch],
                                env=env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace")
        try:
            held = proxy.holding.wait(120)
            deadline = time.monotonic() + 120
            while held and not (os.path.exists(part) and os.path.getsize(part) >= 256 << 10):
                # mfb writes what the proxy sent a batch at a time, in its own time
                held = time.monotonic() < deadline
                time.sleep(0.05)
            if held:
                subprocess.run(["dd", "if=/dev/zero", f"of={spool}/filler", "bs=4k"],
                               capture_output=True)
            proxy.release()
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertTrue(held, "the download never got that far")
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn(f"mfb: error: cannot write '{part}': No space left on device\n"
                      f"HINT: the spool's disk is full: free space there; '{part}' is kept and "
                      "the next drill of this backup continues the download\n", err)
        self.assertGreater(os.path.getsize(part), 0)
        self.assertFalse(os.path.exists(scratch))
        with open(self.alerts) as f:
            alerts = f.read()
        self.assertIn("MFB_ALERT_EVENT=drill_error", alerts)
        self.assertNotIn("drill_failed", alerts)
        self.assertEqual(self.verification(), verified)

        have = os.path.getsize(part)
        os.unlink(f"{spool}/filler")
        proxy.reset_count()
        r = env.mfb("drill", "tight", self.bid, "--scratch", scratch, timeout=300)
        self.assertIn(f"(resumed at byte {have}); SHA-256 matches", r.stdout)
        self.assertIn("passed, the backup is restorable", r.stdout)


if __name__ == "__main__":
    mfbtest.main()
