"""restore_resume.py - an interrupted restore download continues where it
stopped, and a damaged partial download never becomes a bad restore; a
staged restore, which stages while it downloads, interrupted (Ctrl-C after
the receiver died, or kill -9) resumes and stages each entry once.

The receiver is a real mfb-server; mfb reaches it through a small TCP proxy
in this test (TLS passes through it untouched, the pinned fingerprint still
holds). The proxy makes the interruption deterministic, without timings: it
forwards the receiver's first LIMIT bytes, then holds the rest back, and
only then is the receiver killed with SIGKILL and the connections cut. mfb
sees a download that broke off in the middle, logs a retry, and the DBA
presses Ctrl-C (SIGINT): one error line, the '.part' file kept, nothing
extracted, the instance untouched. With the receiver back (same storage, a
new port behind the same proxy port), the same command continues from the
'.part' ("resumed at byte N"), fetching fewer bytes than the whole backup,
checks the SHA-256 and extracts exactly the archive's files.

A staged restore interrupted so (Ctrl-C, or kill -9 while the download is
held back) keeps its staging directory and its staging record
('restore-<id>.zip.staged' beside the '.part'); the next run adopts them and
reuses every recorded entry (the same inode, not written again), extracting
only the others; a recorded file changed between the runs is extracted
again; a record of another backup, or one whose staging directory was
removed by hand, is discarded and the restore stages afresh.

A '.part' damaged between the two runs (one byte flipped) is continued, and
the SHA-256 check then refuses the result: a clear error, exit 1, the bad
file removed, nothing extracted. The next run downloads the whole backup
afresh and succeeds (docs/restore.md, "When it fails").
"""

import glob
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from proxytestlib import CuttingProxy  # noqa: E402
from restore_testlib import INSTANCE, TARGET, RestoreTestCase  # noqa: E402

WAIT = 120  # seconds; only a bound for a hang, never a measured duration


def read_record(path):
    """The staging record: its head, and its entries by name."""
    with open(path) as f:
        lines = [ln for ln in f.read().split("\n") if ln]
    head = json.loads(lines[0])
    entries = {}
    for ln in lines[1:]:
        e = json.loads(ln)
        entries[e["name"]] = e
    return head, entries


def whole_before(stored, offset):
    """The datadir files of the archive whose bytes (up to the next entry's
    local header) all lie before offset."""
    with zipfile.ZipFile(stored) as z:
        infos = sorted(z.infolist(), key=lambda i: i.header_offset)
    names = []
    for a, b in zip(infos, infos[1:]):
        if b.header_offset <= offset and not a.is_dir() and a.filename.startswith("datadir/"):
            names.append(a.filename)
    return names


class ResumeTest(RestoreTestCase):

    def setUp(self):
        super().setUp()
        env = self.env
        self.bid = env.backup()
        self.stored = env.stored_path(self.bid)
        self.size = os.path.getsize(self.stored)
        self.assertGreater(self.size, 1 << 20, "the backup is too small to cut in the middle")
        self.proxy = CuttingProxy(env.rx.port)
        self.addCleanup(self.proxy.close)
        env.mfb("target", "set", TARGET, "--url", f"https://127.0.0.1:{self.proxy.port}")
        self.part = os.path.join(env.spool, f"restore-{self.bid}.zip.part")
        self.record = os.path.join(env.spool, f"restore-{self.bid}.zip.staged")
        self.to = self.path("scratch")

    def interrupted_restore(self, staged=False):
        """The first `mfb restore --to` (or, staged, a staged restore, which
        stages while it downloads): the receiver dies in the middle of the
        download, mfb retries, the DBA presses Ctrl-C. Returns the size of
        the .part it leaves."""
        env, db = self.env, self.db
        pid, sums = db.server_pid(), db.checksum_tables()
        self.proxy.hold_after(self.size * 3 // 4)  # past the mysql/ and sbtest1 files
        where = [] if staged else ["--to", self.to]
        proc = subprocess.Popen([mfbtest.MFB, "restore", INSTANCE, self.bid, *where],
                                env=env.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace")
        lines, retrying = [], threading.Event()

        def collect():
            for line in proc.stderr:
                lines.append(line)
                if re.search(r"\bretry\b.*offset=\d+", line):
                    retrying.set()
        collector = threading.Thread(target=collect, daemon=True)
        collector.start()
        try:
            self.assertTrue(self.proxy.holding.wait(WAIT), "the download never got that far")
            env.rx.kill9()  # the receiver dies mid-download
            self.proxy.cut()
            self.assertTrue(retrying.wait(WAIT), "mfb did not retry:\n" + "".join(lines))
            proc.send_signal(signal.SIGINT)  # the DBA gives up waiting
            out = proc.stdout.read()
            rc = proc.wait(timeout=WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            collector.join(timeout=WAIT)
            proc.stdout.close()
            proc.stderr.close()
        err = "".join(lines)
        self.assertEqual(rc, 1, f"--- stdout ---\n{out}\n--- stderr ---\n{err}")
        self.assertIn(f"mfb: error: cannot download backup {self.bid}: cancelled\n", err)
        self.assertIn(f"HINT: nothing was changed{', the server still runs' if staged else ''}; "
                      f"'{self.part[:-len('.part')]}.part' is kept "
                      "and the same command continues the download\n", err)
        self.assertEqual(len([ln for ln in err.splitlines() if ln.startswith("mfb: error:")]), 1)
        self.assertNotRegex(out, r"(?m)^extracted ")
        self.assertNotIn("is kept:", out)  # no downloaded backup to point at yet

        # the .part holds a prefix of the backup; nothing else was made or
        # changed but, staged, the staging kept for the next run and its record
        parent, base = os.path.split(env.datadir)
        staging = [n for n in os.listdir(parent) if ".mfb-staging-" in n]
        if staged:
            self.assertEqual(env.spool_files(), [os.path.basename(self.part),
                                                 os.path.basename(self.record)])
            self.assertIn(f"the staged entries are kept for the next run (recorded in "
                          f"{self.record}); the same command reuses them\n", out)
            self.assertEqual(len(staging), 1)
        else:
            self.assertEqual(env.spool_files(), [os.path.basename(self.part)])
            self.assertEqual(staging, [])
        have = os.path.getsize(self.part)
        self.assertGreater(have, 0)
        self.assertLess(have, self.size)
        with open(self.part, "rb") as p, open(self.stored, "rb") as s:
            self.assertEqual(p.read(), s.read(have))
        self.assertFalse(os.path.exists(self.to) and os.listdir(self.to),
                         f"{self.to} is not empty")
        self.assert_untouched(pid, sums)
        return have

    def receiver_back(self):
        self.env.rx.start()
        self.proxy.reset_count()
        with self.proxy.lock:
            self.proxy.upstream = self.env.rx.port

    def assert_extracted(self):
        """DIR holds exactly the archive's files: each root under DIR/ROOT,
        every file with the stored archive's bytes."""
        want = {}
        with zipfile.ZipFile(self.stored) as z:
            for info in z.infolist():
                if info.filename.startswith("datadir/") and not info.is_dir():
                    want[info.filename] = hashlib.sha256(z.read(info)).hexdigest()
        got = {}
        root = os.path.join(self.to, "datadir")
        for d, _, files in os.walk(root):
            for name in files:
                path = os.path.join(d, name)
                with open(path, "rb") as f:
                    got["datadir/" + os.path.relpath(path, root)] = \
                        hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(sorted(os.listdir(self.to)), ["datadir"])
        self.assertIn("datadir/sbtest/sbtest1.ibd", got)
        self.assertEqual(got, want)

    def test_interrupted_download_resumes(self):
        env, db = self.env, self.db
        have = self.interrupted_restore()
        self.receiver_back()
        pid, sums = db.server_pid(), db.checksum_tables()

        r = env.restore(self.bid, "--to", self.to)
        self.assertIn(f"downloaded {self.part[:-len('.part')]} (resumed at byte {have}); "
                      "SHA-256 matches\n", r.stdout)
        self.assertIn(f"extracted backup {self.bid} into {self.to}\n", r.stdout)
        self.assertIn(f"resume_from={have}", r.stderr)
        # only the rest came over the wire the second time (plus a few KB of
        # TLS handshakes and the backup's listing)
        self.assertGreaterEqual(self.proxy.received, self.size - have)
        self.assertLess(self.proxy.received, self.size - have + (256 << 10))
        self.assert_extracted()
        self.assertEqual(env.spool_files(), [])  # the download went once it served
        self.assert_untouched(pid, sums)

    def staged_before_cut(self):
        """After an interruption: the record names this backup and the kept
        staging directory, and holds every datadir file whose bytes were all
        in the .part (at least a few); returns its entries, and the staged
        files' inodes as they are now."""
        env = self.env
        have = os.path.getsize(self.part)
        head, entries = read_record(self.record)
        self.assertEqual((head["backup"], head["instance"]), (self.bid, INSTANCE))
        parent, base = os.path.split(env.datadir)
        staging = glob.glob(os.path.join(parent, f".{base}.mfb-staging-*"))
        self.assertEqual([(r["name"], r["place"], r["staging"]) for r in head["roots"]],
                         [("datadir", env.datadir, staging[0])])
        whole = whole_before(self.stored, have)
        with zipfile.ZipFile(self.stored) as z:
            order = [(i.filename, i.header_offset, i.compress_size) for i in
                     sorted(z.infolist(), key=lambda i: i.header_offset)]
        self.assertGreaterEqual(len(whole), 3, f"too few entries before the cut {have}: {order}")
        self.assertEqual(sorted(set(whole) - set(entries)), [])
        inodes = {}
        for name, e in entries.items():
            st = os.stat(os.path.join(staging[0], name[len("datadir/"):]))
            self.assertEqual((st.st_ino, st.st_size), (e["ino"], e["size"]), name)
            inodes[name] = st.st_ino
        return entries, inodes

    def assert_reused(self, r, entries, inodes, reused=None):
        """The resumed run says it reused the recorded entries (all of them,
        or those named in reused) and did not write them again: the restored
        files that no server writes (the .frm files) are the very inodes the
        interrupted run staged, with the archive's bytes."""
        reused = set(entries) if reused is None else set(reused)
        m = re.search(r"step=stage entries=\d+ reused_entries=(\d+) reused_bytes=(\d+)", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertGreater(int(m.group(1)), 0)
        self.assertEqual(int(m.group(1)), len(reused))
        self.assertEqual(int(m.group(2)), sum(entries[n]["size"] for n in reused))
        self.assertRegex(r.stdout, rf"staged \d+ entries in \S+ while the server ran; "
                                   rf"{len(reused)} of them \(.*\) reused from the interrupted "
                                   r"restore\n")
        static = [n for n in reused if n.endswith(".frm")]
        self.assertNotEqual(static, [], "no .frm file among the reused entries")
        with zipfile.ZipFile(self.stored) as z:
            for name in static:
                path = os.path.join(self.env.datadir, name[len("datadir/"):])
                self.assertEqual(os.stat(path).st_ino, inodes[name], name)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), z.read(name), name)

    def assert_resumed_restore(self, r, have, entries):
        env = self.env
        self.assertIn(f"downloaded {self.part[:-len('.part')]} (resumed at byte {have}); "
                      "SHA-256 matches, every entry extracted as it arrived\n", r.stdout)
        self.assertIn(f"staged {entries} entries in ", r.stdout)
        self.assertLess(r.stdout.index("downloaded "), r.stdout.index("stopped the server"))
        m = re.search(r"step=stream backup=\S+ resumed_from=(\d+) received=(\d+) ", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertEqual((int(m.group(1)), int(m.group(2))), (have, self.size - have))
        # over the wire: the rest, the archive's end read ahead, TLS handshakes, the listing
        self.assertGreaterEqual(self.proxy.received, self.size - have)
        self.assertLess(self.proxy.received, self.size - have + (512 << 10))
        parent, base = os.path.split(env.datadir)
        self.assertEqual([n for n in os.listdir(parent) if ".mfb-staging-" in n], [])
        self.assertEqual(env.spool_files(), [])  # the download and the record went

    def datadir_entries(self):
        with zipfile.ZipFile(self.stored) as z:
            return len([n for n in z.namelist() if n.startswith("datadir/")])

    def test_staged_restore_resumes_without_extracting_twice(self):
        """A staged restore, which stages each entry as its bytes arrive, cut
        in the middle of the download and Ctrl-C: its staging and the record
        of the entries staged are kept with the .part. The same command
        adopts the staging, reuses every recorded entry (not written again:
        same inode), continues the download and stages only the others; only
        the rest of the backup comes over the wire."""
        env, db = self.env, self.db
        backed_up = db.checksum_tables()
        entries = self.datadir_entries()
        db.execute("DELETE FROM sbtest.sbtest1 WHERE id > 100")
        have = self.interrupted_restore(staged=True)
        recorded, inodes = self.staged_before_cut()
        self.receiver_back()

        r = env.restore(self.bid)
        self.assertIn("adopted the staging of an interrupted restore of this backup (", r.stdout)
        self.assert_resumed_restore(r, have, entries)
        self.assert_reused(r, recorded, inodes)
        self.assertEqual(db.checksum_tables(), backed_up)

    def test_staged_restore_killed_mid_download_resumes(self):
        """The same with kill -9 while the download is held back: the .part,
        the staging directory and its record are left (the record is made
        durable while the extraction waits for the download); the next run
        reuses the recorded entries and stages the others once."""
        env, db = self.env, self.db
        backed_up = db.checksum_tables()
        entries = self.datadir_entries()
        db.execute("DELETE FROM sbtest.sbtest1 WHERE id > 100")
        pid, sums = db.server_pid(), db.checksum_tables()
        self.proxy.hold_after(self.size * 3 // 4)  # past the mysql/ and sbtest1 files
        proc = subprocess.Popen([mfbtest.MFB, "restore", INSTANCE, self.bid], env=env.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.assertTrue(self.proxy.holding.wait(WAIT), "the download never got that far")
            # the extraction waits for the held bytes: it records what it staged
            want = None
            for _ in range(WAIT * 10):
                have = os.path.getsize(self.part)
                want = set(whole_before(self.stored, have))
                if os.path.exists(self.record) and want <= set(read_record(self.record)[1]):
                    break
                threading.Event().wait(0.1)
            else:
                self.fail(f"the record never held the {len(want or ())} entries before the cut")
        finally:
            proc.kill()
            proc.wait()
        self.assertEqual(os.path.getsize(self.part), have)
        self.assertLess(have, self.size)
        self.assert_untouched(pid, sums)
        recorded, inodes = self.staged_before_cut()
        self.proxy.cut()
        self.proxy.reset_count()
        with self.proxy.lock:
            self.proxy.upstream = env.rx.port

        r = env.restore(self.bid)
        self.assertNotIn("removed 1 staging directory", r.stdout)
        self.assert_resumed_restore(r, have, entries)
        self.assert_reused(r, recorded, inodes)
        self.assertEqual(db.checksum_tables(), backed_up)

    def test_changed_staged_file_is_extracted_again(self):
        """A staged file changed between the runs (one truncated, one
        rewritten with other bytes of the same size) no longer matches its
        record: the next run says so, extracts those two again and reuses
        the others; the restore ends identical to the backup."""
        env, db = self.env, self.db
        backed_up = db.checksum_tables()
        entries = self.datadir_entries()
        db.execute("DELETE FROM sbtest.sbtest1 WHERE id > 100")
        have = self.interrupted_restore(staged=True)
        recorded, inodes = self.staged_before_cut()
        staging = read_record(self.record)[0]["roots"][0]["staging"]
        frms = sorted(n for n in recorded if n.endswith(".frm") and recorded[n]["size"] > 0)
        self.assertGreaterEqual(len(frms), 2, sorted(recorded))
        cut, rewritten = frms[0], frms[1]
        os.truncate(os.path.join(staging, cut[len("datadir/"):]), 0)
        path = os.path.join(staging, rewritten[len("datadir/"):])
        with open(path, "r+b") as f:
            f.write(b"\xff" * 16)
        self.receiver_back()

        r = env.restore(self.bid)
        self.assertIn("2 entries staged by the interrupted restore changed since (or are gone): "
                      "extracted again\n", r.stdout)
        self.assertIn(f'staged_entry="{cut}" note=extracted_again reason="its size is 0, was ',
                      r.stderr)
        self.assertIn(f'staged_entry="{rewritten}" note=extracted_again reason="it was changed '
                      'since (mtime or ctime)"', r.stderr)
        self.assert_resumed_restore(r, have, entries)
        self.assert_reused(r, recorded, inodes, set(recorded) - {cut, rewritten})
        with zipfile.ZipFile(self.stored) as z:
            for name in (cut, rewritten):
                with open(os.path.join(env.datadir, name[len("datadir/"):]), "rb") as f:
                    self.assertEqual(f.read(), z.read(name), name)
        self.assertEqual(db.checksum_tables(), backed_up)

    def test_record_of_another_backup_is_discarded(self):
        """An interrupted staged restore of one backup, then a restore of
        another: the first one's record and staging are discarded (a line
        says so) and the other backup is restored from scratch."""
        env, db = self.env, self.db
        self.interrupted_restore(staged=True)
        self.receiver_back()
        other = env.backup()
        sums = db.checksum_tables()
        db.execute("DELETE FROM sbtest.sbtest1 WHERE id > 100")

        r = env.restore(other)
        self.assertIn(f"discarded the staging record of an interrupted restore, of backup "
                      f"{self.bid} (this restore is of another one): {self.record} (1 staging "
                      "directory removed)\n", r.stdout)
        self.assertNotIn("adopted", r.stdout)
        self.assertIn("reused_entries=0 ", r.stderr)
        self.assertEqual(db.checksum_tables(), sums)
        parent, base = os.path.split(env.datadir)
        self.assertEqual([n for n in os.listdir(parent) if ".mfb-staging-" in n], [])
        self.assertEqual(env.spool_files(), [os.path.basename(self.part)])  # the first one's

    def test_record_is_discarded_by_a_restore_to_a_directory(self):
        """--to stages nothing: the interrupted staged restore's record and
        staging are discarded (a line says why), and --to continues the
        .part and extracts."""
        env = self.env
        have = self.interrupted_restore(staged=True)
        staging = read_record(self.record)[0]["roots"][0]["staging"]
        self.receiver_back()

        r = env.restore(self.bid, "--to", self.to)
        self.assertIn("discarded the staging record of an interrupted restore, as this restore "
                      f"is --to a directory: {self.record} (1 staging directory removed)\n",
                      r.stdout)
        self.assertIn(f"(resumed at byte {have})", r.stdout)
        self.assertFalse(os.path.exists(staging))
        self.assert_extracted()
        self.assertEqual(env.spool_files(), [])

    def test_record_without_its_staging_is_discarded(self):
        """The staging directory removed by hand between the runs: the record
        is discarded, and the restore stages every entry afresh."""
        env, db = self.env, self.db
        backed_up = db.checksum_tables()
        entries = self.datadir_entries()
        db.execute("DELETE FROM sbtest.sbtest1 WHERE id > 100")
        have = self.interrupted_restore(staged=True)
        staging = read_record(self.record)[0]["roots"][0]["staging"]
        subprocess.run(["rm", "-rf", staging], check=True)
        self.receiver_back()

        r = env.restore(self.bid)
        self.assertIn(f"discarded the staging record of an interrupted restore, as its staging "
                      f"directory '{staging}' is gone: {self.record} (0 staging directories "
                      "removed)\n", r.stdout)
        self.assertIn("reused_entries=0 ", r.stderr)
        self.assert_resumed_restore(r, have, entries)
        self.assertEqual(db.checksum_tables(), backed_up)

    def test_damaged_part_is_refused_then_fetched_afresh(self):
        env, db = self.env, self.db
        have = self.interrupted_restore()
        with open(self.part, "r+b") as f:  # a bit rots in the kept .part
            f.seek(have // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0x01]))
        self.receiver_back()
        pid, sums = db.server_pid(), db.checksum_tables()

        r = env.restore(self.bid, "--to", self.to, expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: backup {self.bid}: downloaded SHA-256 "
                                   r"[0-9a-f]{64} does not match the receiver's [0-9a-f]{64}\n")
        self.assertIn(f"HINT: the download continued '{self.part}' from byte {have}, and that "
                      "file was damaged; it was removed: run the same command again to download "
                      "the whole backup afresh\n", r.stderr)
        self.assertEqual(len([ln for ln in r.stderr.splitlines()
                              if ln.startswith("mfb: error:")]), 1)
        self.assertNotIn("archive ok", r.stdout)
        self.assertNotIn("is kept:", r.stdout)
        self.assertEqual(env.spool_files(), [])  # the bad bytes are gone
        self.assertFalse(os.path.exists(self.to) and os.listdir(self.to))
        self.assert_untouched(pid, sums)

        # the next run starts over and succeeds
        self.proxy.reset_count()
        r = env.restore(self.bid, "--to", self.to)
        self.assertIn(f"downloaded {self.part[:-len('.part')]}; SHA-256 matches the receiver's\n",
                      r.stdout)
        self.assertNotIn("resumed", r.stdout)
        self.assertGreaterEqual(self.proxy.received, self.size)
        self.assert_extracted()
        self.assertEqual(env.spool_files(), [])
        self.assert_untouched(pid, sums)

    def test_receiver_down_gives_up_after_retries(self):
        """--retries bounds how long a restore waits for a receiver that is
        down: it gives up by itself with one error line, nothing touched."""
        env, db = self.env, self.db
        pid, sums = db.server_pid(), db.checksum_tables()
        self.proxy.cut()  # every connection is closed at once
        r = env.restore(self.bid, "--to", self.to, "--retries", "2", expect=1)
        self.assertRegex(r.stderr, r"mfb: error: cannot list the receiver's backups: .* "
                                   r"\(gave up after 2 attempts in [0-9.]+m?s\)\n")
        self.assertIn("HINT: check that mfb-server is running at that URL and that nothing "
                      "between (a proxy, a firewall) cuts or rewrites TLS\n", r.stderr)
        self.assertEqual(len([ln for ln in r.stderr.splitlines()
                              if ln.startswith("mfb: error:")]), 1)
        self.assertEqual(len(re.findall(r"\bretry\b", r.stderr)), 1)  # 2 attempts, 1 retry
        self.assertEqual(env.spool_files(), [])
        self.assertFalse(os.path.exists(self.to) and os.listdir(self.to))
        self.assert_untouched(pid, sums)


if __name__ == "__main__":
    mfbtest.main()
