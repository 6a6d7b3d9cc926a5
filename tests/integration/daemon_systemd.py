"""daemon_systemd.py - `mfb daemon` under systemd's notify protocol
(docs/daemon.md, "Under systemd"): with NOTIFY_SOCKET pointing at a
datagram socket this test binds, the daemon sends READY=1 once it
answers, STATUS=idle, a STATUS line naming the running backup and its
step, WATCHDOG=1 when WATCHDOG_USEC asks for pings, and STOPPING=1 on
SIGTERM. Skipped only when mfb was built without libsystemd.
"""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from daemontestlib import DaemonTestCase  # noqa: E402
from mfbtest import MFB, main  # noqa: E402


def built_with_libsystemd():
    r = subprocess.run(["ldd", MFB], capture_output=True, text=True)
    return "libsystemd" in r.stdout


class Notify(DaemonTestCase):
    env_name = "notify"

    def setUp(self):
        super().setUp()
        if not built_with_libsystemd():
            self.skipTest("mfb was built without libsystemd (libsystemd-dev)")
        self.notify_path = os.path.join(self.env.dir, "notify.sock")
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(60)
        self.addCleanup(self.notify.close)
        self.got = []

    def wait_for(self, predicate):
        """Reads notifications until one line satisfies predicate."""
        deadline = time.monotonic() + 60
        while True:
            for line in self.got:
                if predicate(line):
                    return line
            self.assertLess(time.monotonic(), deadline, f"notifications: {self.got}")
            data = self.notify.recv(4096).decode()
            self.got.extend(data.split("\n"))

    def start(self, **extra):
        env = dict(self.env.env, NOTIFY_SOCKET=self.notify_path, **extra)
        self.start_daemon(env=env)

    def test_ready_status_and_stopping(self):
        self.instance("prod", control="command", stop_cmd=self.stop_then("sleep 30"))
        self.start()
        self.wait_for(lambda line: line == "READY=1")
        self.wait_for(lambda line: line == "STATUS=idle")
        qid = self.run_id("prod")
        self.wait_for(lambda line: line.startswith("STATUS=running: backup prod (stop"))
        self.env.mfb("cancel", str(qid))
        self.wait_entry(qid, lambda e: e["state"] == "done")
        err = self.stop_daemon()
        self.assertEqual(self.daemon.returncode, 0, err)
        self.wait_for(lambda line: line == "STOPPING=1")
        self.assertNotIn("WATCHDOG=1", self.got)  # not asked for

    def test_watchdog_pings(self):
        self.start(WATCHDOG_USEC="400000")
        self.wait_for(lambda line: line == "READY=1")
        self.wait_for(lambda line: line == "WATCHDOG=1")


if __name__ == "__main__":
    main()
