"""archive_zip64_offsets.py - an archive that is itself over 4 GiB (docs/archive.md):
a 4.1 GiB sparse file stored (level 0), then small files, whose
local-header offsets and the central directory's offset need Zip64.

This writes 4.1 GiB to $MFB_TEST_TMP, so it is skipped under the sanitizers,
where this path is no different. Info-ZIP's unzip tests only the entries
behind the big one (it must find them through their Zip64 offsets); 7-Zip,
bsdtar, Python's zipfile and mfb check all the data.
"""

import os
import sys
import unittest
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import ziptools  # noqa: E402

GiB = 1 << 30


class Zip64Offsets(mfbtest.TempDirTestCase):

    @unittest.skipIf(mfbtest.SANITIZED, "writes 4.1 GiB; covered by the plain build")
    def test_stored_archive_over_4gib(self):
        size = 4 * GiB + 100 * (1 << 20)
        src = self.path("src")
        os.makedirs(src)
        with open(os.path.join(src, "a-big"), "wb") as f:
            f.truncate(size)
        for name in ("b-after", "c-after"):
            with open(os.path.join(src, name), "wb") as f:
                f.write(name.encode() * 1000)
        out = self.path("stored.zip")
        mfbtest.archive_create(src, out, "--level", "0")
        self.assertGreater(os.path.getsize(out), size)

        with zipfile.ZipFile(out) as z:
            after = z.getinfo("b-after")
            self.assertEqual(z.getinfo("a-big").compress_type, zipfile.ZIP_STORED)
            self.assertGreater(after.header_offset, 4 * GiB)
            self.assertTrue(ziptools.zip64_extra_present(after),
                            "an offset past 4 GiB needs the Zip64 extra field")
            self.assertEqual(z.read("c-after"), b"c-after" * 1000)
        ziptools.check_all(out, expect_names=["a-big", "b-after", "c-after", mfbtest.MANIFEST],
                           unzip_members=["b-after", "c-after", mfbtest.MANIFEST])
        mfbtest.mfb("archive", "test", out)
        mfbtest.assert_manifest_matches(out)


if __name__ == "__main__":
    mfbtest.main()
