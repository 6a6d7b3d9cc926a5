"""archive_hostile.py - `mfb archive extract` refuses entries that would land
outside the target directory (docs/archive.md, safe extraction): `..` components, absolute
paths, and writing through a symlink that points outside, whether the
symlink came from the archive or was already in the target. Each case must
fail with a clear "mfb: error:" line naming the entry, and nothing outside
the target may change: the whole temporary directory except the target is
snapshotted before and compared after.

The archives are built with Python's zipfile, which writes such names as
given. Benign look-alikes (a symlink pointing outside that nothing is
written through, a name containing '..' that is not a component) must still
extract.
"""

import os
import stat
import sys
import warnings
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import treecmp  # noqa: E402


def add_file(z, name, data=b"evil\n", mode=0o644):
    zi = zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 5))
    zi.create_system = 3
    zi.external_attr = (stat.S_IFREG | mode) << 16
    z.writestr(zi, data)


def add_symlink(z, name, target):
    zi = zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 5))
    zi.create_system = 3
    zi.external_attr = (stat.S_IFLNK | 0o777) << 16
    z.writestr(zi, target)


def add_dir(z, name):
    zi = zipfile.ZipInfo(name.rstrip("/") + "/", (2024, 1, 2, 3, 4, 5))
    zi.create_system = 3
    zi.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
    z.writestr(zi, b"")


class Hostile(mfbtest.TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.outside = self.path("outside")
        os.makedirs(self.outside)
        with open(os.path.join(self.outside, "existing"), "w") as f:
            f.write("must stay as it is\n")
        # an existing, empty target: creating it would change its parent's mtime
        self.dest = self.path("work", "dest")
        os.makedirs(self.dest)

    def archive(self, build):
        path = self.path("hostile.zip")
        if os.path.exists(path):
            os.unlink(path)
        with zipfile.ZipFile(path, "w") as z:
            add_file(z, "harmless.txt", b"fine\n")
            build(z)
        return path

    def assert_refused(self, build, named, prepare_dest=None):
        path = self.archive(build)
        if prepare_dest:
            prepare_dest()
        before = treecmp.snapshot(self.tmp, ignore=["work/dest", "hostile.zip"])
        r = mfbtest.mfb("archive", "extract", path, self.dest, expect=1)
        after = treecmp.snapshot(self.tmp, ignore=["work/dest", "hostile.zip"])
        self.assertRegex(r.stderr, r"(?m)^mfb: error: ")
        self.assertIn(named, r.stderr)
        self.assertEqual(treecmp.diff_snapshots(before, after, owner=True), [],
                         "extract changed something outside the target directory")
        return r

    def test_dotdot_entry(self):
        self.assert_refused(lambda z: add_file(z, "../evil"), "../evil")

    def test_dotdot_deeper_entry(self):
        self.assert_refused(lambda z: add_file(z, "a/b/../../../evil"), "a/b/../../../evil")

    def test_dotdot_reaching_far_outside(self):
        self.assert_refused(lambda z: add_file(z, "../../outside/evil"), "../../outside/evil")

    def test_absolute_entry(self):
        target = os.path.join(self.outside, "abs-evil")
        self.assert_refused(lambda z: add_file(z, target), target)

    def test_absolute_directory_entry(self):
        target = os.path.join(self.outside, "abs-dir")
        self.assert_refused(lambda z: add_dir(z, target), target)

    def test_file_through_symlink_to_absolute_outside(self):
        def build(z):
            add_symlink(z, "link", self.outside)
            add_file(z, "link/evil")
        self.assert_refused(build, "link/evil")

    def test_file_through_relative_symlink_escaping(self):
        def build(z):
            add_symlink(z, "rel", "../../outside")
            add_file(z, "rel/evil")
        self.assert_refused(build, "rel/evil")

    def test_overwrite_through_symlink_to_a_file(self):
        def build(z):
            add_symlink(z, "victim", os.path.join(self.outside, "existing"))
            with warnings.catch_warnings():  # zipfile frowns on the duplicate name
                warnings.simplefilter("ignore")
                add_file(z, "victim", b"overwritten\n")
        self.assert_refused(build, "victim")

    def test_directory_through_symlink(self):
        def build(z):
            add_symlink(z, "up", "..")
            add_dir(z, "up/made-outside")
            add_file(z, "up/made-outside/evil")
        self.assert_refused(build, "up/made-outside")

    def test_symlink_chain_escaping(self):
        def build(z):
            add_dir(z, "d")
            add_symlink(z, "d/hop", "..")
            add_symlink(z, "d/hop2", "hop/../..")
            add_file(z, "d/hop2/evil")
        self.assert_refused(build, "d/hop2/evil")

    def test_through_symlink_already_in_target(self):
        def prepare():
            os.symlink(self.outside, os.path.join(self.dest, "pre"))
        self.assert_refused(lambda z: add_file(z, "pre/evil"), "pre/evil", prepare)

    def test_benign_lookalikes_extract(self):
        def build(z):
            add_file(z, "a..b/c..txt", b"dots inside names are fine\n")
            add_file(z, "..hidden", b"a name starting with two dots\n")
            add_symlink(z, "points-outside", self.outside)  # nothing goes through it
            add_symlink(z, "inner", "a..b")
            add_file(z, "a..b/more.txt", b"after the symlink to a dir inside\n")
        path = self.archive(build)
        mfbtest.mfb("archive", "extract", path, self.dest)
        with open(os.path.join(self.dest, "a..b", "c..txt"), "rb") as f:
            self.assertEqual(f.read(), b"dots inside names are fine\n")
        self.assertTrue(os.path.isfile(os.path.join(self.dest, "..hidden")))
        self.assertEqual(os.readlink(os.path.join(self.dest, "points-outside")), self.outside)
        self.assertEqual(os.readlink(os.path.join(self.dest, "inner")), "a..b")
        self.assertEqual(sorted(os.listdir(self.outside)), ["existing"])


if __name__ == "__main__":
    mfbtest.main()
