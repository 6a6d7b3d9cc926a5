"""expect_receiver.py - the receiver's silence alarms (docs/monitoring.md)
with the real receiver over TLS: `mfb-server expect set|list|remove` and
`mfb-server alert add|list|remove|test`; an instance whose client stopped
sending gets a critical alert naming the client, the instance and the age
of its last complete backup (through a command channel), and a new backup
brings the recovery notice; an instance within its expectation gets
nothing. No client host is involved: the receiver notices alone.
"""
import hashlib
import hmac
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from alert_sinks import WebhookSink  # noqa: E402
from metricstestlib import write_secret  # noqa: E402
from mfbtest import main  # noqa: E402
from server_testlib import Receiver, pattern  # noqa: E402


class ReceiverExpect(unittest.TestCase):
    def setUp(self):
        self.rx = Receiver("expect")
        self.addCleanup(self.rx.cleanup)
        self.rx.init()
        self.token = self.rx.add_client("db1")
        self.out = os.path.join(self.rx.dir, "alerts.jsonl")

    def alerts(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_alert(self, event, timeout=90):
        deadline = time.monotonic() + timeout
        while True:
            found = [a for a in self.alerts() if a["event"] == event]
            if found:
                return found[0]
            self.assertLess(time.monotonic(), deadline,
                            f"no {event} alert: {self.alerts()}\n{self.rx.log_text()}")
            time.sleep(0.1)

    def test_commands(self):
        p = self.rx.run("expect", "set", "nobody", "prod", "--every", "1h", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no client named 'nobody'", p.stderr)
        p = self.rx.run("expect", "set", "db1", "prod", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--every is required", p.stderr)
        self.rx.run("expect", "set", "db1", "prod", "--every", "26h")
        listed = json.loads(self.rx.run("expect", "list", "--json").stdout)
        self.assertEqual([(e["client"], e["instance"], e["every_s"], e["last_backup"])
                          for e in listed], [("db1", "prod", 26 * 3600, None)])
        self.assertIn("db1", self.rx.run("expect", "list").stdout)
        self.rx.run("expect", "remove", "db1", "prod")
        p = self.rx.run("expect", "remove", "db1", "prod", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no expectation for instance 'prod' of client 'db1'", p.stderr)

        secret = os.path.join(self.rx.dir, "hook.key")
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"k3y\n")
        os.close(fd)
        self.rx.run("alert", "add", "hook", "--webhook", "https://example.invalid/x",
                    "--secret-file", secret)
        self.rx.run("alert", "add", "sink", "--command", f"printf '%s\\n' \"$MFB_ALERT_JSON\" "
                    f">> {self.out}")
        listed = json.loads(self.rx.run("alert", "list", "--json").stdout)
        self.assertEqual([(a["name"], a["kind"], a.get("secret")) for a in listed],
                         [("hook", "webhook", "(set)"), ("sink", "command", None)])
        self.assertNotIn("k3y", self.rx.run("alert", "list").stdout)
        p = self.rx.run("alert", "test", "sink")
        self.assertIn("sink: sent", p.stdout)
        self.assertEqual(self.alerts()[0]["event"], "test")
        self.rx.run("alert", "remove", "hook")
        p = self.rx.run("alert", "remove", "hook", check=False)
        self.assertIn("no alert channel named 'hook'", p.stderr)

    def test_silent_client_alarm_then_recovery(self):
        self.rx.run("alert", "add", "sink", "--command", f"printf '%s\\n' \"$MFB_ALERT_JSON\" "
                    f">> {self.out}", "--min-severity", "critical")
        # a signed webhook too: the same sender as the client's (alert/webhook.c)
        key = os.path.join(os.path.dirname(self.rx.cert), "mfb-server.key")
        hook = WebhookSink(self.rx.cert, key).__enter__()
        self.addCleanup(hook.__exit__)
        secret = "rx-hmac-key"
        self.rx.run("alert", "add", "hook", "--webhook", hook.url, "--ca-file", self.rx.cert,
                    "--secret-file", write_secret(os.path.join(self.rx.dir, "hook.key"), secret))
        self.rx.start()
        self.rx.upload(self.token, pattern(1000), instance="prod")
        self.rx.upload(self.token, pattern(1000), instance="calm")
        # the client "stops sending" from now on
        self.rx.run("expect", "set", "db1", "calm", "--every", "1h")
        self.rx.run("expect", "set", "db1", "prod", "--every", "3s")
        alarm = self.wait_alert("receiver_backup_overdue")
        self.assertEqual((alarm["severity"], alarm["client"], alarm["instance"]),
                         ("critical", "db1", "prod"))
        self.assertIn("no complete backup of db1/prod for", alarm["subject"])
        self.assertIn("(expected every 3.0s)", alarm["subject"])
        self.assertIn("The newest one was stored at", alarm["text"])
        self.assertIn("The client host may be down", alarm["text"])
        self.assertEqual([a for a in self.alerts() if a["instance"] == "calm"], [])
        # The alarm is recorded in the catalog after it is sent: wait for it.
        deadline = time.monotonic() + 30
        while True:
            listed = json.loads(self.rx.run("expect", "list", "--json").stdout)
            since = [e for e in listed if e["instance"] == "prod"][0]["alarm_since"]
            if since is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIsNotNone(since)
        _, headers, body = hook.requests[0]
        self.assertEqual(headers["x-mfb-signature"],
                         "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())
        self.assertEqual(json.loads(body)["event"], "receiver_backup_overdue")
        self.assertNotIn(secret.encode(), body)
        self.assertNotIn(self.token.encode(), body)

        # the client comes back: a complete backup ends the alarm
        self.rx.upload(self.token, pattern(2000), instance="prod", name="again.zip")
        recovery = self.wait_alert("receiver_backup_overdue_resolved")
        self.assertEqual((recovery["severity"], recovery["client"], recovery["instance"]),
                         ("info", "db1", "prod"))
        self.rx.stop()
        log = self.rx.log_text()
        self.assertIn("expect-overdue client=db1 instance=prod", log)
        self.assertIn("expect-recovered client=db1 instance=prod", log)


if __name__ == "__main__":
    main()
