"""transfer_tls.py - how `mfb push` and `mfb fetch` decide to trust a
receiver, and how they handle the token.

Pinning: the right fingerprint in any accepted form works; a wrong one is
refused before any request is made, naming the expected and the presented
fingerprint. CA mode: the right CA works, another CA or a certificate for
another host name does not. There is no switch that turns verification off;
plain http needs --insecure-plaintext and warns. The token comes from a
0600 file or standard input and never shows in any output."""

import os
import subprocess
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB", os.path.join(os.path.dirname(__file__),
                                                               "..", "lib")))
from fake_receiver import FakeReceiver, make_ca_signed  # noqa: E402
from transfer_testlib import MFB, TransferTest, main  # noqa: E402


class PinTest(TransferTest):
    def test_fingerprint_forms(self):
        path = self.make_file("f.zip", 5000)
        fp = self.rx.fingerprint
        openssl = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                                  self.rx.cert], capture_output=True, text=True, check=True)
        for form in (fp, fp.replace(":", "").lower(), openssl.stdout.strip()):
            args = self.push_args(path)
            args[args.index("--fingerprint") + 1] = form
            self.assert_ok(self.run_mfb(args))

    def test_wrong_fingerprint_is_refused(self):
        path = self.make_file("f.zip", 5000)
        wrong = "AB:" + self.rx.fingerprint[3:]
        args = self.push_args(path)
        args[args.index("--fingerprint") + 1] = wrong
        res = self.run_mfb(args)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.error_lines(res.stderr), [
            "mfb: error: cannot open the upload: the certificate of %s does not match the "
            "pinned fingerprint: expected %s, presented %s" % (self.rx.url, wrong,
                                                             self.rx.fingerprint)])
        self.assertIn("HINT: if the receiver's certificate was replaced on purpose", res.stderr)
        self.assertEqual(self.rx.requests, [])  # no request got through
        self.assertNotIn("warn retry", res.stderr)  # and it was not retried
        # fetch refuses the same way
        res = self.run_mfb([MFB, "fetch", "b_0123456789abcdef0123456789abcdef", os.path.join(self.tmp, "out")] +
                           self.target_args(wrong))
        self.assertEqual(res.returncode, 1)
        self.assertIn("does not match the pinned fingerprint", res.stderr)

    def test_malformed_fingerprint(self):
        path = self.make_file("f.zip", 10)
        args = self.push_args(path)
        args[args.index("--fingerprint") + 1] = "12:34"
        res = self.run_mfb(args)
        self.assertEqual(res.returncode, 2)
        self.assertEqual(self.error_lines(res.stderr),
                         ["mfb: error: invalid certificate fingerprint '12:34'"])

    def test_verification_cannot_be_skipped(self):
        path = self.make_file("f.zip", 10)
        base = [MFB, "push", path, "--url", self.rx.url, "--token-file", self.token_file,
                "--instance", "prod"]
        res = self.run_mfb(base)
        self.assertEqual(res.returncode, 2)
        self.assertIn("mfb: error: no way to verify the receiver's certificate", res.stderr)
        res = self.run_mfb(base + ["--fingerprint", self.rx.fingerprint, "--ca-file",
                                   self.rx.cert])
        self.assertEqual(res.returncode, 2)
        self.assertIn("--fingerprint and --ca-file exclude each other", res.stderr)
        for flag in ("--insecure", "-k", "--no-verify"):
            res = self.run_mfb(base + [flag])
            self.assertEqual(res.returncode, 2)
            self.assertIn("unknown option '%s'" % flag, res.stderr)
        # --insecure-plaintext does not weaken https
        res = self.run_mfb(base + ["--insecure-plaintext"])
        self.assertEqual(res.returncode, 2)
        self.assertEqual(self.rx.requests, [])

    def test_token_file_rules(self):
        path = self.make_file("f.zip", 10)
        loose = self.write_secret("loose-token", self.rx.token, mode=0o644)
        args = self.push_args(path)
        args[args.index("--token-file") + 1] = loose
        res = self.run_mfb(args)
        self.assertEqual(res.returncode, 1)
        self.assertIn("mfb: error: secret file '%s' is readable by group or others" % loose,
                      res.stderr)
        self.assertIn("HINT: run: chmod 600", res.stderr)
        self.assertNotIn(self.rx.token, res.stderr)
        # From standard input
        args[args.index("--token-file") + 1] = "-"
        res = self.run_mfb(args, input=self.rx.token + "\n")
        self.assert_ok(res)
        self.assertNotIn(self.rx.token, res.stderr + res.stdout)
        # Not on the command line at all
        res = self.run_mfb([MFB, "push", path, "--url", self.rx.url, "--token", self.rx.token])
        self.assertEqual(res.returncode, 2)
        self.assertIn("unknown option '--token'", res.stderr)


class CaTest(TransferTest):
    def setUp(self):
        super().setUp()
        self.ca, cert, key = make_ca_signed(self.tmp, "good")
        self.other_ca, _, _ = make_ca_signed(self.tmp, "other")
        self.rx.stop()
        self.rx = FakeReceiver(self.tmp, cert=cert, key=key, token=self.rx.token).start()
        self.addCleanup(self.rx.stop)

    def ca_push(self, path, ca, url=None):
        return self.run_mfb([MFB, "push", path, "--url", url or self.rx.url, "--token-file",
                             self.token_file, "--ca-file", ca, "--instance", "prod"])

    def test_right_ca(self):
        path = self.make_file("f.zip", 5000)
        res = self.ca_push(path, self.ca)
        self.assert_ok(res)
        res = self.ca_push(path, self.ca, url="https://localhost:%d" % self.rx.port)
        self.assert_ok(res)

    def test_wrong_ca(self):
        path = self.make_file("f.zip", 5000)
        res = self.ca_push(path, self.other_ca)
        self.assertEqual(res.returncode, 1)
        errors = self.error_lines(res.stderr)
        self.assertEqual(len(errors), 1, res.stderr)
        self.assertIn("mfb: error: cannot open the upload: cannot verify the certificate of %s"
                      % self.rx.url, errors[0])
        self.assertEqual(self.rx.requests, [])

    def test_wrong_host_name(self):
        cert_dir = os.path.join(self.tmp, "elsewhere")
        os.mkdir(cert_dir)
        ca, cert, key = make_ca_signed(cert_dir, "elsewhere", san="DNS:elsewhere.example")
        self.rx.stop()
        self.rx = FakeReceiver(self.tmp, cert=cert, key=key, token=self.rx.token).start()
        self.addCleanup(self.rx.stop)
        path = self.make_file("f.zip", 5000)
        res = self.ca_push(path, ca)
        self.assertEqual(res.returncode, 1)
        self.assertIn("cannot verify the certificate", res.stderr)
        self.assertEqual(self.rx.requests, [])


class PlaintextTest(TransferTest):
    tls = False

    def test_plaintext_needs_the_flag_and_warns(self):
        path = self.make_file("f.zip", 5000)
        res = self.run_mfb([MFB, "push", path, "--url", self.rx.url, "--token-file",
                            self.token_file, "--instance", "prod"])
        self.assertEqual(res.returncode, 2)
        self.assertIn("mfb: error: refusing the plaintext URL '%s'" % self.rx.url, res.stderr)
        res = self.run_mfb(self.push_args(path))
        self.assert_ok(res)
        self.assertIn("warn plaintext url=%s" % self.rx.url, res.stderr)


if __name__ == "__main__":
    main()
