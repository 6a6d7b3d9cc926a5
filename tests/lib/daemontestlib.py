"""daemontestlib.py - a running `mfb daemon` for integration tests
(docs/daemon.md): DaemonTestCase starts one on the env's database and
stops it at cleanup; raw_request sends one HTTP request on its UNIX
socket; EventStream reads GET /v1/events (server-sent events over
chunked HTTP/1.1) one event at a time.
"""

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

    def start_daemon(self, *extra, env=None):
        self.sock = os.path.join(self.env.dir, "mfb.sock")
        self.daemon = subprocess.Popen([MFB, "daemon", "--workers", "1", "--no-alerts", *extra],
                                       stderr=subprocess.PIPE, env=env or self.env.env, text=True)
        self.addCleanup(self.stop_daemon)
        deadline = time.monotonic() + 30
        while self.env.mfb("daemon", "status", expect=None).returncode != 0:
            self.assertIsNone(self.daemon.poll(), "the daemon exited")
            self.assertLess(time.monotonic(), deadline, "the daemon does not answer")
            time.sleep(0.05)
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o600)

    def stop_daemon(self):
        """SIGTERM; returns the daemon's stderr. The daemon must exit 0
        (in the sanitizer build, a leak or an error report makes it fail)."""
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            _, err = self.daemon.communicate(timeout=120)
            self.assertEqual(self.daemon.returncode, 0, err)
            return err
        return ""

    def wait_event_clients(self, n):
        """Waits until n clients follow the event stream (GET /v1/health)."""
        deadline = time.monotonic() + 60
        while raw_request(self.sock, "GET", "/v1/health")[1]["event_clients"] != n:
            self.assertLess(time.monotonic(), deadline, f"not {n} event clients")
            time.sleep(0.05)

    def jobs(self):
        return json.loads(self.env.mfb("jobs", "--json").stdout)["jobs"]

    def wait_entry(self, qid, pred, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            e = [j for j in self.jobs() if j["id"] == qid]
            if e and pred(e[0]):
                return e[0]
            self.assertLess(time.monotonic(), deadline, f"entry {qid}: {e}")
            time.sleep(0.05)

    def run_id(self, instance):
        out = self.env.mfb("run", instance).stdout
        return int(out.split()[1].rstrip(":"))
