"""archive_many_files.py - an archive of 70,000 small files (issue 2, B.3):
more than 65,535 entries, so the end of central directory needs its Zip64
form. All four independent readers must test it clean and count every entry;
`mfb archive test`, `list` and `extract` must handle it too.
"""

import os
import sys
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import trees  # noqa: E402
import ziptools  # noqa: E402

COUNT = 70_000


class ManyFiles(mfbtest.SharedTempDirTestCase):

    @classmethod
    def prepare(cls):
        cls.src = cls.path("src")
        cls.names = trees.make_many_files(cls.src, COUNT)
        cls.zip = cls.path("many.zip")
        mfbtest.archive_create(cls.src, cls.zip)

    def test_readers_count_every_entry(self):
        names = ziptools.check_all(self.zip, expect_names=self.names + [mfbtest.MANIFEST])
        self.assertEqual(len(names), COUNT + COUNT // 1000 + 1)

    def test_end_of_central_directory_is_zip64(self):
        with open(self.zip, "rb") as f:
            f.seek(-22, os.SEEK_END)
            eocd = f.read(22)
            f.seek(-22 - 20, os.SEEK_END)
            locator = f.read(20)
        self.assertEqual(eocd[:4], b"PK\x05\x06", "no end of central directory record last")
        self.assertEqual(int.from_bytes(eocd[10:12], "little"), 0xFFFF,
                         "entry count must be 0xFFFF, deferring to the Zip64 record")
        self.assertEqual(locator[:4], b"PK\x06\x07", "no Zip64 end of central directory locator")
        with zipfile.ZipFile(self.zip) as z:
            self.assertEqual(len(z.infolist()), COUNT + COUNT // 1000 + 1)

    def test_mfb_tests_lists_and_extracts(self):
        mfbtest.mfb("archive", "test", self.zip)
        self.assertEqual(len(mfbtest.archive_list_json(self.zip)), COUNT + COUNT // 1000 + 1)
        m = mfbtest.assert_manifest_matches(self.zip)
        self.assertEqual(len([f for f in m["files"] if not f["path"].endswith("/")]), COUNT)
        out = self.path("out")
        mfbtest.mfb("archive", "extract", self.zip, out)
        with open(os.path.join(out, "d069", "f69999.txt"), "rb") as f:
            self.assertEqual(f.read(), b"file 69999\n")
        files = sum(len(fs) for _, _, fs in os.walk(out))
        if os.path.exists(os.path.join(out, mfbtest.MANIFEST)):
            files -= 1  # whether extract writes the manifest out is not this test's business
        self.assertEqual(files, COUNT)


if __name__ == "__main__":
    mfbtest.main()
