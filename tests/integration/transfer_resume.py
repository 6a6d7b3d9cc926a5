"""transfer_resume.py - interrupted pushes and `mfb push --resume`.

kill -9 mid-transfer, then resume from the upload id printed at the start:
the final SHA-256 matches and at most the chunks that were in flight are
sent again. SIGINT: the push stops, prints the exact resume command, and
that command finishes the job. A resume verifies the receiver's chunks
against the local file and re-sends one whose digest differs (5.4), and
refuses a file that cannot be the one the upload was started from."""

import os
import shlex
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB", os.path.join(os.path.dirname(__file__),
                                                               "..", "lib")))
from transfer_testlib import MFB, MiB, TransferTest, main  # noqa: E402

CONNECTIONS = 4


class ResumeTest(TransferTest):
    def start_slow_push(self, path, *extra):
        """Starts a push that the receiver slows down; returns (proc, upload id,
        stderr collector)."""
        self.rx.add_fault("slow", method="PUT", path="/chunks/", rate=4 * MiB, count=None)
        proc = subprocess.Popen(self.push_args(path, "--chunk-size", "1M", "--connections",
                                               str(CONNECTIONS), *extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.reap, proc)
        lines = []
        first = proc.stderr.readline()
        lines.append(first)
        uid = self.upload_id(first)
        self.assertIsNotNone(uid, first)
        collector = threading.Thread(target=lambda: lines.extend(proc.stderr))
        collector.start()
        return proc, uid, lines, collector

    @staticmethod
    def reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    def wait_stored(self, uid, n, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.rx.stored_puts_of(uid)) >= n:
                return
            time.sleep(0.02)
        self.fail("the receiver never got %d chunks" % n)

    def resume(self, uid, path, *extra):
        args = [MFB, "push", "--resume", uid, path] + self.target_args() + list(extra)
        return self.run_mfb(args)

    def test_kill_9_then_resume(self):
        path = self.make_file("Data.zip", 24 * MiB)
        proc, uid, _, collector = self.start_slow_push(path)
        self.wait_stored(uid, 6)
        proc.kill()  # SIGKILL: no chance to clean up or print anything
        proc.wait()
        collector.join()
        # The receiver may still store a chunk whose bytes all arrived.
        end = time.monotonic() + 20
        while self.rx.active_puts and time.monotonic() < end:
            time.sleep(0.02)
        stored_before = set(self.rx.stored_puts_of(uid))
        self.rx.clear_faults()

        res = self.resume(uid, path)
        self.assert_ok(res)
        out = self.fields(res.stdout)
        self.assertEqual(out["sha256"], self.sha256_of(path))
        with open(path, "rb") as f:
            self.assertEqual(self.rx.backups[out["backup_id"]]["data"], f.read())
        puts = self.rx.puts_of(uid)
        self.assertEqual(set(puts), set(range(24)))
        # Chunks the receiver had acknowledged were not sent again ...
        for i in stored_before:
            self.assertEqual(puts[i], 1, "chunk %d was stored and sent again" % i)
        # ... and of the others, only those in flight at the kill were sent twice.
        resent = sum(n - 1 for n in puts.values())
        self.assertLessEqual(resent, CONNECTIONS)
        self.assertIn("resume=yes held=%d" % len(stored_before), res.stderr)

    def test_sigint_prints_the_resume_command(self):
        path = self.make_file("Data.zip", 16 * MiB)
        proc, uid, lines, collector = self.start_slow_push(path)
        self.wait_stored(uid, 3)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=20), 1)
        collector.join()
        stderr = "".join(lines)
        self.assertIn("mfb: error: upload %s interrupted by SIGINT" % uid, stderr)
        self.assertIn("upload %s is incomplete; the receiver keeps what it has. Resume with:"
                      % uid, stderr)
        command = [l for l in stderr.splitlines() if l.startswith("  mfb push --resume")]
        self.assertEqual(len(command), 1, stderr)
        argv = shlex.split(command[0])
        self.assertEqual(argv[:4], ["mfb", "push", "--resume", uid])
        self.assertEqual(argv[4], os.path.realpath(path))
        self.assertNotIn(self.rx.token, stderr)

        self.rx.clear_faults()
        res = self.run_mfb([MFB] + argv[1:], cwd="/")  # works from anywhere
        self.assert_ok(res)
        self.assertEqual(self.fields(res.stdout)["sha256"], self.sha256_of(path))
        resent = sum(n - 1 for n in self.rx.puts_of(uid).values())
        self.assertLessEqual(resent, CONNECTIONS)

    def test_resume_replaces_a_chunk_that_differs(self):
        path = self.make_file("Data.zip", 6 * MiB + 100)
        # A first push that stops before completion (complete is refused).
        self.rx.add_fault("status", method="POST", path="/complete$", status=400, count=1)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M"))
        self.assertEqual(res.returncode, 1)
        uid = self.upload_id(res.stderr)
        self.assertEqual(self.rx.puts_of(uid), {i: 1 for i in range(7)})
        # The receiver now reports another digest for chunk 4.
        self.rx.add_fault("digest", index=4)
        res = self.resume(uid, path)
        self.assert_ok(res)
        self.assertEqual(self.fields(res.stdout)["sha256"], self.sha256_of(path))
        puts = self.rx.puts_of(uid)
        self.assertEqual(puts, {0: 1, 1: 1, 2: 1, 3: 1, 4: 2, 5: 1, 6: 1})
        self.assertEqual(len(self.rx.requests_matching("DELETE", "/chunks/4$")), 1)
        self.assertIn("chunks_verified=6 chunks_replaced=1", res.stderr)
        self.assertIn("warn resume upload=%s chunk=4" % uid, res.stderr)

    def test_resume_of_a_complete_set_only_verifies(self):
        path = self.make_file("Data.zip", 3 * MiB)
        self.rx.add_fault("status", method="POST", path="/complete$", status=400, count=1)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M"))
        uid = self.upload_id(res.stderr)
        res = self.resume(uid, path, "--json")
        self.assert_ok(res)
        self.assertIn('"chunks_sent":0,"chunks_verified":3,"chunks_replaced":0', res.stdout)
        self.assertEqual(self.rx.puts_of(uid), {0: 1, 1: 1, 2: 1})

    def test_resume_of_a_completed_upload(self):
        path = self.make_file("Data.zip", 2 * MiB + 5)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M"))
        self.assert_ok(res)
        first = self.fields(res.stdout)
        uid = self.upload_id(res.stderr)
        res = self.resume(uid, path)
        self.assert_ok(res)
        self.assertEqual(self.fields(res.stdout), first)
        self.assertEqual(self.rx.puts_of(uid), {0: 1, 1: 1, 2: 1})
        self.assertEqual(len(self.rx.backups), 1)
        self.assertIn("note=already_complete", res.stderr)

    def test_resume_refuses_another_file(self):
        path = self.make_file("Data.zip", 3 * MiB)
        self.rx.add_fault("status", method="POST", path="/complete$", status=400, count=1)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M"))
        uid = self.upload_id(res.stderr)
        other = self.make_file("Other.zip", 2 * MiB)
        res = self.resume(uid, other)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr), [
            "mfb: error: the upload was opened for 3145728 bytes but the local file has 2097152"])
        self.assertEqual(self.rx.puts_of(uid), {0: 1, 1: 1, 2: 1})

    def test_resume_unknown_id(self):
        path = self.make_file("Data.zip", 1000)
        res = self.resume("u_0123456789abcdef0123456789abcdef", path)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr), [
            "mfb: error: cannot read the state of upload u_0123456789abcdef0123456789abcdef: the receiver answered "
            "404 not_found: no such upload"])
        self.assertIn("HINT: the upload may have completed, expired or been removed", res.stderr)
        for bad in ("../../etc", "u_123", "b_0123456789abcdef0123456789abcdef"):
            res = self.resume(bad, path)
            self.assertEqual(res.returncode, 2)
            self.assertIn("mfb: error: '%s' is not a valid upload id" % bad, res.stderr)


if __name__ == "__main__":
    main()
