"""daemontestlib.py - a JobTestCase with an `mfb daemon` of its own
(docs/daemon.md): start it (with extra environment, such as the test-only
MFB_TEST_PAUSE_AT), stop it, kill it, read its queue through `mfb jobs
--json`, and wait for an entry to reach a state; raw_request sends one
HTTP request on its UNIX socket; EventStream reads GET /v1/events
(server-sent events over chunked HTTP/1.1) one event at a time. Every
test still starts and ends with the database answering (JobTestCase)."""

import json
import os
import signal
import socket
import subprocess
import time

from jobtestlib import JobTestCase
from mfbtest import MFB


def raw_request(path, method, url, body=b""):
    """One HTTP/1.1 request on the UNIX socket: (status, JSON answer)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(f"{method} {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(rest) if rest else None


class EventStream:
    """GET /v1/events on the socket at path. status and headers after
    connecting; next() gives (event, data) with data parsed as JSON, or
    ("comment", text) for a comment line; None at the end of the stream."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.sock.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.raw = b""      # bytes read, not yet decoded from chunks
        self.text = b""     # the stream's body, decoded
        self.ended = False
        while b"\r\n\r\n" not in self.raw:
            self._recv()
        head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in
                        (line.partition(":") for line in lines[1:])}
        self.chunked = self.headers.get("transfer-encoding", "") == "chunked"

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            self.ended = True
            raise EOFError
        self.raw += chunk

    def _decode(self):
        """Moves complete chunks from raw to text."""
        if not self.chunked:
            self.text += self.raw
            self.raw = b""
            return
        while b"\r\n" in self.raw:
            size_line, _, rest = self.raw.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            if size == 0:
                self.ended = True
                self.raw = b""
                return
            self.text += rest[:size]
            self.raw = rest[size + 2:]

    def body(self):
        """The rest of the body, until the stream ends (a JSON error)."""
        try:
            while not self.ended:
                self._decode()
                if not self.ended:
                    self._recv()
        except EOFError:
            pass
        self._decode()
        return self.text

    def next(self):
        while True:
            self._decode()
            if b"\n\n" in self.text:
                block, _, self.text = self.text.partition(b"\n\n")
                event, data = None, []
                for line in block.decode().split("\n"):
                    if line.startswith(":"):
                        return ("comment", line[1:].strip())
                    key, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if key == "event":
                        event = value
                    elif key == "data":
                        data.append(value)
                return (event, json.loads("\n".join(data)))
            if self.ended:
                return None
            try:
                self._recv()
            except EOFError:
                return None

    def until(self, predicate, limit=10000):
        """Events until predicate((event, data)) holds: the list, that one
        last. Fails at the end of the stream."""
        seen = []
        while len(seen) < limit:
            ev = self.next()
            if ev is None:
                raise AssertionError(f"the stream ended; events: {seen}")
            seen.append(ev)
            if predicate(ev):
                return seen
        raise AssertionError(f"no such event in {limit}: {seen[-20:]}")

    def close(self):
        self.sock.close()


class DaemonTestCase(JobTestCase):
    """A JobTestCase whose tests start `mfb daemon` (start_daemon) on the
    env's database; it is stopped (SIGTERM) at cleanup."""

    env_name = "daemon"
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
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o600)
        return self.daemon

    def stop_daemon(self, proc=None):
        """SIGTERM; returns the daemon's stderr (its log). The daemon must
        exit 0 (in the sanitizer build, a leak or an error report makes it
        fail). A daemon that already ended (killed) gives its rest."""
        proc = proc or self.daemon
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=120)
            self.assertEqual(proc.returncode, 0, err)
            return err
        _, err = proc.communicate(timeout=60)
        return err or ""

    def kill_daemon(self):
        """kill -9: nothing of the daemon runs its cleanup."""
        self.daemon.kill()
        self.daemon.communicate(timeout=60)

    def wait_event_clients(self, n):
        """Waits until n clients follow the event stream (GET /v1/health)."""
        deadline = time.monotonic() + 60
        while raw_request(self.sock, "GET", "/v1/health")[1]["event_clients"] != n:
            self.assertLess(time.monotonic(), deadline, f"not {n} event clients")
            time.sleep(0.05)

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
