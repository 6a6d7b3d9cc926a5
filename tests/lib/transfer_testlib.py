"""transfer_testlib.py - what the transfer integration tests share: a temp
directory that is always removed, a fake receiver per test, files of known
content, and a runner for the real `mfb` binary.
"""

import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_receiver import FakeReceiver  # noqa: E402

MFB = os.environ.get("MFB", "mfb")
MiB = 1 << 20


def tmp_base():
    base = os.environ.get("MFB_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return base


class TransferTest(unittest.TestCase):
    """Gives each test self.tmp, self.rx (started) and self.token_file."""

    tls = True

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="transfer-", dir=tmp_base())
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.rx = FakeReceiver(self.tmp, tls=self.tls).start()
        self.addCleanup(self.rx.stop)
        self.token_file = self.write_secret("token", self.rx.token)

    def write_secret(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, mode)
        return path

    def make_file(self, name, size, seed=1):
        path = os.path.join(self.tmp, name)
        rnd = random.Random(seed)
        with open(path, "wb") as f:
            left = size
            while left > 0:
                n = min(left, 4 * MiB)
                f.write(rnd.randbytes(n))
                left -= n
        return path

    @staticmethod
    def sha256_of(path):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(MiB), b""):
                h.update(block)
        return h.hexdigest()

    def target_args(self, fingerprint=None):
        args = ["--url", self.rx.url, "--token-file", self.token_file]
        if self.tls:
            args += ["--fingerprint", fingerprint or self.rx.fingerprint]
        else:
            args += ["--insecure-plaintext"]
        return args

    def push_args(self, path, *extra, instance="prod"):
        args = [MFB, "push", path] + self.target_args()
        if instance:
            args += ["--instance", instance]
        return args + list(extra)

    def run_mfb(self, args, timeout=50, **kw):
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)

    def assert_ok(self, res):
        self.assertEqual(res.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (res.stdout, res.stderr))

    def assert_fails(self, res, message):
        self.assertNotEqual(res.returncode, 0, res.stderr)
        self.assertIn(message, res.stderr)

    @staticmethod
    def fields(stdout):
        out = {}
        for line in stdout.splitlines():
            k, _, v = line.partition(": ")
            out[k] = v
        return out

    @staticmethod
    def upload_id(stderr):
        for line in stderr.splitlines():
            if line.startswith("upload id: "):
                return line.split(": ", 1)[1].strip()
        return None

    def error_lines(self, stderr):
        return [l for l in stderr.splitlines() if l.startswith("mfb: error: ")]


def main():
    unittest.main(verbosity=2)
