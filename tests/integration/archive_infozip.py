"""archive_infozip.py - mfb reads archives made by Info-ZIP's zip (docs/archive.md,
the reader): deflated (`zip -r`), stored (`zip -r -0`), forced Zip64 (`-fz`),
streamed to a pipe (`zip -r - .`, which must use data descriptors since it
cannot seek back), and read from stdin (`zip - -`). `mfb archive test`
passes, `list` shows the names, and `extract` restores the tree exactly as
Info-ZIP recorded it: content, modes, mtimes (its UT field), owners (its ux
field, when root) and symlinks (`-y`). Info-ZIP stores non-ASCII names as
raw UTF-8 without the UTF-8 flag, which mfb must read as UTF-8 too.
These archives have no manifest; test must not require one.

The streamed case uses a tree without symbolic links: Debian's zip 3.0
stores a link's target uncompressed, and refuses to write a stored entry of
unknown size to a pipe ("zip -0 not supported for I/O on pipes or
devices", exit 16). The links are covered by the seekable cases.
"""

import os
import subprocess
import sys
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import treecmp  # noqa: E402
import trees  # noqa: E402
import ziptools  # noqa: E402

DATA_DESCRIPTOR_FLAG = 0x08


class InfoZip(mfbtest.SharedTempDirTestCase):

    @classmethod
    def prepare(cls):
        cls.src = cls.path("src")
        cls.names = trees.make_sample_tree(cls.src)
        cls.src_no_links = cls.path("src-no-links")
        cls.names_no_links = trees.make_sample_tree(cls.src_no_links, symlinks=False)

    def zip_tree(self, name, *flags, stream=False):
        out = self.path(name)
        if stream:  # through a pipe, so zip cannot seek back
            src, names = self.src_no_links, self.names_no_links
            r = subprocess.run(["zip", "-q", "-r", "-y", *flags, "-", "."], cwd=src,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertEqual(r.returncode, 0, f"zip to a pipe failed: {r.stderr!r}")
            with open(out, "wb") as f:
                f.write(r.stdout)
        else:
            src, names = self.src, self.names
            subprocess.run(["zip", "-q", "-r", "-y", *flags, out, "."], cwd=src, check=True)
        ziptools.check_all(out, expect_names=names, metadata_encoding="utf-8")
        return out

    def assert_mfb_reads(self, path, src=None):
        src = src or self.src
        mfbtest.mfb("archive", "test", path)
        listing = mfbtest.mfb("archive", "list", path).stdout
        expected = ["naïve café/résumé.txt", "emoji 🎉 dir/party 🎉.txt"]
        if src == self.src:
            expected.append("link to file")
        for name in expected:
            self.assertIn(name, listing)
        dest = path + ".d"
        mfbtest.mfb("archive", "extract", path, dest)
        treecmp.assert_same_tree(src, dest, ignore=[mfbtest.MANIFEST])

    def test_deflated(self):
        self.assert_mfb_reads(self.zip_tree("deflated.zip"))

    def test_stored(self):
        path = self.zip_tree("stored.zip", "-0")
        with zipfile.ZipFile(path) as z:
            self.assertEqual({i.compress_type for i in z.infolist()}, {zipfile.ZIP_STORED})
        self.assert_mfb_reads(path)

    def test_forced_zip64(self):
        self.assert_mfb_reads(self.zip_tree("zip64.zip", "-fz"))

    def test_streamed_with_data_descriptors(self):
        path = self.zip_tree("streamed.zip", stream=True)
        with zipfile.ZipFile(path) as z:
            flags = [i.flag_bits & DATA_DESCRIPTOR_FLAG for i in z.infolist() if i.file_size]
        self.assertTrue(flags and all(flags), "streamed zip did not use data descriptors")
        self.assert_mfb_reads(path, src=self.src_no_links)

    def test_from_stdin(self):
        data = trees.pseudo_text(300_000, 5)
        path = self.path("stdin.zip")
        r = subprocess.run(["zip", "-q", "-", "-"], input=data, stdout=subprocess.PIPE,
                           check=True)
        with open(path, "wb") as f:
            f.write(r.stdout)
        ziptools.check_all(path, expect_names=["-"])
        mfbtest.mfb("archive", "test", path)
        dest = self.path("stdin.d")
        mfbtest.mfb("archive", "extract", path, dest)
        with open(os.path.join(dest, "-"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_corrupt_infozip_archive_is_caught(self):
        path = self.zip_tree("damaged.zip")
        start, length = ziptools.data_range(path, trees.BIG_NAME)
        ziptools.flip_byte(path, start + length // 2)
        r = mfbtest.mfb("archive", "test", path, expect=1)
        self.assertIn(trees.BIG_NAME, r.stderr)


if __name__ == "__main__":
    mfbtest.main()
