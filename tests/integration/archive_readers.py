"""archive_readers.py - independent readers agree on what `mfb archive create`
writes (docs/archive.md): names with spaces and non-ASCII characters, empty
directories, symlinks, modes, owners and mtimes.

Four readers that share no code with mfb (Info-ZIP unzip, 7-Zip, libarchive's
bsdtar, Python's zipfile) must all test the archive clean and list the same
names; two of them (unzip, bsdtar) must also extract a tree identical to the
source, which proves the Unix metadata is in the standard extra fields and
not only in a form mfb itself understands. The 70,000-file and 5 GiB cases
have their own files (archive_many_files.py, archive_zip64.py) so CTest can
run them in parallel.
"""

import os
import stat
import sys
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import treecmp  # noqa: E402
import trees  # noqa: E402
import ziptools  # noqa: E402

UTF8_FLAG = 0x800


class ReadersAgree(mfbtest.SharedTempDirTestCase):

    @classmethod
    def prepare(cls):
        cls.src = cls.path("src")
        cls.names = trees.make_sample_tree(cls.src)
        cls.zip = cls.path("sample.zip")
        mfbtest.archive_create(cls.src, cls.zip, "--threads", "2", "--block-size", "128K")

    def test_four_readers_pass_and_agree_on_names(self):
        listed = ziptools.check_all(self.zip, expect_names=self.names + [mfbtest.MANIFEST])
        self.assertIn("naïve café/résumé.txt", listed)
        self.assertIn("emoji 🎉 dir/party 🎉.txt", listed)
        self.assertIn("nested empty/level1/level2", listed)
        mfbtest.mfb("archive", "test", self.zip)

    def test_entries_carry_standard_metadata(self):
        with zipfile.ZipFile(self.zip) as z:
            infos = {i.filename: i for i in z.infolist()}
            for name in self.names:
                zi = infos[name]
                full = os.path.join(self.src, name.rstrip("/"))
                st = os.lstat(full)
                with self.subTest(name=name):
                    self.assertEqual(zi.create_system, 3, "made by must say Unix")
                    self.assertEqual(zi.external_attr >> 16, st.st_mode,
                                     "external attributes must hold st_mode")
                    if not name.isascii():
                        self.assertTrue(zi.flag_bits & UTF8_FLAG, "UTF-8 flag (bit 11) unset")
                    if stat.S_ISLNK(st.st_mode):
                        self.assertEqual(z.read(zi).decode(), os.readlink(full))
                    elif stat.S_ISDIR(st.st_mode):
                        self.assertTrue(name.endswith("/"))
                        self.assertEqual(zi.file_size, 0)
                    else:
                        self.assertEqual(zi.file_size, st.st_size)
            big = infos[trees.BIG_NAME]
            self.assertEqual(big.compress_type, zipfile.ZIP_DEFLATED)
            self.assertLess(big.compress_size, big.file_size * 0.8)
            self.assertEqual(infos["empty"].file_size, 0)
        mfbtest.assert_manifest_matches(self.zip)

    def test_list_shows_every_entry(self):
        text = mfbtest.mfb("archive", "list", self.zip).stdout
        for name in self.names:
            self.assertIn(name.rstrip("/"), text)
        listed = [e["name"] for e in mfbtest.archive_list_json(self.zip)]
        self.assertEqual(sorted(n.rstrip("/") for n in listed),
                         sorted(n.rstrip("/") for n in self.names + [mfbtest.MANIFEST]))

    def test_infozip_unzip_extracts_an_identical_tree(self):
        out = self.path("unzip")
        mfbtest.run(["unzip", "-X", "-qq", self.zip, "-d", out], expect=0)
        os.unlink(os.path.join(out, mfbtest.MANIFEST))
        treecmp.assert_same_tree(self.src, out)

    def test_bsdtar_extracts_an_identical_tree(self):
        out = self.path("bsdtar")
        os.makedirs(out)
        mfbtest.run(["bsdtar", "-xpf", self.zip, "-C", out], expect=0)
        os.unlink(os.path.join(out, mfbtest.MANIFEST))
        # libarchive restores file and symlink metadata; it leaves directory
        # mtimes to the order of extraction, so those are not compared here
        treecmp.assert_same_tree(self.src, out, dir_mtime=False)


if __name__ == "__main__":
    mfbtest.main()
