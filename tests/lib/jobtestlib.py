"""jobtestlib.py - what the backup-job integration tests share: a real
MariaDB (mariadb.py), a real mfb-server over TLS (server_testlib.py), and an
mfb configuration database set up through the real commands, plus helpers
to run `mfb backup`, read the job log with sqlite3 and check the receiver.

    with JobEnv("happy") as env:          # MariaDB + receiver, configured
        env.add_instance(restart_after="archive")
        r = env.backup()                  # mfb backup, --progress=json
        job = env.job(r.job_id)           # the jobs row as a dict

Every path lives under one temporary directory that is removed at the end,
and the MariaDB harness stops its server whatever happens. Tests must leave
the database running: JobEnv.assert_running() checks that it answers.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

LIB = os.path.dirname(os.path.abspath(__file__))
if LIB not in sys.path:
    sys.path.insert(0, LIB)

from mariadb import MariaDB  # noqa: E402
from mfbtest import MFB, UTF8_ENV, rmtree, tmp_parent  # noqa: E402
from server_testlib import Receiver  # noqa: E402

# Small timeouts keep failure tests fast; each test overrides what it needs.
FAST_RETRY = ["--retries", "2", "--retry-max-time", "2s", "--stall-timeout", "5s"]


class Result:
    """The outcome of one mfb command: exit code, stdout, stderr, and for
    --progress=json the parsed events and the job id."""

    def __init__(self, proc, stdout, stderr):
        self.returncode = proc.returncode if hasattr(proc, "returncode") else proc
        self.stdout = stdout
        self.stderr = stderr
        self.events = []
        for line in stdout.splitlines():
            line = line.strip()
            if line.startswith("{") and '"event"' in line:
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    pass
        self.job_id = next((e["job_id"] for e in self.events if e.get("job_id")), None)
        done = [e for e in self.events if e["event"] == "done"]
        self.done = done[-1] if done else None

    def steps(self):
        """Names of the steps that finished, in order."""
        return [e["step"] for e in self.events if e["event"] == "step" and e["step_done"]]

    def __repr__(self):
        return (f"<exit {self.returncode}>\n--- stdout ---\n{self.stdout[-4000:]}\n"
                f"--- stderr ---\n{self.stderr[-4000:]}")


class JobEnv:
    """A MariaDB, a receiver and an mfb configuration, in one directory."""

    def __init__(self, name, *, mariadb_options=None, receiver=True, data=True):
        self.dir = tempfile.mkdtemp(prefix=f"mfb-job-{name}-", dir=tmp_parent())
        self.db_path = os.path.join(self.dir, "mfb.db")
        self.spool = os.path.join(self.dir, "spool")
        self.token_file = os.path.join(self.dir, "token")
        self.env = dict(UTF8_ENV, MFB_DB=self.db_path)
        self.db = None
        self.rx = None
        self._mariadb_options = mariadb_options
        self._want_receiver = receiver
        self._data = data
        self.instance = "prod"

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self):
        try:
            self.db = MariaDB(options=self._mariadb_options, parent_dir=self.dir)
            self.db.start()
            if self._data:
                self.load_data()
            if self._want_receiver:
                self.start_receiver()
            self.mfb("init")
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def cleanup(self):
        try:
            if self.rx:
                self.rx.cleanup()
        finally:
            try:
                if self.db:
                    self.db.cleanup()
            finally:
                rmtree(self.dir)

    def load_data(self):
        """A small database: two sysbench tables and a table with a blob."""
        self.db.load_sysbench(tables=2, rows=2000)
        self.db.execute("CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, "
                        "name VARCHAR(64), body BLOB) ENGINE=InnoDB; "
                        "INSERT INTO shop.items VALUES (1, 'one', REPEAT('x', 10000)), "
                        "(2, 'two', REPEAT('y', 20000))")

    def start_receiver(self, port=None):
        """Starts the receiver (made on first use), on a given port to come
        back where mfb expects it after a test stopped it."""
        if self.rx is None:
            self.rx = Receiver("job", tmp=os.path.join(self.dir, "rx"))
            os.makedirs(self.rx.dir, exist_ok=True)
            self.rx.init()
            token = self.rx.add_client("db1")
            fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token + "\n")
        # A later --listen overrides the 127.0.0.1:0 Receiver.start puts first.
        extra = ["--listen", f"127.0.0.1:{port}"] if port else []
        self.rx.start(*extra, "--reserve", "0")

    # -- mfb ----------------------------------------------------------------
    def mfb(self, *args, expect=0, timeout=120, input=None):
        p = subprocess.run([MFB, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env, text=True, errors="replace", timeout=timeout,
                           input=input)
        r = Result(p, p.stdout, p.stderr)
        if expect is not None and p.returncode != expect:
            raise AssertionError(f"mfb {' '.join(map(str, args))}: expected exit {expect}\n{r!r}")
        return r

    def start_cmd(self):
        """The harness's server, started in the background (mfb waits for
        the command to exit, then for the server to answer)."""
        return f"mariadbd --defaults-file={self.db.server_cnf} >/dev/null 2>&1 &"

    def add_instance(self, *, control="shutdown-sql", restart_after="upload", start_cmd=None,
                     stop_cmd=None, extra=(), name=None, spool=None):
        name = name or self.instance
        os.makedirs(spool or self.spool, mode=0o700, exist_ok=True)
        args = ["instance", "add", name, "--socket", self.db.socket, "--user", self.db.user,
                "--password-file", self.db.password_file, "--datadir", self.db.datadir,
                "--spool", spool or self.spool, "--control", control,
                "--restart-after", restart_after,
                "--start-cmd", start_cmd if start_cmd is not None else self.start_cmd()]
        if stop_cmd is not None:
            args += ["--stop-cmd", stop_cmd]
        return self.mfb(*args, *extra)

    def add_target(self, name="rx", *extra):
        return self.mfb("target", "add", name, "--url", f"https://127.0.0.1:{self.rx.port}",
                        "--token-file", self.token_file, "--fingerprint", self.rx.fingerprint,
                        "--chunk-size", "1M", *extra)

    def backup(self, *extra, expect=0, timeout=120):
        return self.mfb("backup", self.instance, "--progress=json", *extra, expect=expect,
                        timeout=timeout)

    def spawn_backup(self, *extra, env=None):
        """mfb backup in the background, its JSON events readable line by line;
        env adds variables (the test-only MFB_TEST_PAUSE_AT, docs/testing.md)."""
        return subprocess.Popen([MFB, "backup", self.instance, "--progress=json", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(self.env, **(env or {})), text=True, errors="replace")

    def guardians(self):
        """Pids of the live guardians (`mfb __guardian`, docs/backup.md) of
        this env's jobs, found by their command line and MFB_DB."""
        mine = f"MFB_DB={self.db_path}".encode()
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"__guardian" not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if mine not in f.read().split(b"\0"):
                        continue
            except OSError:
                continue
            out.append(int(pid))
        return out

    def assert_no_guardian(self, timeout=30):
        """No guardian of this env is left (one told to exit does so at once)."""
        deadline = time.monotonic() + timeout
        while self.guardians():
            if time.monotonic() > deadline:
                raise AssertionError(f"guardians left: {self.guardians()}")
            time.sleep(0.05)

    def wait_job_ended(self, job_id, timeout=120):
        """The job's row once it is no longer running (a guardian may still be
        writing it after the job's process died)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] != "running":
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still running: {job}")
            time.sleep(0.05)

    # -- what happened ------------------------------------------------------
    def sql(self, query, *params):
        con = sqlite3.connect(self.db_path)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(query, params)]
        finally:
            con.close()

    def job(self, job_id):
        rows = self.sql("SELECT * FROM jobs WHERE id = ?", job_id)
        assert rows, f"no job {job_id}"
        return rows[0]

    def events(self, job_id):
        return [r["message"] for r in self.sql(
            "SELECT message FROM job_events WHERE job_id = ? ORDER BY id", job_id)]

    def assert_running(self):
        """The database answers (the promise of every test)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.db.is_running():
                try:
                    if self.db.query_value("SELECT 1") == "1":
                        return
                except Exception:
                    pass
            time.sleep(0.1)
        raise AssertionError("the database is not running")

    def stored_backups(self):
        status, j = self.rx.json("GET", "/v1/backups", self.token())
        assert status == 200, (status, j)
        return j["backups"]

    def token(self):
        with open(self.token_file) as f:
            return f.read().strip()

    def spool_files(self):
        out = []
        for d, _, files in os.walk(self.spool):
            for f in files:
                out.append(os.path.relpath(os.path.join(d, f), self.spool))
        return sorted(x for x in out if not x.startswith(".mfb-"))


class JobTestCase(unittest.TestCase):
    """Tests sharing one JobEnv (named env_name) with a receiver added as a
    target; every test starts and ends with the database running and
    answering, the promise of each job, failed or not."""

    env_name = "job"
    env = None

    @classmethod
    def setUpClass(cls):
        cls.env = JobEnv(cls.env_name).__enter__()
        cls.addClassCleanup(cls.env.cleanup)
        cls.env.add_target()

    def setUp(self):
        self.env.assert_running()

    def tearDown(self):
        self.env.assert_running()

    def instance(self, name, **kw):
        """Adds instance `name` (JobEnv.add_instance's options) and makes it
        the one the env's commands use."""
        self.env.add_instance(name=name, **kw)
        self.env.instance = name

    def stop_then(self, before=":", after=":"):
        """A stop command: `before`, then a clean shutdown (SIGTERM) and a
        wait until the server is gone, then `after`."""
        pid = self.env.db.pid_file
        return (f"{before}; kill $(cat {pid}); while [ -e {pid} ]; do sleep 0.05; done; "
                f"{after}")

    def freeze_receiver(self):
        """The receiver stops answering (SIGSTOP) until thaw_receiver, which
        runs at cleanup whatever happens. Returns the shell command that
        freezes it, for a stop command to run at the right moment."""
        pid = self.env.rx.proc.pid
        self.addCleanup(self.thaw_receiver)
        return f"kill -STOP {pid}"

    def thaw_receiver(self):
        if self.env.rx.proc is not None:
            os.kill(self.env.rx.proc.pid, signal.SIGCONT)


def step_begins(name):
    """A wait_for_event predicate: the progress event of step `name` beginning."""
    return lambda e: e["event"] == "step" and e["step"] == name and not e["step_done"]


def wait_for_event(proc, predicate, timeout=60):
    """Reads proc's JSON lines until predicate(event) is true; returns the
    lines read (so the caller can keep them)."""
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("mfb ended before the awaited event:\n" + "".join(lines) +
                                 proc.stderr.read())
        lines.append(line)
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if predicate(ev):
            return lines
    raise AssertionError("the awaited event did not come:\n" + "".join(lines))


def finish(proc, lines, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return Result(proc, "".join(lines) + out, err)


def signal_proc(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
