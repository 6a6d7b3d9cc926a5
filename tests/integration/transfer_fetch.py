"""transfer_fetch.py - `mfb fetch BACKUP_ID OUT`: download, verify, publish.

A dropped download continues with a Range request from where it stopped,
in the same run and in a later run (OUT.part, also after kill -9); a
receiver that ignores Range is handled; a partial file with wrong bytes is
caught by the final SHA-256 check and removed; OUT is never overwritten."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB", os.path.join(os.path.dirname(__file__),
                                                               "..", "lib")))
from transfer_testlib import MFB, MiB, TransferTest, main  # noqa: E402


class FetchTest(TransferTest):
    def setUp(self):
        super().setUp()
        src = self.make_file("source.zip", 5 * MiB + 333, seed=7)
        with open(src, "rb") as f:
            self.data = f.read()
        self.bid = self.rx.add_backup(self.data)
        self.out = os.path.join(self.tmp, "restored.zip")

    def fetch(self, *extra, out=None):
        return self.run_mfb([MFB, "fetch", self.bid, out or self.out] + self.target_args() +
                            list(extra))

    def content_ranges(self):
        return [r[3].get("range") for r in self.rx.requests_matching("GET", "/content$")]

    def assert_fetched(self, res):
        self.assert_ok(res)
        with open(self.out, "rb") as f:
            self.assertEqual(f.read(), self.data)
        self.assertFalse(os.path.exists(self.out + ".part"))

    def test_fetch(self):
        res = self.fetch()
        self.assert_fetched(res)
        out = self.fields(res.stdout)
        self.assertEqual(out["backup_id"], self.bid)
        self.assertEqual(out["size"], str(len(self.data)))
        self.assertEqual(out["sha256"], self.sha256_of(self.out))
        self.assertEqual(self.content_ranges(), [None])
        self.assertNotIn("\r", res.stderr)

    def test_dropped_download_continues_with_range(self):
        self.rx.add_fault("drop", method="GET", path="/content$", after_bytes=3 * MiB // 2,
                          count=2)
        res = self.fetch()
        self.assert_fetched(res)
        ranges = self.content_ranges()
        self.assertEqual(len(ranges), 3)
        self.assertIsNone(ranges[0])
        starts = [int(r[len("bytes="):-1]) for r in ranges[1:]]
        self.assertTrue(0 < starts[0] < starts[1] <= 3 * MiB, ranges)

    def test_later_run_resumes_the_part_file(self):
        with open(self.out + ".part", "wb") as f:
            f.write(self.data[:MiB + 123])
        res = self.fetch("--json")
        self.assert_fetched(res)
        self.assertEqual(json.loads(res.stdout)["resumed_from"], MiB + 123)
        self.assertEqual(self.content_ranges(), ["bytes=%d-" % (MiB + 123)])

    def test_kill_9_then_fetch_again(self):
        self.rx.add_fault("slow", method="GET", path="/content$", rate=2 * MiB, count=1)
        proc = subprocess.Popen([MFB, "fetch", self.bid, self.out] + self.target_args(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        part = self.out + ".part"
        end = time.monotonic() + 30
        while time.monotonic() < end and (not os.path.exists(part) or
                                          os.path.getsize(part) < MiB):
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        kept = os.path.getsize(part)
        self.assertGreaterEqual(kept, MiB)
        res = self.fetch()
        self.assert_fetched(res)
        self.assertEqual(self.content_ranges()[-1], "bytes=%d-" % kept)

    def test_receiver_ignoring_range(self):
        with open(self.out + ".part", "wb") as f:
            f.write(self.data[:MiB])
        self.rx.add_fault("norange", method="GET", path="/content$", count=1)
        res = self.fetch()
        self.assert_fetched(res)
        self.assertIn("range_ignored_restarting", res.stderr)

    def test_wrong_bytes_in_the_part_file(self):
        with open(self.out + ".part", "wb") as f:
            f.write(b"x" * 1000)
        res = self.fetch()
        self.assertEqual(res.returncode, 1)
        errors = self.error_lines(res.stderr)
        self.assertEqual(len(errors), 1, res.stderr)
        self.assertRegex(errors[0], r"^mfb: error: backup %s: downloaded SHA-256 [0-9a-f]{64} "
                                    r"does not match the receiver's %s$"
                         % (self.bid, self.rx.backups[self.bid]["sha256"]))
        self.assertFalse(os.path.exists(self.out))
        self.assertFalse(os.path.exists(self.out + ".part"))
        self.assert_fetched(self.fetch())

    def test_never_overwrites(self):
        with open(self.out, "w") as f:
            f.write("precious")
        res = self.fetch()
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr),
                         ["mfb: error: '%s' already exists" % self.out])
        with open(self.out) as f:
            self.assertEqual(f.read(), "precious")
        self.assertEqual(self.rx.requests, [])

    def test_never_writes_through_devices_or_links(self):
        # An existing device (whatever /dev/null is on this machine, it
        # exists), a FIFO, a symbolic link, even a dangling one: refused
        # before any request, and left as they were.
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        dangling = os.path.join(self.tmp, "dangling")
        os.symlink(os.path.join(self.tmp, "nowhere"), dangling)
        for out in ("/dev/null", fifo, dangling):
            before = os.lstat(out)
            res = self.fetch(out=out)
            self.assertEqual(res.returncode, 1, res.stderr)
            self.assertEqual(self.error_lines(res.stderr),
                             ["mfb: error: '%s' already exists" % out])
            after = os.lstat(out)
            self.assertEqual((after.st_mode, after.st_ino, after.st_rdev),
                             (before.st_mode, before.st_ino, before.st_rdev))
            self.assertFalse(os.path.exists(out + ".part"))
        self.assertEqual(self.rx.requests, [])
        # OUT.part that is a link to someone's file, or a FIFO: refused, and
        # nothing is written through it (and opening the FIFO does not hang).
        victim = os.path.join(self.tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious")
        os.symlink(victim, self.out + ".part")
        res = self.fetch()
        self.assertEqual(res.returncode, 1)
        self.assertEqual(len(self.error_lines(res.stderr)), 1, res.stderr)
        self.assertIn("cannot open '%s.part'" % self.out, res.stderr)
        self.assertIn("is a symbolic link", res.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")
        os.unlink(self.out + ".part")
        os.mkfifo(self.out + ".part")
        res = self.fetch()
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr),
                         ["mfb: error: '%s.part' exists and is not a regular file" % self.out])
        self.assertFalse(os.path.exists(self.out))

    def test_unknown_backup(self):
        self.bid = "b_0123456789abcdef0123456789abcdef"
        res = self.fetch()
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr), [
            "mfb: error: cannot read backup %s: the receiver answered 404 not_found: "
            "no such backup" % self.bid])
        self.assertFalse(os.path.exists(self.out + ".part"))


if __name__ == "__main__":
    main()
