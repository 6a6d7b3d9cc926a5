"""transfer_server.py - `mfb push` and `mfb fetch` against the real receiver
(`mfb-server serve` over TLS, pinned by the fingerprint `init` printed).

A push lands as a published backup whose .sha256 file agrees; fetch brings
it back byte for byte; kill -9 of the client mid-push, then --resume,
re-sends at most the chunks that were in flight; a wrong token and a wrong
fingerprint are refused with one clear line; a resume that finds chunks on
the receiver differing from the local file deletes and replaces them; a
name whose file was removed behind the receiver's back stays taken."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB", os.path.join(os.path.dirname(__file__),
                                                               "..", "lib")))
from server_testlib import Receiver  # noqa: E402
from transfer_testlib import MFB, MiB, TransferTest, main  # noqa: E402


class RealServerTest(TransferTest):
    def setUp(self):
        super().setUp()  # also gives a fake receiver, unused here
        self.srv = Receiver(tmp=os.path.join(self.tmp, "receiver"))
        os.makedirs(self.srv.dir)
        self.addCleanup(self.srv.stop)
        self.srv.init()
        self.token = self.srv.add_client("db1")
        self.srv_token_file = self.write_secret("db1.token", self.token)
        self.srv.start()
        self.url = "https://127.0.0.1:%d" % self.srv.port

    def target(self, fingerprint=None, token_file=None):
        return ["--url", self.url, "--token-file", token_file or self.srv_token_file,
                "--fingerprint", fingerprint or self.srv.fingerprint]

    def push(self, path, *extra):
        return self.run_mfb([MFB, "push", path] + self.target() + ["--instance", "prod"] +
                            list(extra))

    def stored_chunks(self, uid):
        status, j = self.srv.json("GET", "/v1/uploads/" + uid, self.token)
        self.assertEqual(status, 200, j)
        return {c["index"] for c in j["chunks"]}

    def test_push_then_fetch(self):
        path = self.make_file("Data.zip", 7 * MiB + 4321)
        res = self.push(path, "--chunk-size", "1M", "--directory", "nightly")
        self.assert_ok(res)
        out = self.fields(res.stdout)
        self.assertEqual(out["sha256"], self.sha256_of(path))
        stored = os.path.join(self.srv.storage, out["path"])
        self.assertEqual(self.sha256_of(stored), out["sha256"])
        check = subprocess.run(["sha256sum", "-c", os.path.basename(stored) + ".sha256"],
                               cwd=os.path.dirname(stored), capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        # The resume state is gone once complete (5.5): no chunks left.
        uid = self.upload_id(res.stderr)
        status, j = self.srv.json("GET", "/v1/uploads/" + uid, self.token)
        self.assertEqual((status, j["complete"], j["chunks"], j["backup_id"]),
                         (200, True, [], out["backup_id"]))
        # Resuming a completed upload just returns its backup.
        res = self.run_mfb([MFB, "push", "--resume", uid, path] + self.target())
        self.assert_ok(res)
        self.assertEqual(self.fields(res.stdout)["backup_id"], out["backup_id"])

        restored = os.path.join(self.tmp, "restored.zip")
        res = self.run_mfb([MFB, "fetch", out["backup_id"], restored] + self.target())
        self.assert_ok(res)
        self.assertEqual(self.sha256_of(restored), self.sha256_of(path))

    def test_name_of_a_file_removed_behind_the_receiver_stays_taken(self):
        # An operator deletes a published file by hand; its catalog entry
        # remains. The next backup of that name gets the next free name
        # instead of failing on the catalog's unique path forever.
        path = self.make_file("Data.zip", 3 * MiB, seed=7)
        first = self.push(path, "--chunk-size", "1M", "--name", "same.zip", "-j", "4")
        self.assert_ok(first)
        stored = os.path.join(self.srv.storage, self.fields(first.stdout)["path"])
        for suffix in ("", ".sha256", ".json"):
            os.remove(stored + suffix)
        second = self.push(path, "--chunk-size", "1M", "--name", "same.zip", "-j", "4")
        self.assert_ok(second)
        out = self.fields(second.stdout)
        self.assertEqual(os.path.basename(out["path"]), "same-1.zip")
        self.assertEqual(self.sha256_of(os.path.join(self.srv.storage, out["path"])),
                         self.sha256_of(path))

    def test_kill_9_client_then_resume(self):
        path = self.make_file("Data.zip", 48 * MiB)
        proc = subprocess.Popen([MFB, "push", path] + self.target() +
                                ["--instance", "prod", "--chunk-size", "1M", "-j", "2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        uid = self.upload_id(proc.stderr.readline())
        self.assertIsNotNone(uid)
        end = time.monotonic() + 30
        while time.monotonic() < end and len(self.stored_chunks(uid)) < 3:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        # The receiver may still store chunks whose bytes all arrived: wait
        # until its list stops changing.
        before, stable = self.stored_chunks(uid), 0
        while stable < 5:
            time.sleep(0.1)
            now = self.stored_chunks(uid)
            stable = stable + 1 if now == before else 0
            before = now
        if len(before) == 48:
            self.skipTest("the push finished before it could be killed")
        res = self.run_mfb([MFB, "push", "--resume", uid, path] + self.target() + ["--json"])
        self.assert_ok(res)
        self.assertIn('"sha256":"%s"' % self.sha256_of(path), res.stdout)
        self.assertIn('"chunks_verified":%d' % len(before), res.stdout)
        # Everything not verified was sent; the receiver had every held chunk intact.
        self.assertIn('"chunks_sent":%d' % (48 - len(before)), res.stdout)
        self.assertIn('"chunks_replaced":0', res.stdout)

    def test_wrong_token_and_fingerprint(self):
        path = self.make_file("Data.zip", 1000)
        bad = self.write_secret("bad.token", "f" * 64)
        res = self.run_mfb([MFB, "push", path] + self.target(token_file=bad) +
                           ["--instance", "prod"])
        self.assertEqual(res.returncode, 1)
        errors = self.error_lines(res.stderr)
        self.assertEqual(len(errors), 1, res.stderr)
        self.assertTrue(errors[0].startswith(
            "mfb: error: cannot open the upload: the receiver answered 401 unauthorized"),
            errors[0])
        wrong = "00:" + self.srv.fingerprint[3:]
        res = self.run_mfb([MFB, "push", path] + self.target(fingerprint=wrong) +
                           ["--instance", "prod"])
        self.assertEqual(res.returncode, 1)
        self.assertIn("expected %s, presented %s" % (wrong, self.srv.fingerprint), res.stderr)

    def test_stored_target(self):
        # `mfb target add` (its live checks run against this receiver), then
        # push and fetch with --target alone: the stored directory, chunk size
        # and connections apply; inline options override stored values.
        db = os.path.join(self.tmp, "client", "mfb.db")
        env = dict(os.environ, MFB_DB=db)
        self.assert_ok(self.run_mfb([MFB, "init"], env=env))
        res = self.run_mfb([MFB, "target", "add", "rx"] + self.target() +
                           ["--directory", "stored/dir", "--chunk-size", "2M",
                            "--connections", "3"], env=env)
        self.assert_ok(res)
        path = self.make_file("Data.zip", 5 * MiB + 17)
        res = self.run_mfb([MFB, "push", path, "--target", "rx", "--instance", "prod", "--json"],
                           env=env)
        self.assert_ok(res)
        out = json.loads(res.stdout)
        self.assertEqual(out["sha256"], self.sha256_of(path))
        self.assertTrue(out["path"].startswith("db1/prod/"), out["path"])
        stored = os.path.join(self.srv.storage, out["path"])
        with open(stored + ".json") as f:
            meta = json.load(f)
        self.assertEqual((meta["directory"], meta["chunk_size"]), ("stored/dir", 2 * MiB))
        self.assertIn("connections=3", res.stderr)
        # Inline options win: chunk size, directory, and --db instead of $MFB_DB.
        res = self.run_mfb([MFB, "push", path, "--target", "rx", "--db", db, "--instance",
                            "prod", "--chunk-size", "1M", "--directory", "inline", "--json"])
        self.assert_ok(res)
        with open(os.path.join(self.srv.storage, json.loads(res.stdout)["path"]) + ".json") as f:
            meta = json.load(f)
        self.assertEqual((meta["directory"], meta["chunk_size"]), ("inline", MiB))

        restored = os.path.join(self.tmp, "restored.zip")
        res = self.run_mfb([MFB, "fetch", out["backup_id"], restored, "--target", "rx"], env=env)
        self.assert_ok(res)
        self.assertEqual(self.sha256_of(restored), self.sha256_of(path))

        # An inline certificate pin or token replaces the stored one.
        wrong = "00:" + self.srv.fingerprint[3:]
        res = self.run_mfb([MFB, "fetch", out["backup_id"], restored + "2", "--target", "rx",
                            "--fingerprint", wrong], env=env)
        self.assertEqual(res.returncode, 1)
        self.assertIn("expected %s, presented %s" % (wrong, self.srv.fingerprint), res.stderr)
        bad = self.write_secret("bad.token", "f" * 64)
        res = self.run_mfb([MFB, "push", path, "--target", "rx", "--token-file", bad,
                            "--instance", "prod"], env=env)
        self.assertEqual(res.returncode, 1)
        self.assertIn("the receiver answered 401 unauthorized", res.stderr)

        # A target that does not exist.
        res = self.run_mfb([MFB, "push", path, "--target", "nope", "--instance", "prod"], env=env)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr), ["mfb: error: no target named 'nope'"])
        self.assertIn("HINT: 'mfb target list' shows the configured targets", res.stderr)

        # Without --target or --url, the only stored target, as backup and
        # restore choose; with two, neither is guessed; with none, no receiver.
        res = self.run_mfb([MFB, "push", path, "--instance", "prod", "--json"], env=env)
        self.assert_ok(res)
        self.assertEqual(json.loads(res.stdout)["sha256"], self.sha256_of(path))
        res = self.run_mfb([MFB, "fetch", out["backup_id"], restored + "3"], env=env)
        self.assert_ok(res)
        self.assertEqual(self.sha256_of(restored + "3"), self.sha256_of(path))
        self.assert_ok(self.run_mfb([MFB, "target", "add", "rx2"] + self.target(), env=env))
        for cmd in ([MFB, "push", path, "--instance", "prod"],
                    [MFB, "fetch", out["backup_id"], restored + "4"]):
            res = self.run_mfb(cmd, env=env)
            self.assertEqual(res.returncode, 2, res.stderr)
            self.assertEqual(self.error_lines(res.stderr),
                             ["mfb: error: 2 targets are configured (rx, rx2)"])
            self.assertIn("HINT: choose one with --target NAME", res.stderr)
        empty = dict(os.environ, MFB_DB=os.path.join(self.tmp, "none", "mfb.db"))
        for cmd in ([MFB, "push", path, "--instance", "prod"],
                    [MFB, "fetch", out["backup_id"], restored + "5"]):
            res = self.run_mfb(cmd, env=empty)
            self.assertEqual(res.returncode, 2, res.stderr)
            self.assertEqual(self.error_lines(res.stderr), ["mfb: error: no receiver given"])
            self.assertIn("HINT: pass --target NAME", res.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "none")))
        for name in ("2", "4", "5"):
            self.assertFalse(os.path.exists(restored + name))

    def test_resume_with_a_changed_chunk(self):
        # The receiver holds three of four chunks of one file; the resume is
        # run with another file of the same size whose chunks 0 and 2 differ:
        # those are deleted on the receiver and sent again, chunk 1 is
        # verified, chunk 3 is sent.
        path = self.make_file("Data.zip", 4 * MiB)
        other = self.make_file("Other.zip", 4 * MiB, seed=5)
        with open(path, "rb") as f:
            old = f.read()
        with open(other, "rb") as f:
            new = f.read()
        changed = new[:MiB] + old[MiB:2 * MiB] + new[2 * MiB:]
        path2 = os.path.join(self.tmp, "Data2.zip")
        with open(path2, "wb") as f:
            f.write(changed)
        uid = self.srv.open_upload(self.token, size=4 * MiB, chunk_size=MiB)
        for i in range(3):
            status, j = self.srv.put_chunk(self.token, uid, i, old[i * MiB:(i + 1) * MiB])
            self.assertEqual(status, 201, j)
        res = self.run_mfb([MFB, "push", "--resume", uid, path2] + self.target() + ["--json"])
        self.assert_ok(res)
        out = json.loads(res.stdout)
        self.assertEqual(out["sha256"], self.sha256_of(path2))
        self.assertEqual((out["chunks_replaced"], out["chunks_verified"], out["chunks_sent"]),
                         (2, 1, 3))
        stored = os.path.join(self.srv.storage, out["path"])
        self.assertEqual(self.sha256_of(stored), self.sha256_of(path2))
        self.assertEqual(self.srv.log_text().count(" chunk-forgotten "), 2)


if __name__ == "__main__":
    main()
