"""daemon_maxjobs.py - `mfb target set NAME --max-jobs N` (docs/daemon.md,
"The queue"): with two workers and two instances sending to one target
whose max-jobs is 1, the second instance waits `queued` while the first
runs; raising the limit lets it start while the first still runs.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from daemontestlib import DaemonTestCase  # noqa: E402
from mfbtest import main  # noqa: E402


class MaxJobs(DaemonTestCase):
    env_name = "dmaxjobs"

    def test_one_job_per_target(self):
        env = self.env
        self.addCleanup(env.mfb, "target", "set", "rx", "--max-jobs", "1", "--no-check")
        self.instance("first", control="command", stop_cmd=self.stop_then("sleep 30"))
        self.instance("second", control="command", stop_cmd=self.stop_then("sleep 30"))
        self.start_daemon(workers=2)
        first = self.run_id("first")
        self.wait_entry(first, lambda e: e.get("progress", {}).get("step") == "stop")
        second = self.run_id("second", "--target", "rx")
        # a worker is free, but the target runs its one job: the queue
        # passes the entry over each time the idle worker looks (every
        # second; watched for a few of them)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            e = self.wait_entry(second, lambda e: True)
            self.assertEqual((e["state"], e["status"]), ("queued", "queued"), e)
            self.assertEqual(self.wait_entry(first, lambda e: True)["state"], "running")
            time.sleep(0.2)
        env.mfb("target", "set", "rx", "--max-jobs", "2", "--no-check")
        self.wait_entry(second, lambda e: e["state"] == "running")
        self.assertEqual(self.wait_entry(first, lambda e: True)["state"], "running")
        for qid in (first, second):
            env.mfb("cancel", str(qid))
        for qid in (first, second):
            e = self.wait_entry(qid, lambda e: e["state"] == "done")
            self.assertEqual(e["status"], "cancelled", e)
        env.assert_running()


if __name__ == "__main__":
    main()
