"""archive_roundtrip.py - `mfb archive create` then `extract` gives back the
tree byte for byte, with modes, mtimes, owners (as root), symlinks and empty
directories (docs/archive.md); plus what create promises about its
input and output: determinism (same bytes for the same input and options,
whatever the clock or the thread count), default and explicit
excludes, FIFOs and sockets skipped with a warning, no overwriting.
"""

import json
import os
import socket
import sys
import time
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
import treecmp  # noqa: E402
import trees  # noqa: E402
import ziptools  # noqa: E402

# Whether extract also writes mfb-manifest.json into DIR is mfb's choice;
# the comparison leaves it out either way.
IGNORE = [mfbtest.MANIFEST]
FIXED_CLOCK = dict(mfbtest.UTF8_ENV, SOURCE_DATE_EPOCH="1700000000")


def assert_same_bytes(a, b, what):
    """Fails with the first differing entry when two archives differ."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        if fa.read() == fb.read():
            return
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        names_a, names_b = za.namelist(), zb.namelist()
        if names_a != names_b:
            raise AssertionError(f"{what}: entries only in the first: "
                                 f"{sorted(set(names_a) - set(names_b))}, only in the second: "
                                 f"{sorted(set(names_b) - set(names_a))}, order: {names_a} / "
                                 f"{names_b}")
        for x, y in zip(za.infolist(), zb.infolist()):
            fields = ("date_time", "CRC", "compress_size", "extra", "external_attr")
            differ = {f: (getattr(x, f), getattr(y, f)) for f in fields
                      if getattr(x, f) != getattr(y, f)}
            if za.read(x) != zb.read(y):
                differ["content"] = "differs"
            if differ:
                raise AssertionError(f"{what}: first difference in entry {x.filename!r}: {differ}")
    raise AssertionError(f"{what} (entries agree; the difference is in the compressed bytes "
                         f"or the structure)")


def names_in(path):
    return sorted(n.rstrip("/") for n in ziptools.zipfile_test(path))


class RoundTrip(mfbtest.TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        self.names = trees.make_sample_tree(self.src)

    def roundtrip(self, *opts):
        out = self.path(f"rt{len(os.listdir(self.tmp))}.zip")
        mfbtest.archive_create(self.src, out, *opts)
        dest = out[:-4] + ".d"
        mfbtest.mfb("archive", "extract", out, dest)
        treecmp.assert_same_tree(self.src, dest, ignore=IGNORE)
        return out

    def test_restores_content_modes_mtimes_owners_links_and_empty_dirs(self):
        out = self.roundtrip("--threads", "2", "--block-size", "128K")
        mfbtest.mfb("archive", "test", out)
        dest = out[:-4] + ".d"
        self.assertTrue(os.path.islink(os.path.join(dest, "dangling")))
        self.assertEqual(os.readlink(os.path.join(dest, "absolute-link")),
                         "/nonexistent/absolute/target")
        self.assertEqual(os.listdir(os.path.join(dest, "nested empty", "level1", "level2")), [])

    def test_every_level_round_trips(self):
        for level in ("0", "1", "2", "3", "4", "6", "9"):
            with self.subTest(level=level):
                self.roundtrip("--level", level, "--threads", "2", "--block-size", "128K")

    def test_one_thread_and_many_threads_round_trip(self):
        self.roundtrip("--threads", "1")
        self.roundtrip("--threads", "8", "--block-size", "128K")

    def test_same_input_gives_same_bytes(self):
        # nothing from the clock may leak in: two runs a second apart agree
        a, b = self.path("a.zip"), self.path("b.zip")
        opts = ("--threads", "4", "--block-size", "128K")
        mfbtest.archive_create(self.src, a, *opts)
        time.sleep(1.1)
        mfbtest.archive_create(self.src, b, *opts)
        assert_same_bytes(a, b, "two runs gave different archives")

    def test_same_bytes_under_source_date_epoch(self):
        # the reproducible-builds convention, for callers that pin the time
        a, b = self.path("a.zip"), self.path("b.zip")
        mfbtest.archive_create(self.src, a, env=FIXED_CLOCK)
        time.sleep(1.1)
        mfbtest.archive_create(self.src, b, env=FIXED_CLOCK)
        assert_same_bytes(a, b, "two runs with SOURCE_DATE_EPOCH gave different archives")

    def test_thread_count_does_not_change_the_bytes(self):
        a, b = self.path("t1.zip"), self.path("t4.zip")
        mfbtest.archive_create(self.src, a, "--threads", "1", "--block-size", "128K",
                               env=FIXED_CLOCK)
        mfbtest.archive_create(self.src, b, "--threads", "4", "--block-size", "128K",
                               env=FIXED_CLOCK)
        assert_same_bytes(a, b, "--threads 1 and 4 gave different archives")

    def test_refuses_to_overwrite_output(self):
        out = self.path("exists.zip")
        with open(out, "wb") as f:
            f.write(b"precious")
        r = mfbtest.archive_create(self.src, out, expect=1)
        self.assertIn("mfb: error:", r.stderr)
        self.assertIn("exists.zip", r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"precious")

    def test_metadata_file(self):
        meta = self.path("meta.json")
        with open(meta, "w") as f:
            f.write('{"job": {"id": 7}}')
        out = self.path("m.zip")
        mfbtest.archive_create(self.src, out, "--metadata", meta)
        with zipfile.ZipFile(out) as z:
            self.assertEqual(json.loads(z.read(mfbtest.MANIFEST))["metadata"], {"job": {"id": 7}})
        # not an object, not JSON: one line each, and no archive
        with open(meta, "w") as f:
            f.write("[1]")
        r = mfbtest.archive_create(self.src, self.path("n.zip"), "--metadata", meta, expect=2)
        self.assertIn(f"mfb: error: --metadata '{meta}': not a JSON object\nHINT:", r.stderr)
        with open(meta, "w") as f:
            f.write("{")
        r = mfbtest.archive_create(self.src, self.path("n.zip"), "--metadata", meta, expect=2)
        self.assertRegex(r.stderr, rf"mfb: error: --metadata '{meta}': .*expected")
        self.assertFalse(os.path.exists(self.path("n.zip")))

    def test_prints_a_one_line_summary(self):
        r = mfbtest.archive_create(self.src, self.path("s.zip"))
        self.assertEqual(len(r.stdout.strip().splitlines()), 1, r.stdout)


class Excludes(mfbtest.TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        for rel in ("keep.txt", "mysqld.sock", "mysqld.sock.lock", "mariadb.pid",
                    "db/t.ibd", "db/nested.pid", "db/x.tmp", "top.tmp",
                    "skipdir/inner.txt", "skipdir/deeper/inner2.txt"):
            full = os.path.join(self.src, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(rel)

    def test_socket_and_pid_files_excluded_by_default(self):
        out = self.path("d.zip")
        mfbtest.archive_create(self.src, out)
        names = names_in(out)
        for gone in ("mysqld.sock", "mysqld.sock.lock", "mariadb.pid", "db/nested.pid"):
            self.assertNotIn(gone, names)
        for kept in ("keep.txt", "db/t.ibd", "top.tmp", "skipdir/deeper/inner2.txt"):
            self.assertIn(kept, names)

    def test_no_default_excludes_keeps_them(self):
        out = self.path("n.zip")
        mfbtest.archive_create(self.src, out, "--no-default-excludes")
        names = names_in(out)
        for kept in ("mysqld.sock", "mysqld.sock.lock", "mariadb.pid", "db/nested.pid"):
            self.assertIn(kept, names)

    def test_exclude_patterns_match_names_at_any_depth_and_whole_dirs(self):
        out = self.path("e.zip")
        mfbtest.archive_create(self.src, out, "--exclude", "*.tmp", "--exclude", "skipdir")
        names = names_in(out)
        for gone in ("top.tmp", "db/x.tmp", "skipdir", "skipdir/inner.txt",
                     "skipdir/deeper/inner2.txt", "mariadb.pid"):
            self.assertNotIn(gone, names)
        self.assertIn("db/t.ibd", names)
        mfbtest.assert_manifest_matches(out)

    def test_fifo_and_socket_skipped_with_warning(self):
        os.mkfifo(os.path.join(self.src, "db", "a-fifo"))
        sock = socket.socket(socket.AF_UNIX)
        self.addCleanup(sock.close)
        sock.bind(os.path.join(self.src, "db", "live-socket"))
        out = self.path("f.zip")
        r = mfbtest.archive_create(self.src, out, "--no-default-excludes")
        self.assertIn("a-fifo", r.stderr)
        self.assertIn("live-socket", r.stderr)
        names = names_in(out)
        self.assertNotIn("db/a-fifo", names)
        self.assertNotIn("db/live-socket", names)
        self.assertIn("db/t.ibd", names)


if __name__ == "__main__":
    mfbtest.main()
