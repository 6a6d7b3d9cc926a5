#!/usr/bin/env python3
"""job_upload_faults.py - `mfb backup` against the scripted fake receiver
(tests/lib/fake_receiver.py), for what the real receiver cannot be made to
do on cue: the connection dropped in the middle of a chunk's body, and a
chunk answered 503 after its whole body was sent.

The backup job streams each chunk from the spool file and hashes it as it
goes (docs/transfer.md, "The uploader's threads"); a retry sends the body
again from its first byte, so the hash must start again with it. In both
cases the job must end ok, with the chunk sent twice and the backup's
SHA-256 the one of the bytes the receiver holds.
"""
import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from fake_receiver import FakeReceiver  # noqa: E402
from jobtestlib import JobEnv  # noqa: E402
from mfbtest import main  # noqa: E402


class UploadFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = JobEnv("upfault", receiver=False).__enter__()
        cls.addClassCleanup(cls.env.cleanup)
        rx_dir = os.path.join(cls.env.dir, "fake")
        os.makedirs(rx_dir)
        cls.rx = FakeReceiver(rx_dir)
        cls.rx.start()
        cls.addClassCleanup(cls.rx.stop)
        fd = os.open(cls.env.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(cls.rx.token + "\n")
        cls.env.mfb("target", "add", "rx", "--url", cls.rx.url, "--token-file",
                    cls.env.token_file, "--fingerprint", cls.rx.fingerprint, "--chunk-size", "1M")
        cls.env.add_instance()

    def setUp(self):
        self.rx.clear_faults()

    def tearDown(self):
        self.env.assert_running()

    def backup_with(self, **fault):
        self.rx.add_fault(**fault)
        r = self.env.backup()
        self.assertEqual(r.done["status"], "ok", r)
        job = self.env.job(r.job_id)
        self.assertGreaterEqual(job["retries"], 1, r)
        upload = job["upload_id"]
        backup = self.rx.backups[job["backup_id"]]
        self.assertEqual(hashlib.sha256(backup["data"]).hexdigest(), backup["sha256"])
        return upload

    def test_connection_dropped_mid_chunk(self):
        upload = self.backup_with(kind="drop", method="PUT", path="/chunks/0$",
                                  after_bytes=600 * 1024)
        self.assertEqual(self.rx.chunk_puts[(upload, 0)], 2)

    def test_503_after_the_whole_chunk(self):
        upload = self.backup_with(kind="status", method="PUT", path="/chunks/1$", status=503)
        puts = self.rx.requests_matching("PUT", f"/{upload}/chunks/1$")
        self.assertEqual([p[2] for p in puts], [503, 201])


if __name__ == "__main__":
    main()
