"""mariadb.py - a throwaway MariaDB server for tests, the demo and benchmarks.

    from mariadb import MariaDB
    with MariaDB() as db:                      # bootstraps, starts, waits
        db.execute("CREATE DATABASE shop")
        db.query("SELECT 1")                   # -> [["1"]]
        db.load_sysbench(tables=2, rows=1000)
        before = db.checksum_tables()
        db.stop(); db.start()                  # same datadir, new process
        assert db.checksum_tables() == before
    # server stopped, every file removed, even if the body raised

It drives Debian's own binaries: mariadb-install-db bootstraps a datadir,
mariadbd serves it on a private unix socket and a free TCP port on
127.0.0.1, the `mariadb` command-line client runs queries and sysbench loads
data. No systemd, no global config: install-db runs with --no-defaults and the
server reads only the server.cnf written here, so a Debian-packaged server on
the same host is never touched, and a person can start the very same server
by hand (`mariadbd --defaults-file=ROOT/server.cnf`).

Trade-offs:
- Speed over durability: a small buffer pool and redo log, no performance
  schema, no buffer-pool dump, innodb_flush_log_at_trx_commit=2. A clean
  shutdown still leaves a consistent datadir, which is all backups need.
  Any option can be overridden with `options={...}`.
- Queries go through the CLI client (stdlib only, no connector): results are
  lists of rows of strings, with the client's --batch escapes undone; SQL
  NULL comes back as the string "NULL".
- Cleanup is layered so that no server outlives its test: the context
  manager; an atexit hook; SIGTERM/SIGHUP turned into SystemExit so stacks
  unwind; the server gets PR_SET_PDEATHSIG so it is shut down even when the
  Python process is SIGKILLed (as CTest does on timeout); and a new instance
  sweeps away the directories of dead earlier processes (in its parent
  directory, and in the system temp directory, which holds the socket when
  the instance path is too long for one). Stopping escalates
  from SHUTDOWN to SIGTERM to SIGKILL.
- Bootstrapping copies a template datadir that mariadb-install-db made once
  and that is cached beside the instances ($MFB_TEST_TMP), keyed by the
  mariadbd binary and the InnoDB options; `make clean` drops it with build/.
- Secrets: the non-root user's password lives in 0600 files (a client
  option file and a bare password file for --password-file), never on a
  command line.

Run as a program it is also a small tool for shell scripts (see main()).
"""

import argparse
import atexit
import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")

# The options every instance gets; options={...} overrides or adds (a value of
# None writes a bare flag, False drops the option).
DEFAULT_OPTIONS = {
    "innodb_buffer_pool_size": "32M",
    "innodb_log_file_size": "16M",
    "innodb_flush_log_at_trx_commit": "2",
    "innodb_buffer_pool_dump_at_shutdown": "OFF",
    "innodb_buffer_pool_load_at_startup": "OFF",
    "performance_schema": "OFF",
    "skip_name_resolve": None,
    "bind_address": "127.0.0.1",
    "max_connections": "50",
    "character_set_server": "utf8mb4",
    "collation_server": "utf8mb4_general_ci",
}

INSTANCE_PREFIX = "mfb-mariadb-"
UNIX_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL

_live = []  # instances whose files or process may still exist
_hooks_installed = False


class MariaDBError(RuntimeError):
    """A server that would not bootstrap, start, stop or answer."""


def default_parent_dir():
    """Where instance directories go: $MFB_TEST_TMP, else the system temp dir."""
    parent = os.environ.get("MFB_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(parent, exist_ok=True)
    return os.path.abspath(parent)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is as good as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _is_server_of(pid, server_cnf, datadir):
    """True when pid is a mariadbd started with server_cnf or serving datadir
    (so a recycled pid never gets killed by mistake)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode(errors="replace").split("\0")
    except OSError:
        return False
    if not args or not os.path.basename(args[0]).startswith(("mariadbd", "mysqld")):
        return False
    for a in args:
        if a == f"--defaults-file={server_cnf}":
            return True
        if a.startswith("--datadir=") and datadir and \
                os.path.realpath(a.split("=", 1)[1]) == os.path.realpath(datadir):
            return True
    return False


def _die_with_parent():
    """preexec_fn: the server gets SIGTERM (a clean shutdown) when we die."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _unescape_batch(field):
    """Undoes the mariadb client's --batch escaping of one field."""
    if "\\" not in field:
        return field
    table = {"\\": "\\", "t": "\t", "n": "\n", "0": "\0"}
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            out.append(table.get(field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _cnf_line(key, value):
    return key if value is None else f"{key} = {value}"


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _with_signals_blocked(fn):
    """Runs fn with SIGINT/SIGTERM/SIGHUP held, so a second Ctrl-C cannot cut
    a cleanup in half; they are delivered when it is done."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        return fn()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _signal_to_exit(signum, frame):
    raise SystemExit(128 + signum)


def cleanup_all():
    """Stops and removes every instance this process created. Idempotent."""
    for db in list(_live):
        try:
            db.cleanup()
        except Exception as e:  # keep going: the next one deserves a chance too
            print(f"mariadb.py: cleanup of {db.root} failed: {e}", file=sys.stderr)


def _install_hooks():
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(cleanup_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _signal_to_exit)
        except ValueError:  # not the main thread: atexit and pdeathsig remain
            pass


def sweep_stale(parent):
    """Removes instance directories left by processes that no longer exist
    (killed with SIGKILL, say), stopping any server still running in them."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        m = re.match(re.escape(INSTANCE_PREFIX) + r"(\d+)-", name)
        if not m or _pid_alive(int(m.group(1))):
            continue
        root = os.path.join(parent, name)
        pid = _read_pid(os.path.join(root, "mariadbd.pid"))
        if pid and _pid_alive(pid) and _is_server_of(pid, os.path.join(root, "server.cnf"), None):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


class MariaDB:
    """One throwaway server. All paths are absolute.

    datadir       None: a fresh one inside the instance directory, removed at
                  cleanup. A path: used (bootstrapped if empty) and kept.
    options       server options over DEFAULT_OPTIONS (see there).
    user          a non-root account with all privileges and a random
                  password, for tests that log in like a real client.
    parent_dir    where the instance directory goes ($MFB_TEST_TMP or /tmp).
    run_as        (root only) a system user the server runs as instead of
                  root, like a packaged server; the instance directory, the
                  datadir and the socket directory are given to it at start.
                  The directories above them must let it through.
    """

    def __init__(self, datadir=None, *, options=None, user="mfb", password=None,
                 parent_dir=None, keep_datadir=None, startup_timeout=120, verbose=False,
                 run_as=None):
        _install_hooks()
        parent = os.path.abspath(parent_dir or default_parent_dir())
        os.makedirs(parent, exist_ok=True)
        for leftovers in {parent, tempfile.gettempdir()}:  # the latter: short socket dirs
            sweep_stale(leftovers)
        self.root = tempfile.mkdtemp(prefix=f"{INSTANCE_PREFIX}{os.getpid()}-", dir=parent)
        _live.append(self)
        self.datadir = os.path.abspath(datadir) if datadir else os.path.join(self.root, "data")
        self.keep_datadir = (datadir is not None) if keep_datadir is None else keep_datadir
        self._socket_dir = None
        self.socket = os.path.join(self.root, "mariadbd.sock")
        if len(self.socket) > UNIX_PATH_MAX - 8:  # room for the ".lock" file
            self._socket_dir = tempfile.mkdtemp(prefix=f"{INSTANCE_PREFIX}{os.getpid()}-")
            self.socket = os.path.join(self._socket_dir, "mariadbd.sock")
        self.pid_file = os.path.join(self.root, "mariadbd.pid")
        self.error_log = os.path.join(self.root, "mariadbd.err")
        self.server_cnf = os.path.join(self.root, "server.cnf")
        self.client_cnf = os.path.join(self.root, "client-root.cnf")
        self.user_cnf = os.path.join(self.root, "client-user.cnf")
        self.password_file = os.path.join(self.root, "password")
        self.user = user
        self.password = password or secrets.token_hex(16)
        self.port = None
        self.options = dict(DEFAULT_OPTIONS)
        self.options.update(options or {})
        self.startup_timeout = startup_timeout
        self.run_as = run_as
        self.verbose = verbose
        self._proc = None
        self._user_ready = False
        self._cleaned = False
        _write_private(self.password_file, self.password + "\n")

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cleanup()
        return False

    def __repr__(self):
        state = "running" if self.is_running() else "stopped"
        return f"<MariaDB {state} datadir={self.datadir} socket={self.socket} port={self.port}>"

    def is_bootstrapped(self):
        return os.path.isdir(os.path.join(self.datadir, "mysql"))

    def bootstrap(self):
        """Creates the system tables in an empty datadir: a copy of a cached,
        freshly bootstrapped template (about 0.1 s instead of 1 s), made with
        mariadb-install-db the first time."""
        os.makedirs(self.datadir, exist_ok=True)
        if os.listdir(self.datadir):
            raise MariaDBError(f"datadir {self.datadir} is not empty and has no mysql schema")
        template = self._template()
        r = subprocess.run(["cp", "-a", f"{template}/.", self.datadir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise MariaDBError(f"copying {template} failed: {r.stdout.strip()}")

    def _install_options(self):
        return [f"--{k}={v}" for k, v in sorted(self.options.items())
                if k.startswith("innodb_") and v not in (None, False)]

    def _template(self):
        """The cached template datadir for this mariadbd binary and these
        InnoDB options, built once per machine; concurrent builders race
        harmlessly (each builds privately, the first rename wins)."""
        binary = shutil.which("mariadbd") or shutil.which("mysqld") or "mariadbd"
        try:
            st = os.stat(binary)
            stamp = f"{binary}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = binary
        key = hashlib.sha1(repr((stamp, os.geteuid(), self._install_options()))
                           .encode()).hexdigest()[:12]
        parent = default_parent_dir()
        template = os.path.join(parent, f"{INSTANCE_PREFIX}template-{key}")
        if os.path.isdir(template):
            return template
        work = tempfile.mkdtemp(prefix=f"{INSTANCE_PREFIX}{os.getpid()}-tpl-", dir=parent)
        try:
            # A private --tmpdir (and tmpdir below): in the shared /tmp, the
            # internal temporary tables of concurrent servers, ours and other
            # suites', can be deleted under them ("Error on delete of
            # '/tmp/#sql-temptable-...MAI'") and the bootstrap fails.
            argv = ["mariadb-install-db", "--no-defaults", f"--datadir={work}/data",
                    f"--tmpdir={work}", "--auth-root-authentication-method=normal",
                    "--skip-test-db", "--skip-name-resolve", *self._user_arg(),
                    *self._install_options()]
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
            if r.returncode != 0:
                raise MariaDBError(f"mariadb-install-db failed ({r.returncode}):\n"
                                   f"{r.stdout[-4000:]}")
            try:
                os.rename(f"{work}/data", template)
            except OSError:
                if not os.path.isdir(template):
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return template

    def server_command(self):
        """The argv that starts this server (also usable by hand or by mfb)."""
        return ["mariadbd", f"--defaults-file={self.server_cnf}"]

    def start(self):
        """Bootstraps when needed, starts mariadbd and waits until it answers."""
        if self.is_running():
            raise MariaDBError(f"server already running for {self.datadir}")
        if self._cleaned:
            raise MariaDBError("this instance was cleaned up; make a new one")
        if not self.is_bootstrapped():
            self.bootstrap()
        for attempt in range(3):
            self.port = free_port()
            self._write_config()
            if self.run_as:
                for d in filter(None, (self.root, self.datadir, self._socket_dir)):
                    subprocess.run(["chown", "-R", f"{self.run_as}:", d], check=True)
            if self._launch_and_wait():
                break
            if attempt == 2 or "Address already in use" not in self._log_tail():
                raise MariaDBError(f"mariadbd did not start; error log {self.error_log}:\n"
                                   f"{self._log_tail()}")
        if not self._user_ready:
            self._ensure_user()
        return self

    def stop(self, timeout=120):
        """Clean shutdown (the SHUTDOWN statement), waiting until the
        process is gone; escalates to SIGTERM, then SIGKILL, on timeout."""
        pid = self.server_pid()
        if pid is None:
            self._reap()
            return
        # The SHUTDOWN statement rather than mariadb-admin, which polls the
        # pid file once a second; we poll the process every 50 ms instead.
        r = subprocess.run(["mariadb", f"--defaults-file={self.client_cnf}",
                            "--connect-timeout=5", "-e", "SHUTDOWN"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        if r.returncode != 0 and self.verbose:
            print(f"mariadb.py: SHUTDOWN: {r.stdout.strip()}", file=sys.stderr)
        if self._wait_gone(pid, timeout):
            return
        os.kill(pid, signal.SIGTERM)
        if self._wait_gone(pid, 30):
            return
        self.kill()
        raise MariaDBError(f"mariadbd {pid} ignored SHUTDOWN and SIGTERM; killed it")

    def kill(self, sig=signal.SIGKILL):
        """Kills the server without a shutdown (simulates a crash)."""
        pid = self.server_pid()
        if pid is not None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            self._wait_gone(pid, 30)

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        """Stops the server (kill -9 if it will not stop) and removes every
        file of this instance; the datadir only when it was ours."""
        def work():
            if self._cleaned:
                return
            try:
                if self.server_pid() is not None:
                    try:
                        self.stop(timeout=30)
                    except Exception:
                        self.kill()
            finally:
                self._reap()
                for d in (self.root, self._socket_dir):
                    if d:
                        shutil.rmtree(d, ignore_errors=True)
                if not self.keep_datadir:
                    shutil.rmtree(self.datadir, ignore_errors=True)
                self._cleaned = True
                if self in _live:
                    _live.remove(self)
        _with_signals_blocked(work)

    def server_pid(self):
        """The running server's pid (ours or restarted by someone else), or None."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        pid = _read_pid(self.pid_file)
        if pid and _pid_alive(pid) and _is_server_of(pid, self.server_cnf, self.datadir):
            return pid
        return None

    def is_running(self):
        return self.server_pid() is not None

    # -- SQL -----------------------------------------------------------------

    def query(self, sql, database=None, as_user=False):
        """Runs SQL through the mariadb client; returns the rows of the last
        result as lists of strings (no header)."""
        cnf = self.user_cnf if as_user else self.client_cnf
        argv = ["mariadb", f"--defaults-file={cnf}", "--batch", "--skip-column-names"]
        if database:
            argv.append(f"--database={database}")
        r = subprocess.run(argv, input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0:
            raise MariaDBError(f"query failed: {r.stderr.strip()}\nSQL: {sql[:500]}")
        return [[_unescape_batch(f) for f in line.split("\t")]
                for line in r.stdout.splitlines()]

    def query_value(self, sql, database=None):
        """The first column of the first row, or None when there is no row."""
        rows = self.query(sql, database)
        return rows[0][0] if rows else None

    def execute(self, sql, database=None):
        self.query(sql, database)

    def databases(self):
        """User databases (the system schemas left out)."""
        return [r[0] for r in self.query("SHOW DATABASES") if r[0] not in SYSTEM_SCHEMAS]

    def tables(self, databases=None):
        """'db.table' names of base tables in the given (default: all user) databases."""
        dbs = databases or self.databases()
        if not dbs:
            return []
        names = ",".join(f"'{d}'" for d in dbs)
        rows = self.query("SELECT CONCAT(table_schema, '.', table_name) FROM "
                          f"information_schema.tables WHERE table_schema IN ({names}) "
                          "AND table_type = 'BASE TABLE' ORDER BY 1")
        return [r[0] for r in rows]

    def checksum_tables(self, databases=None):
        """{'db.table': checksum} over every user table (CHECKSUM TABLE ...
        EXTENDED reads every row), for comparing data before and after."""
        tables = self.tables(databases)
        if not tables:
            return {}
        quoted = ", ".join(".".join(f"`{p}`" for p in t.split(".", 1)) for t in tables)
        return {r[0]: r[1] for r in self.query(f"CHECKSUM TABLE {quoted} EXTENDED")}

    def load_sysbench(self, tables, rows, database="sbtest", threads=None):
        """Creates `database` and fills it with sysbench oltp_read_write prepare."""
        self.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        threads = threads or max(1, min(tables, os.cpu_count() or 1))
        argv = ["sysbench", "oltp_read_write", "--db-driver=mysql",
                f"--mysql-socket={self.socket}", "--mysql-user=root", f"--mysql-db={database}",
                f"--tables={tables}", f"--table-size={rows}", f"--threads={threads}", "prepare"]
        r = subprocess.run(argv, stdout=None if self.verbose else subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise MariaDBError(f"sysbench prepare failed ({r.returncode}):\n"
                               f"{(r.stdout or '')[-4000:]}")

    def env(self, prefix="MFB_MARIADB_"):
        """The connection facts as environment variables, for child processes."""
        return {f"{prefix}DATADIR": self.datadir, f"{prefix}SOCKET": self.socket,
                f"{prefix}PORT": str(self.port), f"{prefix}PID_FILE": self.pid_file,
                f"{prefix}ERROR_LOG": self.error_log, f"{prefix}USER": self.user,
                f"{prefix}PASSWORD_FILE": self.password_file,
                f"{prefix}CLIENT_CNF": self.client_cnf, f"{prefix}USER_CNF": self.user_cnf,
                f"{prefix}SERVER_CNF": self.server_cnf}

    # -- internals -----------------------------------------------------------

    def _user_arg(self):
        return ["--user=root"] if os.geteuid() == 0 else []

    def _write_config(self):
        lines = ["# written by tests/lib/mariadb.py; start with",
                 f"#   mariadbd --defaults-file={self.server_cnf}",
                 "[mariadbd]", f"datadir = {os.path.realpath(self.datadir)}",
                 f"socket = {self.socket}", f"port = {self.port}",
                 f"pid_file = {self.pid_file}", f"log_error = {self.error_log}",
                 f"tmpdir = {os.path.join(self.root, 'tmp')}"]
        os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)
        if os.geteuid() == 0:
            lines.append(f"user = {self.run_as or 'root'}")
        lines += [_cnf_line(k, v) for k, v in self.options.items() if v is not False]
        with open(self.server_cnf, "w") as f:
            f.write("\n".join(lines) + "\n")
        _write_private(self.client_cnf, f"[client]\nuser = root\nsocket = {self.socket}\n")
        _write_private(self.user_cnf, f"[client]\nuser = {self.user}\n"
                                      f"password = {self.password}\nsocket = {self.socket}\n")

    def _launch_and_wait(self):
        """Starts mariadbd; True once it greets on its socket, False if it exited."""
        for stale in (self.socket, self.socket + ".lock", self.pid_file):
            if os.path.exists(stale) and not self.is_running():
                os.unlink(stale)
        self._log_mark = os.path.getsize(self.error_log) if os.path.exists(self.error_log) else 0
        self._proc = subprocess.Popen(self.server_command(), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                return False
            if self._greets():
                return True
            time.sleep(0.05)
        self.kill()
        raise MariaDBError(f"mariadbd did not answer within {self.startup_timeout} s; "
                           f"error log {self.error_log}:\n{self._log_tail()}")

    def _greets(self):
        """True when the socket accepts and sends a protocol-10 handshake."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(self.socket)
                head = s.recv(5)
                return len(head) == 5 and head[4] == 10
        except OSError:
            return False

    def _ensure_user(self):
        u, p = self.user, self.password
        sql = []
        for host in ("localhost", "127.0.0.1"):
            sql += [f"CREATE USER IF NOT EXISTS '{u}'@'{host}' IDENTIFIED BY '{p}';",
                    f"ALTER USER '{u}'@'{host}' IDENTIFIED BY '{p}';",
                    f"GRANT ALL PRIVILEGES ON *.* TO '{u}'@'{host}' WITH GRANT OPTION;"]
        self.execute("\n".join(sql))
        self._user_ready = True

    def _wait_gone(self, pid, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:
                    self._proc = None
                    return True
            elif not _pid_alive(pid):
                return True
            time.sleep(0.05)
        return False

    def _reap(self):
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def _log_tail(self, lines=30):
        try:
            with open(self.error_log, errors="replace") as f:
                f.seek(getattr(self, "_log_mark", 0))
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no error log)"


# -- command line ------------------------------------------------------------

def _parse_options(pairs):
    out = {}
    for p in pairs or []:
        k, sep, v = p.partition("=")
        out[k.replace("-", "_")] = v if sep else None
    return out


def _du(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_size
            except OSError:
                pass
    return total


def cmd_run(a):
    """Starts a server, runs a command with MFB_MARIADB_* set, stops, cleans up."""
    if not a.command:
        sys.exit("mariadb.py run: give a command after --")
    with MariaDB(a.datadir, options=_parse_options(a.option), verbose=a.verbose) as db:
        if a.sysbench:
            db.load_sysbench(*a.sysbench)
        env = dict(os.environ, **db.env())
        return subprocess.call(a.command, env=env)


def cmd_prepare(a):
    """Fills a kept datadir with sysbench data and leaves the server stopped."""
    if os.path.exists(a.datadir) and os.listdir(a.datadir):
        sys.exit(f"mariadb.py prepare: {a.datadir} is not empty")
    # the server's own default redo log size, so the datadir looks like a real one
    opts = {"innodb_buffer_pool_size": "256M", "innodb_log_file_size": "96M"}
    opts.update(_parse_options(a.option))
    with MariaDB(a.datadir, options=opts, verbose=a.verbose) as db:
        db.load_sysbench(a.tables, a.rows)
        db.stop()
    print(f"prepared {a.datadir}: {a.tables} tables x {a.rows} rows, "
          f"{_du(a.datadir) / 1e6:.0f} MB")
    return 0


def cmd_checksum(a):
    """Starts a server on an existing datadir, prints table checksums as JSON."""
    with MariaDB(a.datadir, options=_parse_options(a.option), verbose=a.verbose) as db:
        json.dump(db.checksum_tables(), sys.stdout, indent=1, sort_keys=True)
        print()
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="mariadb.py", description="a throwaway MariaDB server for tests and demos")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="start a server, run COMMAND with MFB_MARIADB_* "
                                   "set, then stop it and remove its files")
    r.add_argument("--datadir", help="use (and keep) this datadir")
    r.add_argument("--sysbench", nargs=2, type=int, metavar=("TABLES", "ROWS"))
    r.add_argument("--option", action="append", metavar="NAME[=VALUE]")
    r.add_argument("command", nargs=argparse.REMAINDER)
    r.set_defaults(fn=cmd_run)
    pr = sub.add_parser("prepare", help="create DATADIR filled by sysbench, server stopped")
    pr.add_argument("datadir")
    pr.add_argument("--tables", type=int, default=8)
    pr.add_argument("--rows", type=int, default=1000000)
    pr.add_argument("--option", action="append", metavar="NAME[=VALUE]")
    pr.set_defaults(fn=cmd_prepare)
    c = sub.add_parser("checksum", help="print CHECKSUM TABLE of every user table of DATADIR")
    c.add_argument("datadir")
    c.add_argument("--option", action="append", metavar="NAME[=VALUE]")
    c.set_defaults(fn=cmd_checksum)
    a = p.parse_args(argv)
    if getattr(a, "command", None) and a.command[0] == "--":
        a.command = a.command[1:]
    try:
        return a.fn(a)
    except MariaDBError as e:
        print(f"mariadb.py: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
