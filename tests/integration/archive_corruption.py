"""archive_corruption.py - `mfb archive test` catches damage (docs/archive.md, the reader):
one flipped byte in an entry's compressed data, or in its central
directory record, makes it exit 1 with an error that names the entry; a
truncated archive, a damaged manifest and an archive rewritten around a
lying manifest fail too.

Offsets come from the archive's own structures (tests/lib/ziptools.py), so
each case damages exactly the byte it means to. Every case also asserts
the error format: one "mfb: error: ..." line.
"""

import json
import os
import shutil
import sys
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import trees  # noqa: E402
import ziptools  # noqa: E402

VICTIM = "db/victim.ibd"


class Corruption(mfbtest.SharedTempDirTestCase):

    @classmethod
    def prepare(cls):
        cls.src = cls.path("src")
        os.makedirs(os.path.join(cls.src, "db"))
        for name, data in (("db/before.frm", trees.pseudo_text(20000, 1)),
                           (VICTIM, trees.pseudo_binary(600_000, 2)),
                           ("db/after.frm", trees.pseudo_text(20000, 3))):
            with open(os.path.join(cls.src, name), "wb") as f:
                f.write(data)
        cls.good = cls.path("good.zip")
        mfbtest.archive_create(cls.src, cls.good, "--block-size", "128K")
        cls.stored = cls.path("stored.zip")
        mfbtest.archive_create(cls.src, cls.stored, "--level", "0")
        cls.serial = 0

    def damaged(self, source=None):
        Corruption.serial += 1
        bad = self.path(f"bad{Corruption.serial}.zip")
        shutil.copyfile(source or self.good, bad)
        return bad

    def assert_test_fails(self, path, *must_mention):
        r = mfbtest.mfb("archive", "test", path, expect=1)
        self.assertRegex(r.stderr, r"(?m)^mfb: error: ", r.stderr)
        for word in must_mention:
            self.assertIn(word, r.stderr)
        return r

    def test_intact_archives_pass(self):
        mfbtest.mfb("archive", "test", self.good)
        mfbtest.mfb("archive", "test", self.stored)

    def test_flipped_byte_in_compressed_data_names_the_entry(self):
        start, length = ziptools.data_range(self.good, VICTIM)
        self.assertGreater(length, 1000)
        for where in (0, length // 3, length // 2, length - 1):
            with self.subTest(offset=where):
                bad = self.damaged()
                ziptools.flip_byte(bad, start + where)
                self.assert_test_fails(bad, VICTIM)

    def test_single_bit_flip_in_compressed_data_names_the_entry(self):
        start, length = ziptools.data_range(self.good, VICTIM)
        bad = self.damaged()
        ziptools.flip_byte(bad, start + length // 2, mask=0x10)
        self.assert_test_fails(bad, VICTIM)

    def test_flipped_byte_in_stored_data_names_the_entry(self):
        start, length = ziptools.data_range(self.stored, VICTIM)
        bad = self.damaged(self.stored)
        ziptools.flip_byte(bad, start + length // 2)
        self.assert_test_fails(bad, VICTIM)

    def test_flipped_crc_in_central_directory_names_the_entry(self):
        bad = self.damaged()
        ziptools.flip_byte(bad, ziptools.central_record_offset(bad, VICTIM) + ziptools.CENTRAL_CRC)
        self.assert_test_fails(bad, VICTIM)

    def test_flipped_size_in_central_directory_names_the_entry(self):
        bad = self.damaged()
        ziptools.flip_byte(bad, ziptools.central_record_offset(bad, VICTIM)
                           + ziptools.CENTRAL_COMPRESSED_SIZE, mask=0x01)
        self.assert_test_fails(bad, VICTIM)

    def test_flipped_name_in_central_directory_fails(self):
        bad = self.damaged()
        name_at = ziptools.central_record_offset(bad, VICTIM) + ziptools.CENTRAL_NAME
        ziptools.flip_byte(bad, name_at + len(VICTIM) - 1, mask=0x20)  # ...ibd -> ...ibD
        # the central name no longer matches the local header nor the manifest
        self.assert_test_fails(bad, "db/victim.ib")

    def test_flipped_signature_in_central_directory_fails(self):
        bad = self.damaged()
        ziptools.flip_byte(bad, ziptools.central_record_offset(bad, VICTIM))
        self.assert_test_fails(bad)

    def test_truncated_archive_fails(self):
        for cut in (10, 200, os.path.getsize(self.good) // 2):
            with self.subTest(cut=cut):
                bad = self.damaged()
                with open(bad, "r+b") as f:
                    f.truncate(os.path.getsize(self.good) - cut)
                self.assert_test_fails(bad)

    def rewrite_manifest(self, edit):
        """A copy of the good archive rewritten by Python's zipfile with the
        same entries but an edited manifest: valid ZIP, lying manifest."""
        bad = self.damaged()
        os.unlink(bad)
        with zipfile.ZipFile(self.good) as src, zipfile.ZipFile(bad, "w") as dst:
            for zi in src.infolist():
                data = src.read(zi)
                if zi.filename == mfbtest.MANIFEST:
                    m = json.loads(data)
                    edit(m)
                    data = json.dumps(m).encode()
                dst.writestr(zi, data)
        ziptools.check_all(bad)  # other readers see nothing wrong
        return bad

    # A forged archive cannot carry mfb's checksum of its central directory
    # (the archive comment); mfb checks the manifest first, so the error
    # names the entry the manifest disagrees with.

    def test_manifest_size_mismatch_names_the_entry(self):
        def edit(m):
            for f in m["files"]:
                if f["path"] == VICTIM:
                    f["size"] += 1
        self.assert_test_fails(self.rewrite_manifest(edit), VICTIM, "manifest")

    def test_manifest_crc_mismatch_names_the_entry(self):
        def edit(m):
            for f in m["files"]:
                if f["path"] == VICTIM:
                    crc = f["crc32"]
                    f["crc32"] = crc ^ 1 if isinstance(crc, int) else f"{int(crc, 16) ^ 1:08x}"
        self.assert_test_fails(self.rewrite_manifest(edit), VICTIM, "manifest")

    def test_manifest_listing_a_missing_entry_names_it(self):
        def edit(m):  # a well-formed record (a copy of a real one) for a file that is not there
            ghost = dict(next(f for f in m["files"] if f["path"] == VICTIM), path="db/ghost.ibd")
            m["files"].append(ghost)
        self.assert_test_fails(self.rewrite_manifest(edit), "db/ghost.ibd", "manifest")

    def test_damaged_manifest_names_the_manifest(self):
        start, length = ziptools.data_range(self.good, mfbtest.MANIFEST)
        bad = self.damaged()
        ziptools.flip_byte(bad, start + length // 2)
        self.assert_test_fails(bad, mfbtest.MANIFEST)

if __name__ == "__main__":
    mfbtest.main()
