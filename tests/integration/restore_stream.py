"""restore_stream.py - a staged restore extracts the backup while it
downloads (docs/restore.md, "Extracting while downloading"), against a real
MariaDB and a real mfb-server over TLS:

- a staged restore streamed from the receiver: the archive's directory is
  read first, every entry is staged as its bytes arrive, the whole backup
  comes over the wire once, and every table's CHECKSUM TABLE is the
  backup's;
- a byte damaged in the receiver's stored file (in a table's data): the
  restore fails before the stop, the staging directory and the partial
  download are removed, the server runs untouched and answers;
- a byte damaged in the stored file's central directory: the restore
  fails before a byte of the data is downloaded;
- --in-place downloads first, as before, and still restores.

(An interrupted streamed restore that resumes: restore_resume.py.)
"""

import os
import re
import sys
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import ziptools  # noqa: E402
from restore_testlib import OwnEnvTestCase  # noqa: E402

READ_AHEAD = "read the archive's directory from the receiver; its files are staged as the " \
             "download brings them\n"


def staging_dirs(place):
    parent, base = os.path.split(place)
    return sorted(n for n in os.listdir(parent) if n.startswith(f".{base}.mfb-staging-"))


class StreamTest(OwnEnvTestCase):

    def assert_nothing_changed(self, pid, sums):
        self.assertEqual(self.db.server_pid(), pid)
        self.assertEqual(self.db.query_value("SELECT 1"), "1")
        self.assertEqual(self.db.checksum_tables(), sums)
        self.assertEqual(staging_dirs(self.env.datadir), [])
        self.assertEqual(self.env.asides(), [])
        self.assertEqual(self.env.spool_files(), [])

    def test_streamed_staged_restore(self):
        env = self.make_env(tables=2, rows=4000)
        before = self.db.checksum_tables()
        bid = env.backup()
        size = os.path.getsize(env.stored_path(bid))
        with zipfile.ZipFile(env.stored_path(bid)) as z:
            entries = len([n for n in z.namelist() if n.startswith("datadir/")])
        self.change_data(keep=1000)
        r = env.restore(bid)
        out = r.stdout
        self.assertIn(READ_AHEAD, out)
        self.assertRegex(out, r"downloaded \S+; SHA-256 matches the receiver's, every entry "
                              r"extracted as it arrived\n")
        # each entry staged once, and staged before the stop
        self.assertIn(f"staged {entries} entries in ", out)
        self.assertLess(out.index(READ_AHEAD), out.index("staged root datadir in "))
        self.assertLess(out.index("downloaded "), out.index("stopped the server"))
        # the whole backup came over the wire once, none of it from an earlier .part
        m = re.search(r"step=stream backup=\S+ resumed_from=(\d+) received=(\d+) "
                      r"reader_waits=\d+ .*status=ok", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertEqual((int(m.group(1)), int(m.group(2))), (0, size))
        self.assertEqual(self.db.checksum_tables(), before)
        self.assertEqual(staging_dirs(env.datadir), [])
        self.assertEqual(env.spool_files(), [])

    def test_damaged_byte_in_the_stored_data(self):
        env = self.make_env(tables=1, rows=4000)
        bid = env.backup()
        old = self.change_data(keep=1000)
        pid = self.db.server_pid()
        stored = env.stored_path(bid)
        offset, length = ziptools.data_range(stored, "datadir/sbtest/sbtest1.ibd")
        ziptools.flip_byte(stored, offset + length // 2)
        r = env.restore(bid, expect=1)
        self.assertIn(READ_AHEAD, r.stdout)  # the directory is whole
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("mfb: error: ")]
        self.assertEqual(len(errors), 1, r.stderr)
        # the entry's CRC-32 as it is staged, or, had the download ended
        # first, the SHA-256 of the whole file: either way before the stop
        self.assertRegex(errors[0], r"entry 'datadir/sbtest/sbtest1\.ibd': |downloaded SHA-256 "
                                    r"[0-9a-f]{64} does not match")
        self.assertIn("HINT: nothing was changed, the server still runs; ", r.stderr)
        self.assertNotIn("stopped the server", r.stdout)
        self.assert_nothing_changed(pid, old)

    def test_damaged_central_directory(self):
        env = self.make_env(tables=1, rows=4000)
        bid = env.backup()
        old = self.change_data(keep=1000)
        pid = self.db.server_pid()
        stored = env.stored_path(bid)
        ziptools.flip_byte(stored, ziptools.central_record_offset(
            stored, "datadir/sbtest/sbtest1.ibd") + 16)  # its CRC-32
        r = env.restore(bid, expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: backup {bid} failed its check: ")
        self.assertIn("HINT: nothing was changed; the end of the archive the receiver sent is "
                      "damaged, so its stored copy most likely is ('sha256sum -c' its .sha256 "
                      "file there tells): restore another backup\n", r.stderr)
        self.assertNotIn("step=stream", r.stderr)  # no download began
        self.assertNotIn("staged root", r.stdout)
        self.assert_nothing_changed(pid, old)

    def test_in_place_downloads_first(self):
        env = self.make_env(tables=1, rows=4000)
        before = self.db.checksum_tables()
        bid = env.backup()
        self.change_data(keep=1000)
        r = env.restore(bid, "--in-place")
        self.assertNotIn(READ_AHEAD, r.stdout)
        self.assertIn("; SHA-256 matches the receiver's\n", r.stdout)
        self.assertLess(r.stdout.index("downloaded "), r.stdout.index("stopped the server"))
        self.assertEqual(self.db.checksum_tables(), before)


if __name__ == "__main__":
    import unittest
    unittest.main()
