"""restore_testlib.py - what the restore tests share: a throwaway MariaDB with
sysbench data, a real mfb-server over TLS, and an mfb configuration database
with the instance and the target added through the real commands.

    env = RestoreEnv(tmp)            # server, receiver, `mfb init/instance/target add`
    bid = env.backup()               # a backup on the receiver, server running again
    env.mfb("restore", "db", bid)    # the real binary, with MFB_DB set
    env.cleanup()                    # everything stopped and removed (also on failure)

Backups are made by `mfb backup` itself. For the refusal tests,
forged_backup() makes archives it never would (a MySQL or a future server
in the manifest, no metadata, another directory as the datadir) the same
way: the server stopped, the root archived under its name ("datadir/...")
with `mfb archive create --root datadir=DIR --metadata FILE`, then
`mfb push`.
"""

import json
import os
import subprocess
import sys

import mfbtest
from mariadb import MariaDB
from server_testlib import Receiver

INSTANCE = "db"
TARGET = "rx"
CLIENT = "client1"


class RestoreEnv:
    def __init__(self, tmp, tables=4, rows=10000, options=None, start_cmd=None,
                 instance_args=(), run_as=None):
        self.run_as = run_as  # the server's system user (MariaDB(run_as=...)), else root
        self.tmp = tmp
        self.rx = None
        self.db = None
        self.mfb_db = os.path.join(tmp, "mfb", "mfb.db")
        self.spool = os.path.join(tmp, "spool")
        self.count = 0
        try:
            self._start(tables, rows, options, start_cmd, instance_args)
        except BaseException:
            self.cleanup()
            raise

    def _start(self, tables, rows, options, start_cmd, instance_args):
        self.rx = Receiver(tmp=os.path.join(self.tmp, "rx"))
        os.makedirs(self.rx.dir)
        self.rx.init()
        token = self.rx.add_client(CLIENT)
        self.token_file = os.path.join(self.tmp, "token")
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        self.rx.start()
        self.url = f"https://127.0.0.1:{self.rx.port}"

        # Unix socket only: a TCP port freed by a stop could be taken by a
        # server of a test running beside this one before mfb starts ours again.
        opts = {"skip_networking": None}
        opts.update(options or {})
        self.db = MariaDB(parent_dir=self.tmp, options=opts, run_as=self.run_as)
        self.db.start()
        if tables:
            self.db.load_sysbench(tables=tables, rows=rows)
        self.datadir = os.path.realpath(self.db.datadir)
        self.start_cmd = start_cmd or self.default_start_cmd()

        os.makedirs(self.spool, mode=0o700)
        self.mfb("init")
        self.mfb("instance", "add", INSTANCE, "--socket", self.db.socket,
                 "--user", self.db.user, "--password-file", self.db.password_file,
                 "--datadir", self.datadir, "--spool", self.spool,
                 "--control", "shutdown-sql", "--start-cmd", self.start_cmd,
                 "--stop-timeout", "60s", "--start-timeout", "60s", "--verify-timeout", "60s",
                 *instance_args)
        self.mfb("target", "add", TARGET, "--url", self.url, "--token-file", self.token_file,
                 "--fingerprint", self.rx.fingerprint)

    def default_start_cmd(self):
        return f"mariadbd --defaults-file={self.db.server_cnf} >/dev/null 2>&1 &"

    # -- running mfb ---------------------------------------------------------

    def env(self):
        return dict(mfbtest.UTF8_ENV, MFB_DB=self.mfb_db)

    def mfb(self, *args, expect=0, env=None, timeout=240):
        e = self.env()
        e.update(env or {})
        try:
            return mfbtest.run([mfbtest.MFB, *map(str, args)], expect=expect, env=e,
                               timeout=timeout)
        except subprocess.TimeoutExpired as t:
            raise AssertionError(
                f"mfb {' '.join(map(str, args))} did not finish in {timeout} s\n"
                f"--- stdout ---\n{t.stdout}\n--- stderr ---\n{t.stderr}\n"
                f"--- server error log ---\n{self.db._log_tail(60)}") from None

    def restore(self, backup, *args, expect=0, env=None):
        return self.mfb("restore", INSTANCE, backup, *args, expect=expect, env=env)

    def target_args(self):
        return ["--url", self.url, "--token-file", self.token_file,
                "--fingerprint", self.rx.fingerprint]

    # -- making backups --------------------------------------------------------

    def backup(self):
        """`mfb backup db`: the real backup job. Returns the backup id."""
        r = self.mfb("backup", INSTANCE, "--json", "--progress", "none", "--no-alerts")
        out = json.loads(r.stdout)
        if out.get("status") != "ok" or not out.get("backup_id"):
            raise AssertionError(f"mfb backup did not store a backup: {r.stdout}\n{r.stderr}")
        return out["backup_id"]

    def metadata(self):
        version = self.db.query_value("SELECT VERSION()")
        return {"flavour": "mariadb", "version": version, "datadir": self.datadir,
                "roots": [{"name": "datadir", "path": self.datadir,
                           "why": "@@datadir = '%s'" % self.datadir}]}

    def forged_backup(self, metadata=None, source=None, name=None):
        """A backup `mfb backup` would never make, for the refusals: the
        server stopped, its datadir (or source, another directory) archived
        under the root "datadir" with the manifest metadata of the real
        server overridden by the dict given, pushed, the server started.
        Returns the backup id."""
        self.count += 1
        meta = self.metadata()
        meta.update(metadata or {})
        work = os.path.join(self.tmp, f"backup-{self.count}")
        empty = os.path.join(work, "empty")
        os.makedirs(empty)
        meta_file = os.path.join(work, "meta.json")
        with open(meta_file, "w") as f:
            json.dump(meta, f)
        zip_path = os.path.join(work, f"{INSTANCE}_forged_{self.count}.zip")
        self.db.stop()
        try:
            self.mfb("archive", "create", empty, zip_path, "--level", "1",
                     "--root", f"datadir={source or self.datadir}", "--metadata", meta_file)
        finally:
            self.db.start()
        r = self.mfb("push", zip_path, *self.target_args(), "--instance", INSTANCE,
                     "--name", name or os.path.basename(zip_path), "--json")
        mfbtest.rmtree(work)
        return json.loads(r.stdout)["backup_id"]

    def list_json(self):
        return json.loads(self.mfb("list", INSTANCE, "--json").stdout)

    def stored_path(self, backup_id):
        for b in self.list_json():
            if b["backup_id"] == backup_id:
                return os.path.join(self.rx.storage, b["path"])
        raise AssertionError(f"backup {backup_id} is not listed")

    # -- looking at the result -----------------------------------------------

    def spool_files(self):
        """The spool's files, the instance's job lock (.mfb-INSTANCE.lock) left out."""
        return sorted(n for n in os.listdir(self.spool) if not n.startswith(".mfb-"))

    def asides(self):
        """Directories moved aside next to the datadir."""
        parent, base = os.path.split(self.datadir)
        return sorted(os.path.join(parent, n) for n in os.listdir(parent)
                      if n.startswith(base + ".mfb-before-restore-"))

    def failed(self):
        parent, base = os.path.split(self.datadir)
        return sorted(os.path.join(parent, n) for n in os.listdir(parent)
                      if n.startswith(base + ".mfb-failed-restore-"))

    def cleanup(self):
        errors = []
        for step in (lambda: self.db and self.db.cleanup(), lambda: self.rx and self.rx.stop()):
            try:
                step()
            except Exception as e:  # clean up the rest anyway
                errors.append(e)
        if errors:
            print(f"restore_testlib: cleanup: {errors}", file=sys.stderr)


class RestoreTestCase(mfbtest.TempDirTestCase):
    """A test with self.env, built in setUp and always cleaned up."""

    ENV_ARGS = {}

    def setUp(self):
        super().setUp()
        self.env = RestoreEnv(self.tmp, **self.ENV_ARGS)
        self.addCleanup(self.env.cleanup)
        self.db = self.env.db

    def assert_running(self):
        self.assertTrue(self.db.is_running(), "the server is not running")
        self.assertEqual(self.db.query_value("SELECT 1"), "1")

    def assert_untouched(self, pid, checksums):
        """A refusal changed nothing: same server process, nothing moved, same data."""
        self.assertEqual(self.db.server_pid(), pid)
        self.assertEqual(self.env.asides(), [])
        self.assertEqual(self.env.failed(), [])
        self.assertEqual(self.db.checksum_tables(), checksums)


class OwnEnvTestCase(mfbtest.TempDirTestCase):
    """A test that builds its own env with make_env(**RestoreEnv arguments),
    cleaned up whatever happens; change_data() then alters the data
    (sbtest1 keeps rows 1..keep, a table sbtest.newer holding 42 appears)
    and returns the new checksums."""

    def make_env(self, **kw):
        env = RestoreEnv(self.tmp, **kw)
        self.addCleanup(env.cleanup)
        self.env, self.db = env, env.db
        return env

    def change_data(self, keep=5000):
        self.db.execute(f"DELETE FROM sbtest.sbtest1 WHERE id > {keep}; "
                        "CREATE TABLE sbtest.newer (id INT PRIMARY KEY); "
                        "INSERT INTO sbtest.newer VALUES (42)")
        return self.db.checksum_tables()


def mount_tmpfs(test, path, size):
    """A tmpfs of size ("2m") at path (created), unmounted after the test;
    skips the test where it cannot be mounted (not root)."""
    os.makedirs(path)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        test.skipTest(f"cannot mount a tmpfs: {p.stderr.strip()}")
    test.addCleanup(subprocess.run, ["umount", "-l", path])
