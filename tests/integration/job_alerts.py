#!/usr/bin/env python3
"""job_alerts.py - alert channels, and the server that will not start again
(requirements 9.4, 9.6), against a real MariaDB, a real mfb-server, a real
HTTPS webhook listener, an SMTP server that insists on STARTTLS, and a
command channel.

- `mfb alert add|list|remove|test`: secrets come from files and are never
  printed; `test` reports each channel, and fails when one fails.
- A broken start command leaves the server down: mfb prints manual recovery
  steps naming the exact data directory, the command that failed, the error
  log to read and the commands to try, and sends a critical alert with that
  text through every channel: the webhook's body is JSON with a valid
  HMAC-SHA256 signature, the mail arrives over TLS, the command gets the
  alert in its environment. The backup itself was stored before the start
  (default policy), and the recovery text says so.
- A channel that fails is retried, logged, and never fails the backup.
"""
import hashlib
import hmac
import json
import sqlite3
import os
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from alert_sinks import SmtpSink, WebhookSink, closed_port  # noqa: E402
from jobtestlib import JobEnv  # noqa: E402
from mfbtest import main  # noqa: E402

SECRET = "s3cret-hmac-key"


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Alerts(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        env = cls.env = JobEnv("alerts").__enter__()
        cls.addClassCleanup(env.cleanup)
        env.add_target()
        cert = env.rx.cert
        key = os.path.join(os.path.dirname(cert), "mfb-server.key")
        cls.hook = WebhookSink(cert, key).__enter__()
        cls.addClassCleanup(cls.hook.__exit__)
        cls.smtp = SmtpSink(cert, key).__enter__()
        cls.addClassCleanup(cls.smtp.__exit__)
        cls.cert = cert
        cls.secret_file = os.path.join(env.dir, "hook.secret")
        write_private(cls.secret_file, SECRET + "\n")
        cls.cmd_out = os.path.join(env.dir, "alert-env.txt")

    def tearDown(self):
        self.env.assert_running()

    def add_channels(self):
        env = self.env
        env.mfb("alert", "add", "hook", "--webhook", self.hook.url, "--secret-file",
                self.secret_file, "--ca-file", self.cert)
        env.mfb("alert", "add", "mail", "--email", "dba@example.com, ops@example.com",
                "--smtp-url", self.smtp.url, "--from", "mfb@example.com", "--ca-file", self.cert,
                "--min-severity", "error")
        env.mfb("alert", "add", "cmd", "--command", f"env | grep ^MFB_ >> {self.cmd_out}; "
                                                    f"echo '---' >> {self.cmd_out}")
        env.mfb("alert", "add", "dead", "--webhook", f"https://127.0.0.1:{closed_port()}/x",
                "--min-severity", "critical")

    def test_1_manage_and_test_channels(self):
        env = self.env
        self.add_channels()
        r = env.mfb("alert", "add", "hook", "--command", "true", expect=1)
        self.assertIn("mfb: error: alert channel 'hook' already exists", r.stderr)
        r = env.mfb("alert", "add", "bad", "--webhook", "x", "--command", "true", expect=2)
        self.assertIn("mfb: error: give only one of --webhook, --email, --command", r.stderr)
        r = env.mfb("alert", "add", "bad", "--email", "a@b", "--from", "c@d", expect=2)
        self.assertIn("mfb: error: no --smtp-url", r.stderr)
        # a webhook in clear only to this host (TLS cannot be switched off)
        for url in ("http://example.com/x", "http://127.0.0.1.example.com/x"):
            r = env.mfb("alert", "add", "bad", "--webhook", url, expect=2)
            self.assertIn(f"mfb: error: webhook URL '{url}' is plain http to another host",
                          r.stderr)
        for url in ("http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]:9/x"):
            env.mfb("alert", "add", "local", "--webhook", url)
            env.mfb("alert", "remove", "local")
        # one stored before add refused such URLs is refused when it would send
        con = sqlite3.connect(env.db_path)
        with con:
            con.execute("INSERT INTO alerts (name, kind, url, created, updated) "
                        "VALUES ('old', 'webhook', 'http://example.com/x', 0, 0)")
        con.close()
        r = env.mfb("alert", "test", "old", expect=1)
        self.assertIn("webhook 'old' is plain http to another host; alerts are not sent in "
                      "clear", r.stderr)
        self.assertIn("HINT: give it an https:// URL: 'mfb alert remove old', then add it again",
                      r.stderr)
        env.mfb("alert", "remove", "old")

        listing = json.loads(env.mfb("alert", "list", "--json").stdout)
        by_name = {c["name"]: c for c in listing}
        self.assertEqual(sorted(by_name), ["cmd", "dead", "hook", "mail"])
        self.assertEqual(by_name["hook"]["secret"], "(set)")
        self.assertEqual(by_name["mail"]["min_severity"], "error")
        self.assertEqual(by_name["mail"]["mail_to"], "dba@example.com, ops@example.com")
        table = env.mfb("alert", "list").stdout
        self.assertRegex(table, r"hook +webhook +warning +https://127.0.0.1:\d+/hooks/mfb +\(set\)")
        self.assertNotIn(SECRET, table + json.dumps(listing))

        before = len(self.hook.requests)
        r = env.mfb("alert", "test", "hook")
        self.assertEqual(r.stdout, "hook: sent\n")
        self.assertEqual(len(self.hook.requests), before + 1)
        r = env.mfb("alert", "test", expect=1)
        for name in ("cmd", "hook", "mail"):
            self.assertIn(f"{name}: sent", r.stdout)
        self.assertRegex(r.stderr, r"dead: failed: webhook 'dead': .*onnect")
        self.assertIn("mfb: error: 1 of 4 alert channels failed", r.stderr)
        self.assertTrue(self.smtp.messages[-1]["tls"])
        self.assertIn("Subject: [mfb] critical: test alert from mfb", self.smtp.messages[-1]["data"])
        r = env.mfb("alert", "test", "nosuch", expect=1)
        self.assertIn("mfb: error: no alert channel named 'nosuch'", r.stderr)

    def test_2_server_does_not_start_again(self):
        env = self.env
        if not env.sql("SELECT 1 FROM alerts"):
            self.add_channels()
        # A start command that runs and fails: the server refuses an option.
        broken = f"mariadbd --defaults-file={env.db.server_cnf} --no-such-option-mfb=1"
        env.add_instance(name="broken", start_cmd=broken)
        env.instance = "broken"
        hooks, mails = len(self.hook.requests), len(self.smtp.messages)
        r = env.backup(expect=1, timeout=180)
        try:
            datadir = os.path.realpath(env.db.datadir)
            # What the operator sees on the terminal.
            self.assertIn("mfb: error: the server did not start again: start command "
                          f"'{broken}' failed with exit status ", r.stderr)
            self.assertIn(f"HINT: follow the recovery steps above (also sent to the alert "
                          f"channels); the data directory is {datadir}", r.stderr)
            self.assertIn("MySQL instance 'broken' did not start again after its backup: the "
                          "database server is DOWN.", r.stderr)
            self.assertIn(f"Data directory: {datadir}\n", r.stderr)
            self.assertIn(f"The command that failed: {broken}\n", r.stderr)
            self.assertIn(f"Error log to read: {env.db.error_log}\n", r.stderr)
            self.assertIn(f"tail -n 100 '{env.db.error_log}'", r.stderr)
            self.assertIn(f"run the start command by hand and read what it prints: {broken}",
                          r.stderr)
            self.assertIn("The backup taken just before is safe on the receiver: broken_",
                          r.stderr)
            job = env.job(r.job_id)
            self.assertEqual(job["status"], "critical")
            self.assertEqual(r.done["status"], "critical")
            self.assertTrue(job["backup_id"].startswith("b_"))
            self.assertIn("did not start again", job["error"])

            # The webhook: JSON, critical, signed.
            new = self.hook.requests[hooks:]
            crit = [x for x in new if json.loads(x[2])["severity"] == "critical"]
            self.assertEqual(len(crit), 1, new)
            path, headers, body = crit[0]
            self.assertEqual(path, "/hooks/mfb")
            self.assertEqual(headers["content-type"], "application/json")
            self.assertEqual(headers["x-mfb-event"], "server_down")
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            self.assertEqual(headers["x-mfb-signature"], expected)
            doc = json.loads(body)
            self.assertEqual(doc["event"], "server_down")
            self.assertEqual(doc["instance"], "broken")
            self.assertEqual(doc["job_id"], r.job_id)
            self.assertEqual(doc["job_status"], "critical")
            self.assertEqual(doc["datadir"], datadir)
            for needle in (f"Data directory: {datadir}", f"The command that failed: {broken}",
                           f"Error log to read: {env.db.error_log}"):
                self.assertIn(needle, doc["text"])

            # The mail, over STARTTLS, to both recipients.
            mail = self.smtp.messages[mails:]
            self.assertEqual(len(mail), 1)
            self.assertTrue(mail[0]["tls"])
            self.assertEqual(mail[0]["mail_from"], "<mfb@example.com>")
            self.assertEqual(mail[0]["rcpt"], ["<dba@example.com>", "<ops@example.com>"])
            self.assertIn("Subject: [mfb] critical: instance 'broken' is DOWN after its backup: "
                          "manual recovery needed", mail[0]["data"])
            self.assertIn(f"The command that failed: {broken}", mail[0]["data"])

            # The command, with the alert in its environment.
            with open(self.cmd_out) as f:
                blocks = f.read().split("---\n")
            crit_env = [b for b in blocks if "MFB_ALERT_SEVERITY=critical" in b and
                        "MFB_ALERT_EVENT=server_down" in b]
            self.assertEqual(len(crit_env), 1)
            self.assertIn(f"MFB_DATADIR={datadir}\n", crit_env[0])
            self.assertIn("MFB_INSTANCE=broken\n", crit_env[0])
            self.assertIn(f"MFB_JOB_ID={r.job_id}\n", crit_env[0])
            self.assertIn("MFB_JOB_STATUS=critical\n", crit_env[0])

            # The dead channel was retried, logged, and changed nothing.
            self.assertRegex(r.stderr, r"alert channel=dead kind=webhook event=server_down "
                                       r"sent=no error=\".*\(3 attempts\)\"")
        finally:
            env.db.start()  # what the operator would do

    def test_3_failed_alert_never_fails_a_backup(self):
        env = self.env
        if not env.sql("SELECT 1 FROM alerts"):
            self.add_channels()
        env.mfb("alert", "add", "dead-info", "--webhook", f"https://127.0.0.1:{closed_port()}/x",
                "--min-severity", "info")
        env.add_instance(name="fine")
        env.instance = "fine"
        hooks = len(self.hook.requests)
        r = env.backup()
        self.assertEqual(r.done["status"], "ok")
        self.assertRegex(r.stderr, r"alert channel=dead-info kind=webhook event=backup_succeeded "
                                   r"sent=no")
        # The hook's minimum is warning: no alert for a success.
        self.assertEqual(len(self.hook.requests), hooks)
        r = env.mfb("alert", "remove", "dead-info")
        self.assertEqual(r.stdout, "alert channel 'dead-info' removed\n")


if __name__ == "__main__":
    main()
