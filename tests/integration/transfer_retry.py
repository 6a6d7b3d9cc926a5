"""transfer_retry.py - what `mfb push` retries and what it does not.

Retried with backoff: 503, 429 (honouring Retry-After), 408, a connection
dropped mid-chunk, an answer lost after the receiver acted, a receiver that
hangs (stall timeout). Final at once, with one clear error line: 401, 400,
409, 422, 507 at creation. Retrying ends after --retries attempts or
--retry-max-time, reporting the first error and the count."""

import os
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB", os.path.join(os.path.dirname(__file__),
                                                               "..", "lib")))
from transfer_testlib import MiB, TransferTest, main  # noqa: E402


class RetryTest(TransferTest):
    def statuses(self, method, path):
        return [r[2] for r in self.rx.requests_matching(method, path)]

    def push(self, size=3 * MiB, *extra):
        path = self.make_file("f.zip", size)
        res = self.run_mfb(self.push_args(path, "--chunk-size", "1M", *extra))
        return path, res

    def assert_pushed(self, path, res):
        self.assert_ok(res)
        self.assertEqual(self.fields(res.stdout)["sha256"], self.sha256_of(path))

    def test_503_is_retried(self):
        self.rx.add_fault("status", method="PUT", path="/chunks/1$", status=503, count=2)
        path, res = self.push()
        self.assert_pushed(path, res)
        self.assertEqual(self.statuses("PUT", "/chunks/1$"), [503, 503, 201])
        self.assertIn("warn retry", res.stderr)

    def test_429_and_408_are_retried(self):
        self.rx.add_fault("status", method="POST", path="^/v1/uploads$", status=429, count=1,
                          retry_after=1)
        self.rx.add_fault("status", method="POST", path="/complete$", status=408, count=1)
        path, res = self.push()
        self.assert_pushed(path, res)
        self.assertEqual(self.statuses("POST", "^/v1/uploads$"), [429, 201])
        self.assertEqual(self.statuses("POST", "/complete$"), [408, 201])

    def test_dropped_connection_is_retried(self):
        self.rx.add_fault("drop", method="PUT", path="/chunks/2$", after_bytes=300000, count=2)
        path, res = self.push()
        self.assert_pushed(path, res)
        self.assertEqual(self.statuses("PUT", "/chunks/2$"), [None, None, 201])
        self.assertEqual(self.rx.puts_of(self.upload_id(res.stderr))[2], 3)

    def test_lost_answers_are_retried_idempotently(self):
        # The receiver stores chunk 0 and completes the upload, but both
        # answers are lost: the repeats must be harmless no-ops.
        self.rx.add_fault("lose", method="PUT", path="/chunks/0$", count=1)
        self.rx.add_fault("lose", method="POST", path="/complete$", count=1)
        path, res = self.push()
        self.assert_pushed(path, res)
        self.assertEqual(self.statuses("PUT", "/chunks/0$"), [None, 200])
        self.assertEqual(self.statuses("POST", "/complete$"), [None, 201])
        self.assertEqual(len(self.rx.backups), 1)

    def test_hanging_receiver_hits_the_stall_timeout(self):
        self.rx.add_fault("sleep", method="PUT", path="/chunks/1$", seconds=20, count=1)
        path, res = self.push(3 * MiB, "--stall-timeout", "1s")
        self.assert_pushed(path, res)
        self.assertIn("timed out", res.stderr)
        # Stored once; on a loaded machine a 1 s stall may also cut the
        # attempt that stored it, and the repeats are then no-ops (200).
        st = self.statuses("PUT", "/chunks/1$")
        self.assertIn(201, st)
        self.assertEqual(set(st[st.index(201) + 1:]) - {200}, set(), st)

    def test_401_is_final(self):
        bad = self.write_secret("bad-token", "0" * 64)
        path = self.make_file("f.zip", 1000)
        args = self.push_args(path)
        args[args.index("--token-file") + 1] = bad
        res = self.run_mfb(args)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr), [
            "mfb: error: cannot open the upload: the receiver answered 401 unauthorized: "
            "missing or unknown token"])
        self.assertIn("HINT: check the token in --token-file", res.stderr)
        self.assertEqual(len(self.rx.requests), 1)
        self.assertNotIn("0" * 64, res.stderr)

    def test_401_on_a_chunk_is_final_and_resumable(self):
        self.rx.add_fault("status", method="PUT", path="/chunks/0$", status=401, count=None)
        path, res = self.push(1000)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr), [
            "mfb: error: cannot upload chunk 0: the receiver answered 401 injected: "
            "injected fault 401"])
        self.assertEqual(self.statuses("PUT", "/chunks/0$"), [401])
        self.assertIn("Resume with:", res.stderr)

    def test_422_is_final(self):
        self.rx.add_fault("status", method="PUT", path="/chunks/0$", status=422, count=1)
        path, res = self.push(1000)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.statuses("PUT", "/chunks/0$"), [422])
        self.assertEqual(self.error_lines(res.stderr), [
            "mfb: error: cannot upload chunk 0: the receiver answered 422 injected: "
            "injected fault 422"])

    def test_400_and_409_are_final(self):
        self.rx.add_fault("status", method="PUT", path="/chunks/0$", status=400, count=1)
        path, res = self.push(1000)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.statuses("PUT", "/chunks/0$"), [400])
        self.assertEqual(len(self.error_lines(res.stderr)), 1)
        self.rx.add_fault("status", method="POST", path="/complete$", status=409, count=1)
        res = self.run_mfb(self.push_args(path))
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.statuses("POST", "/complete$"), [409])
        self.assertIn("mfb: error: cannot complete upload u_", res.stderr)

    def test_507_at_creation_is_final(self):
        self.rx.add_fault("status", method="POST", path="^/v1/uploads$", status=507, count=1)
        path, res = self.push(1000)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.statuses("POST", "^/v1/uploads$"), [507])
        self.assertIn("HINT: free space on the receiver", res.stderr)
        self.assertNotIn("Resume with:", res.stderr)  # no upload was opened

    def test_retries_are_bounded(self):
        self.rx.add_fault("status", method="PUT", path="/chunks/0$", status=503, count=None)
        path, res = self.push(1000, "--retries", "3")
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.statuses("PUT", "/chunks/0$"), [503, 503, 503])
        errors = self.error_lines(res.stderr)
        self.assertEqual(len(errors), 1, res.stderr)
        self.assertRegex(errors[0], r"^mfb: error: cannot upload chunk 0: the receiver answered "
                                    r"503 injected: injected fault 503 \(gave up after 3 attempts "
                                    r"in \S+\)$")
        # The time bound: with 1s, only a few attempts fit.
        res = self.run_mfb(self.push_args(path, "--retry-max-time", "1s"))
        self.assertEqual(res.returncode, 1)
        self.assertRegex(res.stderr, r"gave up after [23] attempts")

    def test_unreachable_receiver(self):
        path = self.make_file("f.zip", 1000)
        args = self.push_args(path, "--retries", "2")
        self.rx.stop()
        res = self.run_mfb(args)
        self.assertEqual(res.returncode, 1)
        errors = self.error_lines(res.stderr)
        self.assertEqual(len(errors), 1, res.stderr)
        self.assertIn("mfb: error: cannot open the upload: %s: " % self.rx.url, errors[0])
        self.assertIn("(gave up after 2 attempts", errors[0])


if __name__ == "__main__":
    main()
