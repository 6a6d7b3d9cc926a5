"""transfer_push.py - `mfb push` against the fake receiver: a normal push,
parallel chunks on several connections, the options reaching the receiver,
the output, and the progress line (on a terminal only)."""

import json
import os
import pty
import subprocess
import sys
import threading

sys.path.insert(0, os.environ.get("MFB_TEST_LIB", os.path.join(os.path.dirname(__file__),
                                                               "..", "lib")))
from transfer_testlib import MFB, MiB, TransferTest, main  # noqa: E402


class PushTest(TransferTest):
    def test_push_publishes_the_file(self):
        path = self.make_file("Data.zip", 5 * MiB + 12345)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M"))
        self.assert_ok(res)
        out = self.fields(res.stdout)
        self.assertEqual(out["sha256"], self.sha256_of(path))
        self.assertEqual(out["size"], str(5 * MiB + 12345))
        self.assertEqual(out["path"], "db1/prod/Data.zip")
        backup = self.rx.backups[out["backup_id"]]
        with open(path, "rb") as f:
            self.assertEqual(backup["data"], f.read())
        uid = self.upload_id(res.stderr)
        self.assertTrue(uid and uid.startswith("u_"), res.stderr)
        # Every chunk exactly once, and no stray requests.
        self.assertEqual(self.rx.puts_of(uid), {i: 1 for i in range(6)})
        self.assertEqual(len(self.rx.requests_matching("POST", r"^/v1/uploads$")), 1)
        self.assertEqual(len(self.rx.requests_matching("POST", r"/complete$")), 1)
        # The token never shows.
        self.assertNotIn(self.rx.token, res.stderr + res.stdout)

    def test_parallel_chunks(self):
        path = self.make_file("big.zip", 16 * MiB)
        # Slow the receiver so several PUTs overlap.
        self.rx.add_fault("slow", method="PUT", path="/chunks/", rate=8 * MiB, count=None)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M", "--connections", "4"))
        self.assert_ok(res)
        self.assertEqual(self.fields(res.stdout)["sha256"], self.sha256_of(path))
        self.assertEqual(self.rx.max_parallel_puts, 4)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "4M", "-j", "1"))
        self.assert_ok(res)
        self.assertLessEqual(self.rx.max_parallel_puts, 4)

    def test_options_reach_the_receiver(self):
        path = self.make_file("x.bin", 1000)
        res = self.run_mfb(self.push_args(path, "--name", "nightly.zip", "--directory", "weekly",
                                          "--json", instance="db-7"))
        self.assert_ok(res)
        out = json.loads(res.stdout)
        self.assertEqual(out["name"], "nightly.zip")
        self.assertEqual(out["sha256"], self.sha256_of(path))
        self.assertEqual(out["size"], 1000)
        self.assertEqual(out["chunks_sent"], 1)
        up = self.rx.uploads[out["upload_id"]]
        self.assertEqual((up.instance, up.name, up.directory), ("db-7", "nightly.zip", "weekly"))
        self.assertEqual(up.chunk_size, 16 * MiB)  # the default
        self.assertEqual(up.size, 1000)

    def test_empty_file(self):
        path = self.make_file("empty.zip", 0)
        res = self.run_mfb(self.push_args(path))
        self.assert_ok(res)
        self.assertEqual(self.fields(res.stdout)["sha256"],
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        self.assertEqual(self.rx.requests_matching("PUT", "/chunks/"), [])

    def test_bad_input_is_one_clear_line(self):
        path = self.make_file("x.bin", 10)
        cases = [
            (["--chunk-size", "3M"], "mfb: error: invalid chunk size 3145728 bytes"),
            (["--connections", "0"], "mfb: error: --connections: "),
        ]
        for extra, message in cases:
            res = self.run_mfb(self.push_args(path, *extra))
            self.assertEqual(res.returncode, 2, res.stderr)
            errors = self.error_lines(res.stderr)
            self.assertEqual(len(errors), 1, res.stderr)
            self.assertTrue(errors[0].startswith(message), res.stderr)
        res = self.run_mfb(self.push_args(path, instance=None))
        self.assertEqual(res.returncode, 2)
        self.assertIn("mfb: error: no instance given", res.stderr)
        res = self.run_mfb(self.push_args(os.path.join(self.tmp, "missing.zip")))
        self.assert_fails(res, "mfb: error: cannot open '")
        self.assertEqual(self.rx.requests, [])  # nothing was sent

    def test_progress_is_silent_when_not_a_terminal(self):
        path = self.make_file("x.bin", 3 * MiB)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M"))
        self.assert_ok(res)
        self.assertNotIn("\r", res.stderr)
        self.assertNotIn("ETA", res.stderr)
        self.assertNotIn("%", res.stderr)

    def test_progress_on_a_terminal(self):
        path = self.make_file("x.bin", 8 * MiB)
        self.rx.add_fault("slow", method="PUT", path="/chunks/", rate=6 * MiB, count=None)
        master, slave = pty.openpty()
        out = bytearray()

        def drain():
            while True:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return
                if not data:
                    return
                out.extend(data)

        reader = threading.Thread(target=drain)
        reader.start()
        proc = subprocess.run(self.push_args(path, "--chunk-size", "1M", "-j", "2"),
                              stdout=subprocess.PIPE, stderr=slave, timeout=50)
        os.close(slave)
        reader.join(10)
        os.close(master)
        text = out.decode(errors="replace")
        self.assertEqual(proc.returncode, 0, text)
        self.assertIn("\r", text)
        self.assertIn("upload u_", text)
        self.assertIn("8.0 MiB / 8.0 MiB  100%", text)
        self.assertIn("/s", text)
        self.assertIn("ETA", text)  # drawn at least once mid-transfer


if __name__ == "__main__":
    main()
