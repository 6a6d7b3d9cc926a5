"""archive_many_files.py - an archive of 70,000 files (docs/archive.md): more
than 65,535 entries, so the end of central directory needs its Zip64 form.
All four independent readers must test it clean and count every entry, and
`mfb archive test` and `list` must agree.

Creating 70,000 files costs far more than archiving them (seconds on an idle
disk, minutes on a busy one), so the source is 7,000 files and --root adds
the same tree nine more times under other names: 70,000 file entries, read
from the page cache. Extraction is covered by archive_roundtrip.py; doing it
here would only create another 70,000 files.
"""

import os
import sys
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import trees  # noqa: E402
import ziptools  # noqa: E402

FILES = 7_000
COPIES = 10
EOCD_SIG = b"PK\x05\x06"
LOCATOR_SIG = b"PK\x06\x07"


class ManyFiles(mfbtest.SharedTempDirTestCase):

    @classmethod
    def prepare(cls):
        cls.src = cls.path("src")
        names = trees.make_many_files(cls.src, FILES)
        cls.names = list(names)
        opts = []
        for copy in range(1, COPIES):
            opts += ["--root", f"copy{copy}={cls.src}"]
            cls.names += [f"copy{copy}/"] + [f"copy{copy}/{n}" for n in names]
        cls.files = sum(1 for n in cls.names if not n.endswith("/"))
        cls.zip = cls.path("many.zip")
        mfbtest.archive_create(cls.src, cls.zip, *opts)

    def test_fixture_has_70000_files(self):
        self.assertEqual(self.files, 70_000)
        self.assertGreater(len(self.names), 65_535)

    def test_readers_count_every_entry(self):
        names = ziptools.check_all(self.zip, expect_names=self.names + [mfbtest.MANIFEST])
        self.assertEqual(len(names), len(self.names) + 1)

    def test_end_of_central_directory_is_zip64(self):
        with open(self.zip, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 65557))  # EOCD (22) + the longest comment
            tail = f.read()
        at = tail.rfind(EOCD_SIG)
        self.assertGreaterEqual(at, 20, "no end of central directory record")
        self.assertEqual(int.from_bytes(tail[at + 10:at + 12], "little"), 0xFFFF,
                         "entry count must be 0xFFFF, deferring to the Zip64 record")
        self.assertEqual(tail[at - 20:at - 16], LOCATOR_SIG,
                         "no Zip64 end of central directory locator before it")
        with zipfile.ZipFile(self.zip) as z:
            self.assertEqual(len(z.infolist()), len(self.names) + 1)

    def test_mfb_test_and_list(self):
        mfbtest.mfb("archive", "test", self.zip)
        self.assertEqual(len(mfbtest.archive_list_json(self.zip)), len(self.names) + 1)
        m = mfbtest.assert_manifest_matches(self.zip)
        files = [f for f in m["files"]
                 if f.get("type", "file") == "file" and not f["path"].endswith("/")]
        self.assertEqual(len(files), 70_000)


if __name__ == "__main__":
    mfbtest.main()
