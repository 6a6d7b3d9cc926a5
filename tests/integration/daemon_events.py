"""daemon_events.py - the daemon's live event stream, GET /v1/events
(docs/daemon.md), with a real MariaDB and a real receiver: a snapshot
first, then a run's state events (queued, running, done) with progress
events between them, each carrying the entry as GET /v1/jobs/{id} does;
the subscriber bound (503 beyond it); a wrong method; a daemon stopped
with a stream open ends the stream and exits 0; `mfb jobs --follow` in
plain lines and on a terminal, ended by Ctrl-C with status 0; and over
the real socket, GET /v1/instances and /v1/schedules with pause and
resume, the schedule's JSON being `mfb schedule show --json`'s.
"""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from daemontestlib import DaemonTestCase, EventStream, raw_request  # noqa: E402
from mfbtest import MFB, main  # noqa: E402

SUBSCRIBERS_MAX = 32  # EVENT_SUBSCRIBERS_MAX, daemon/events.h


class Events(DaemonTestCase):
    env_name = "events"

    def stream(self):
        s = EventStream(self.sock)
        self.addCleanup(s.close)
        return s

    def test_a_run_seen_on_the_stream(self):
        self.instance("prod")
        self.start_daemon()
        s = self.stream()
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers["content-type"], "text/event-stream")
        event, data = s.next()
        self.assertEqual(event, "snapshot")
        self.assertEqual(data, {"jobs": self.jobs()})

        qid = self.run_id("prod")
        mine = lambda ev: ev[0] in ("state", "progress") and ev[1]["id"] == qid  # noqa: E731
        seen = [ev for ev in s.until(lambda ev: mine(ev) and ev[1]["state"] == "done")
                if mine(ev)]
        states = [d["state"] for e, d in seen if e == "state"]
        self.assertEqual(states, ["queued", "running", "done"], seen)
        progress = [d for e, d in seen if e == "progress"]
        self.assertTrue(progress, seen)
        for d in progress:
            self.assertEqual((d["state"], d["status"], d["instance"]), ("running", "running", "prod"))
            self.assertIsInstance(d["progress"]["step"], str)
            self.assertIn("bytes_done", d["progress"])
        # progress comes only between the start and the end
        kinds = [e for e, _ in seen]
        self.assertLess(kinds.index("progress"), len(kinds) - 1)
        first_running = next(i for i, (e, d) in enumerate(seen) if d["state"] == "running")
        self.assertLess(first_running, kinds.index("progress"))
        # the end carries the entry as GET /v1/jobs/{id} gives it
        done = seen[-1][1]
        self.assertEqual(done["status"], "ok")
        _, entry = raw_request(self.sock, "GET", f"/v1/jobs/{qid}")
        self.assertEqual(done, entry)

    def test_subscriber_bound(self):
        self.start_daemon()
        streams = [self.stream() for _ in range(SUBSCRIBERS_MAX)]
        for st in streams:
            self.assertEqual(st.next()[0], "snapshot")
        extra = self.stream()
        self.assertEqual(extra.status, 503)
        self.assertIn(b'"error":"busy"', extra.body())
        # one hangs up: its place is free again once the daemon notices
        streams[0].close()
        deadline = time.monotonic() + 60
        while True:
            probe = EventStream(self.sock)
            if probe.status == 200:
                self.assertEqual(probe.next()[0], "snapshot")
                probe.close()
                break
            probe.body()
            probe.close()
            self.assertLess(time.monotonic(), deadline, "the place stays taken")
            time.sleep(0.05)

    def test_instances_and_schedules_over_the_socket(self):
        self.instance("over")
        self.env.mfb("schedule", "add", "overnight", "--instance", "over", "--cron", "0 3 * * *")
        self.addCleanup(self.env.mfb, "schedule", "remove", "overnight", expect=None)
        self.start_daemon()
        got, j = raw_request(self.sock, "GET", "/v1/instances")
        self.assertEqual(got, 200)
        over = [i for i in j["instances"] if i["name"] == "over"][0]
        self.assertEqual((over["state"], over["next_run"]["schedule"]), ("idle", "overnight"))
        got, j = raw_request(self.sock, "POST", "/v1/schedules/overnight/pause")
        self.assertEqual((got, j["paused"]), (200, True))
        # the API's schedule is the CLI's, and the pause is stored
        cli = json.loads(self.env.mfb("schedule", "show", "overnight", "--json").stdout)
        got, j = raw_request(self.sock, "GET", "/v1/schedules")
        api = [x for x in j["schedules"] if x["name"] == "overnight"][0]
        for d in (cli, api):
            d.pop("next_runs")  # computed a moment apart
        self.assertEqual(api, cli)
        self.assertTrue(cli["paused"])
        got, j = raw_request(self.sock, "POST", "/v1/schedules/overnight/resume")
        self.assertEqual((got, j["paused"]), (200, False))

    def test_wrong_method(self):
        self.start_daemon()
        got, j = raw_request(self.sock, "POST", "/v1/events")
        self.assertEqual((got, j["error"]), (405, "method_not_allowed"))

    def test_stop_ends_the_stream(self):
        self.start_daemon()
        s = self.stream()
        self.assertEqual(s.next()[0], "snapshot")
        err = self.stop_daemon()
        self.assertEqual(self.daemon.returncode, 0, err)
        self.assertIsNone(s.next())

    def follow_until(self, read, text, timeout=120):
        """Output of `mfb jobs --follow` (read() gives the next piece) up
        to and including text."""
        out = ""
        deadline = time.monotonic() + timeout
        while text not in out:
            self.assertLess(time.monotonic(), deadline, out)
            piece = read()
            self.assertTrue(piece, f"mfb jobs --follow ended: {out}")
            out += piece
        return out

    def test_jobs_follow_plain_lines(self):
        self.instance("plain")
        self.start_daemon()
        p = subprocess.Popen([MFB, "jobs", "--follow"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env.env, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.wait_event_clients(1)  # it follows: the run's events all reach it
        qid = self.run_id("plain")
        out = self.follow_until(p.stdout.readline, f"queue {qid}: plain ok")
        lines = out.splitlines()
        self.assertIn(f"queue {qid}: plain queued", lines)
        self.assertIn(f"queue {qid}: plain running", lines)
        steps = [line for line in lines if line.startswith(f"queue {qid} ")]
        self.assertTrue(steps, out)
        # one line per step it went through, none twice
        self.assertEqual(len(steps), len(set(line.split()[3] for line in steps)), out)
        self.assertNotIn("\033", out)  # no terminal codes in a pipe
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)

    def test_jobs_follow_on_a_terminal(self):
        self.instance("tty")
        self.start_daemon()
        master, slave = pty.openpty()
        p = subprocess.Popen([MFB, "jobs", "--follow"], stdout=slave, stderr=subprocess.PIPE,
                             env=self.env.env)
        os.close(slave)
        self.addCleanup(os.close, master)
        self.addCleanup(lambda: p.poll() is None and p.kill())

        def read():
            r, _, _ = select.select([master], [], [], 60)
            return os.read(master, 65536).decode(errors="replace") if r else ""

        self.follow_until(read, "no job waits or runs")
        qid = self.run_id("tty")
        out = self.follow_until(read, f"queue {qid}: tty ok")
        self.assertIn("\033[", out)  # the block is redrawn in place
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)

    def test_jobs_follow_without_a_daemon(self):
        r = self.env.mfb("jobs", "--follow", expect=1)
        self.assertIn("no daemon answers on", r.stderr)


if __name__ == "__main__":
    main()
