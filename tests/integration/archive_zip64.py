"""archive_zip64.py - a Zip64 archive holding one sparse 5 GiB file (docs/archive.md):
its sizes fit only the Zip64 extra field.

Under the sanitizers the file is 4.25 GiB, still past the 4 GiB limit, as
the instrumented build is slower. Deflated at level 1 the archive is a few
MB, so the cost is CPU, not disk: unzip, 7z and zipfile each inflate the
5 GiB (Info-ZIP's unzip is the slowest, about 5 s per GiB; a stream this
compressed inflates slower than ordinary data), bsdtar lists it. About 40 s
on an idle 2-core machine. Nothing is extracted.
archive_zip64_offsets.py covers an archive that is itself over 4 GiB.
"""

import os
import sys
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import ziptools  # noqa: E402

GiB = 1 << 30


class Zip64BigFile(mfbtest.TempDirTestCase):

    def test_sparse_file_over_4gib(self):
        size = (4 * GiB + GiB // 4) if mfbtest.SANITIZED else 5 * GiB
        src = self.path("src")
        os.makedirs(src)
        with open(os.path.join(src, "ibdata1"), "wb") as f:
            f.truncate(size)
        with open(os.path.join(src, "after.txt"), "wb") as f:
            f.write(b"a small file after the big one\n")
        out = self.path("big.zip")
        mfbtest.archive_create(src, out, "--level", "1")
        self.assertLess(os.path.getsize(out), 64 << 20)

        with zipfile.ZipFile(out) as z:
            zi = z.getinfo("ibdata1")
            self.assertEqual(zi.file_size, size)
            self.assertTrue(ziptools.zip64_extra_present(zi), "no Zip64 extra for a >4 GiB file")
            self.assertGreaterEqual(zi.extract_version, 45)
            self.assertEqual(z.read("after.txt"), b"a small file after the big one\n")
        ziptools.check_all(out, expect_names=["ibdata1", "after.txt", mfbtest.MANIFEST],
                           bsdtar_data=False)
        mfbtest.mfb("archive", "test", out)
        m = mfbtest.assert_manifest_matches(out)
        self.assertEqual([f["size"] for f in m["files"] if f["path"] == "ibdata1"], [size])


if __name__ == "__main__":
    mfbtest.main()
