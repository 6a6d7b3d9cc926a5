#!/usr/bin/env python3
"""job_snapshot_reflink.py - the snapshot restart policy on a filesystem
that shares extents (XFS with reflink), where the copy of the data
directory is made with the FICLONE ioctl instead of reading and writing
every byte.

The data directory, the spool and the receiver live on an XFS image
loop-mounted for the test (so it needs root and loop devices, as CI and the
developer machines have). The backup must report every file of the copy
as cloned, end `ok`, and leave the database running; the ext4/tmpfs copy
fallback is what job_backup.py tests elsewhere.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from jobtestlib import JobEnv  # noqa: E402
from mfbtest import main, tmp_parent  # noqa: E402

IMAGE_BYTES = 1 << 30  # sparse: only what MariaDB and the backup write is used


def run(*argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class ReflinkSnapshot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0 or shutil.which("mkfs.xfs") is None:
            raise unittest.SkipTest("needs root and mkfs.xfs (xfsprogs) to loop-mount XFS")
        cls.work = tempfile.mkdtemp(prefix="mfb-reflink-", dir=tmp_parent())
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        image = os.path.join(cls.work, "xfs.img")
        cls.mount = os.path.join(cls.work, "mnt")
        os.makedirs(cls.mount)
        with open(image, "wb") as f:
            f.truncate(IMAGE_BYTES)
        made = run("mkfs.xfs", "-q", "-m", "reflink=1", image)
        if made.returncode != 0:
            raise AssertionError(f"mkfs.xfs failed: {made.stdout}")
        mounted = run("mount", "-o", "loop", image, cls.mount)
        if mounted.returncode != 0:
            raise unittest.SkipTest(f"this machine cannot loop-mount: {mounted.stdout.strip()}")
        cls.addClassCleanup(run, "umount", cls.mount)
        saved = os.environ.get("MFB_TEST_TMP")
        os.environ["MFB_TEST_TMP"] = cls.mount  # JobEnv puts everything there
        try:
            cls.env = JobEnv("reflink").__enter__()
        finally:
            if saved is None:
                del os.environ["MFB_TEST_TMP"]
            else:
                os.environ["MFB_TEST_TMP"] = saved
        cls.addClassCleanup(cls.env.cleanup)

    def test_snapshot_clones_every_file(self):
        env = self.env
        self.assertTrue(os.path.realpath(env.db.datadir).startswith(os.path.realpath(self.mount)))
        env.add_instance(restart_after="snapshot")
        env.add_target()
        before = env.db.checksum_tables()
        r = env.backup()
        self.assertEqual(r.done["status"], "ok", r)
        job = env.job(r.job_id)
        self.assertEqual(job["status"], "ok")
        self.assertIsNotNone(job["snapshot_ms"])
        copied = [m for m in map(re.compile(r"copied (\d+) files, .* \((\d+) cloned\)").search,
                                 env.events(job["id"])) if m]
        self.assertEqual(len(copied), 1, env.events(job["id"]))
        files, cloned = int(copied[0][1]), int(copied[0][2])
        # Empty files have no extents to share: they are created, not cloned.
        empty = [os.path.join(d, f) for d, _, names in os.walk(env.db.datadir) for f in names
                 if os.path.isfile(os.path.join(d, f)) and
                 os.path.getsize(os.path.join(d, f)) == 0]
        print(f"copied {files} files, {cloned} cloned, {len(empty)} empty")
        self.assertGreater(files, 10)
        self.assertEqual(cloned, files - len(empty), "every non-empty file is a reflink on XFS")
        env.assert_running()
        self.assertEqual(env.db.checksum_tables(), before)
        # The spool's copy is gone once the archive is made from it.
        self.assertEqual([f for f in env.spool_files() if "snapshot" in f], [])


if __name__ == "__main__":
    main()
