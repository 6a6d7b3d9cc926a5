"""daemontestlib.py - a JobTestCase with an `mfb daemon` of its own
(docs/daemon.md): start it (with extra environment, such as the test-only
MFB_TEST_PAUSE_AT), stop it, kill it, read its queue through `mfb jobs
--json`, and wait for an entry to reach a state. Every test still starts
and ends with the database answering (JobTestCase)."""

import json
import os
import signal
import subprocess
import time

from jobtestlib import JobTestCase
from mfbtest import MFB


class DaemonTestCase(JobTestCase):
    daemon = None

    def start_daemon(self, *extra, workers=1, env=None):
        """Starts `mfb daemon --workers N --no-alerts` and waits until it
        answers; stopped (SIGTERM) at cleanup if still alive."""
        self.sock = os.path.join(self.env.dir, "mfb.sock")
        self.daemon = subprocess.Popen(
            [MFB, "daemon", "--workers", str(workers), "--no-alerts", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
            env=dict(self.env.env, **(env or {})))
        self.addCleanup(self.stop_daemon, self.daemon)
        deadline = time.monotonic() + 30
        while self.env.mfb("daemon", "status", expect=None).returncode != 0:
            self.assertIsNone(self.daemon.poll(), "the daemon exited")
            self.assertLess(time.monotonic(), deadline, "the daemon does not answer")
            time.sleep(0.05)
        return self.daemon

    def stop_daemon(self, proc=None):
        """SIGTERM, then its stderr (the daemon's log)."""
        proc = proc or self.daemon
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        return err

    def kill_daemon(self):
        """kill -9: nothing of the daemon runs its cleanup."""
        self.daemon.kill()
        self.daemon.communicate(timeout=60)

    def jobs(self):
        return json.loads(self.env.mfb("jobs", "--json").stdout)["jobs"]

    def wait_entry(self, qid, pred, timeout=90):
        """The entry once pred(entry) holds (a generous deadline, never a
        timing assertion)."""
        deadline = time.monotonic() + timeout
        while True:
            e = [j for j in self.jobs() if j["id"] == qid]
            if e and pred(e[0]):
                return e[0]
            self.assertLess(time.monotonic(), deadline, f"entry {qid}: {e}")
            time.sleep(0.05)

    def wait_for(self, what, fn, timeout=90):
        """fn()'s value once it is true."""
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            self.assertLess(time.monotonic(), deadline, f"still waiting for {what}")
            time.sleep(0.05)

    def run_id(self, instance, *extra):
        out = self.env.mfb("run", instance, *extra).stdout
        return int(out.split()[1].rstrip(":"))

    def retries_of(self, job_id):
        return [j for j in self.jobs() if j.get("retry_of") == job_id]
