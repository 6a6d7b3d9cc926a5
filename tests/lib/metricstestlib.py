"""metricstestlib.py - what the metrics and expectation tests share
(docs/monitoring.md): a strict parser of the Prometheus text exposition
format 0.0.4, `promtool check metrics` when Debian's prometheus package
provides promtool, GET of a page from the daemon's UNIX socket or the
receiver's metrics listener, and `mfb daemon` started and stopped.

    page = parse(text)                   # raises ValueError on any slip
    page.value("mfb_jobs", state="queued")
    check_with_promtool(self, text)      # skips only where promtool is absent

The parser is the test's own, so a page never passes silently where
promtool is missing: it checks the grammar of names, labels and values,
that # HELP and # TYPE come once per family before its samples, that a
family's samples are contiguous, that no series repeats, and that a
counter's name ends in _total.
"""
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from mfbtest import MFB

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def parse_value(text):
    if text in ("NaN", "+Inf", "-Inf", "Inf"):
        return {"NaN": math.nan, "-Inf": -math.inf}.get(text, math.inf)
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(f"bad value {text!r}")
    return float(text)


def parse_labels(text, lineno):
    """text is what is between { and }; returns a dict. Label values are
    unescaped (\\\\, \\", \\n); any other escape is an error."""
    labels, i = {}, 0
    while i < len(text):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", text[i:])
        if not m:
            raise ValueError(f"line {lineno}: bad label at {text[i:]!r}")
        name = m.group(1)
        i += m.end()
        value = []
        while True:
            if i >= len(text):
                raise ValueError(f"line {lineno}: unterminated label value")
            c = text[i]
            if c == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise ValueError(f"line {lineno}: bad escape \\{esc}")
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError(f"line {lineno}: raw newline in a label value")
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise ValueError(f"line {lineno}: label {name} twice")
        labels[name] = "".join(value)
        if i < len(text):
            if text[i] != ",":
                raise ValueError(f"line {lineno}: expected ',' at {text[i:]!r}")
            i += 1
    return labels


def split_sample(line, lineno):
    """'name{labels} value' -> (name, labels, value)."""
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
    if not m:
        raise ValueError(f"line {lineno}: bad sample {line!r}")
    name, rest = m.group(1), line[m.end():]
    labels = {}
    if rest.startswith("{"):
        # the closing brace is the first } outside a quoted value
        i, quoted = 1, False
        while i < len(rest):
            c = rest[i]
            if quoted and c == "\\":
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
            i += 1
        else:
            raise ValueError(f"line {lineno}: unterminated labels")
        labels = parse_labels(rest[1:i], lineno)
        rest = rest[i + 1:]
    parts = rest.split(" ")
    if len(parts) not in (2, 3) or parts[0] != "":
        raise ValueError(f"line {lineno}: expected ' value [timestamp]' in {line!r}")
    return name, labels, parse_value(parts[1])


class Page:
    def __init__(self):
        self.types = {}     # family -> "gauge" / "counter"
        self.help = {}
        self.samples = {}   # (name, frozenset(labels)) -> value

    def series(self, name):
        """[(labels dict, value)] of one metric."""
        return [(dict(k[1]), v) for k, v in self.samples.items() if k[0] == name]

    def value(self, name, **labels):
        """The value of one series; None when it is not on the page."""
        return self.samples.get((name, frozenset(labels.items())))


def parse(text):
    if not text.endswith("\n"):
        raise ValueError("a page ends with a newline")
    page, current, done = Page(), None, set()
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) ?(.*)", line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.groups()
            if not NAME.match(name):
                raise ValueError(f"line {lineno}: bad metric name {name!r}")
            if name in done and name != current:
                raise ValueError(f"line {lineno}: family {name} is not contiguous")
            table = page.help if kind == "HELP" else page.types
            if name in table:
                raise ValueError(f"line {lineno}: second # {kind} for {name}")
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError(f"line {lineno}: bad type {rest!r}")
                if name in {k[0] for k in page.samples}:
                    raise ValueError(f"line {lineno}: # TYPE {name} after its samples")
                if rest == "counter" and not name.endswith("_total"):
                    raise ValueError(f"line {lineno}: counter {name} does not end in _total")
            else:
                if re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                    raise ValueError(f"line {lineno}: bad escape in help")
            table[name] = rest
            if current is not None and current != name:
                done.add(current)
            current = name
            continue
        name, labels, value = split_sample(line, lineno)
        for label in labels:
            if not LABEL.match(label) or label.startswith("__"):
                raise ValueError(f"line {lineno}: bad label name {label!r}")
        family = name
        if family != current:
            if family in done or family in {k[0] for k in page.samples}:
                raise ValueError(f"line {lineno}: family {family} is not contiguous")
            if current is not None:
                done.add(current)
            current = family
        key = (name, frozenset(labels.items()))
        if key in page.samples:
            raise ValueError(f"line {lineno}: series {name}{labels} twice")
        page.samples[key] = value
    for name in page.types:
        if name not in page.help:
            raise ValueError(f"{name} has # TYPE but no # HELP")
    return page


PROMTOOL = shutil.which("promtool")


def check_with_promtool(test, text):
    """`promtool check metrics` must accept text (the linter too); skips,
    saying why, only where promtool is not installed."""
    if PROMTOOL is None:
        test.skipTest("promtool not installed (Debian's prometheus package)")
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    test.assertEqual(p.returncode, 0, f"promtool:\n{p.stdout}{p.stderr}\n--- page ---\n{text}")


def http_get_unix(path, url):
    """GET url on the UNIX socket at path: (status, headers dict, body text)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return _exchange(s, url, {})


def http_get_tcp(host, port, url, headers=None):
    s = socket.create_connection((host, port), timeout=30)
    return _exchange(s, url, headers or {})


def _exchange(s, url, headers):
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    s.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body.decode()


class Daemon:
    """`mfb daemon` over an env's database (jobtestlib.JobEnv), stopped by
    SIGTERM at cleanup; args are extra daemon options."""

    def __init__(self, env, *args, environ=None):
        self.env = env
        self.sock = os.path.join(env.dir, "mfb.sock")
        self.proc = subprocess.Popen([MFB, "daemon", "--workers", "1", *args],
                                     stderr=subprocess.PIPE, env=dict(env.env, **(environ or {})),
                                     text=True)
        deadline = time.monotonic() + 30
        while env.mfb("daemon", "status", expect=None).returncode != 0:
            if self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited: {self.proc.stderr.read()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the daemon does not answer")
            time.sleep(0.05)

    def get(self, url):
        return http_get_unix(self.sock, url)

    def stop(self):
        """Stops the daemon; returns what it wrote to stderr. Fails when it
        did not exit cleanly or a sanitizer reported anything; a second
        call returns ""."""
        if self.proc.returncode is not None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=120)
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in err:
                raise AssertionError("sanitizer report from the daemon:\n" + err)
        if self.proc.returncode != 0:
            raise AssertionError(f"the daemon exited {self.proc.returncode}:\n{err}")
        return err


def receiver_metrics_port(rx, timeout=30):
    """The port of a started receiver's metrics listener (server_testlib
    .Receiver), from its `metrics-serving` log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r" metrics-serving .*port=(\d+)", rx.log_text()[rx.log_offset:])
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    raise AssertionError("no metrics-serving line: " + rx.log_text())


def write_secret(path, text):
    """A file of mode 0600 holding text and a newline."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path
