"""restore_3am.py - `mfb restore` in the situations a DBA meets at night, each
ending with either the old server or the restored one running (never
neither), and one error line with a HINT that says which:

- SIGTERM while the stop is under way (a stop command that has already
  asked the server to go, as `systemctl stop` has queued its job): the stop
  is waited for, then the server is started again on the untouched files;
- the server runs as a service account that is neither root nor "mysql":
  the restored files are given to that account, and the server starts;
- a server that was down before the restore stays down when the restore
  fails: the old directories are put back, nothing is started;
- a spool without room for the download: refused before it begins, saying
  how much more is needed (no .part filling the disk);
- a data directory that is a symbolic link: --in-place refuses it before the stop with
  the exact --map that restores through it, which then works; the staged
  restore (the default) swaps the directory it points to and keeps the link.
"""

import os
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from restore_testlib import INSTANCE, OwnEnvTestCase, mount_tmpfs  # noqa: E402

WAIT = 120  # seconds; only a bound for a hang


class NightTest(OwnEnvTestCase):

    def test_sigterm_during_the_stop(self):
        marker = self.path("stop-began")
        script = self.path("stop.sh")
        env = self.make_env(tables=1, rows=1000)
        # The SHUTDOWN goes out from a process of its own a moment later, as
        # systemd carries out a queued stop job whatever becomes of systemctl.
        with open(script, "w") as f:
            f.write("#!/bin/sh\n"
                    f"setsid sh -c \"sleep 1; mariadb --defaults-file='{self.db.client_cnf}' "
                    "-e SHUTDOWN\" </dev/null >/dev/null 2>&1 &\n"
                    f"touch '{marker}'\nsleep 2\n")
        os.chmod(script, stat.S_IRWXU)
        env.mfb("instance", "set", INSTANCE, "--control", "command", "--stop-cmd", script,
                "--start-cmd", env.start_cmd)
        bid = env.backup()
        os.unlink(marker)
        old = self.change_data(keep=500)
        proc = subprocess.Popen([mfbtest.MFB, "restore", INSTANCE, bid], env=env.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + WAIT
            while not os.path.exists(marker) and proc.poll() is None:
                self.assertLess(time.monotonic(), deadline, "the stop command never ran")
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("stopped the server (command)", out)
        self.assertIn("restore failed (restore cancelled); starting the server again", out)
        self.assertIn("mfb: error: restore cancelled\n"
                      "HINT: nothing was changed and the server answers\n", err)
        self.assertTrue(self.db.is_running())
        self.assertEqual(self.db.checksum_tables(), old)
        self.assertEqual(env.asides(), [])
        self.assertEqual(env.failed(), [])

    def test_server_runs_as_its_own_account(self):
        if os.geteuid() != 0:
            self.skipTest("only root can run the server as another user")
        os.chmod(self.tmp, 0o755)  # the server's account must get through to its files
        env = self.make_env(tables=1, rows=1000, run_as="nobody",
                            instance_args=("--verify-timeout", "15s"))
        bid = env.backup()
        self.change_data(keep=500)
        r = env.restore(bid)
        self.assertIn(f"restored root datadir into {env.datadir}: ", r.stdout)
        self.assertIn("owner the user the server ran as, mode 0750", r.stdout)
        self.assertIn("started the server; it answers", r.stdout)
        self.assertEqual(self.db.query_value("SELECT COUNT(*) FROM sbtest.sbtest1"), "1000")
        nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True,
                                    check=True).stdout)
        for d, _, files in os.walk(env.datadir):
            for name in [d] + [os.path.join(d, f) for f in files]:
                self.assertEqual(os.lstat(name).st_uid, nobody, name)

    def test_stopped_server_stays_stopped_when_the_restore_fails(self):
        env = self.make_env(tables=1, rows=1000)
        bid = env.backup()
        old = self.change_data(keep=500)
        self.db.stop()
        r = env.restore(bid, "--in-place", expect=1,
                        env={"MFB_TEST_RESTORE_FAULT": "extract:datadir"})
        self.assertIn(f"put {env.datadir} back", r.stdout)
        self.assertNotIn("started the server", r.stdout)
        failed = env.failed()
        self.assertEqual(len(failed), 1)
        self.assertIn("mfb: error: root 'datadir': injected extraction failure\n"
                      "HINT: the old directories were put back; the server was not running "
                      "before the restore, so it was left stopped; the restored files are in "
                      f"{failed[0]}\n", r.stderr)
        self.assertFalse(self.db.is_running())
        self.assertEqual(env.asides(), [])
        self.db.start()
        self.assertEqual(self.db.checksum_tables(), old)

    def test_spool_without_room(self):
        env = self.make_env(tables=1, rows=5000)
        small = self.path("small")
        mount_tmpfs(self, small, "256k")
        bid = env.backup()
        pid, sums = self.db.server_pid(), self.db.checksum_tables()
        r = env.restore(bid, "--spool", small, expect=1)
        self.assertRegex(r.stderr, rf"mfb: error: not enough room in the spool '{small}' to "
                                   rf"download backup {bid}: it needs \S+ (KiB|MiB) more, \S+ "
                                   r"(B|KiB) are free\n"
                                   r"HINT: nothing was changed; free that much space there, or "
                                   r"download elsewhere with --spool DIR\n")
        self.assertEqual(os.listdir(small), [])
        self.assertEqual(self.db.server_pid(), pid)
        self.assertEqual(self.db.checksum_tables(), sums)
        self.assertEqual(env.asides(), [])

    def test_symlinked_datadir(self):
        env = self.make_env(tables=1, rows=1000)
        bid = env.backup()
        self.change_data(keep=500)
        real = env.datadir + ".real"
        self.db.stop()
        os.rename(env.datadir, real)
        os.symlink(real, env.datadir)
        self.db.start()
        pid = self.db.server_pid()
        # --in-place cannot move a link aside: refused before the stop
        r = env.restore(bid, "--in-place", expect=1)
        self.assertIn(f"mfb: error: root 'datadir': '{env.datadir}' is a symbolic link\n"
                      f"HINT: nothing was changed; '{env.datadir}' points to '{real}': restore "
                      f"into that directory with --map datadir={real}, and the link stays as it "
                      "is\n", r.stderr)
        self.assertEqual(self.db.server_pid(), pid)
        env.restore(bid, "--in-place", "--map", f"datadir={real}")
        self.assertTrue(os.path.islink(env.datadir))
        self.assertEqual(self.db.query_value("SELECT COUNT(*) FROM sbtest.sbtest1"), "1000")
        self.assertEqual(self.db.query_value("SELECT COUNT(*) FROM information_schema.tables "
                                             "WHERE table_name = 'newer'"), "0")
        # staged (the default): the directory the link points to is swapped, the link stays
        self.change_data(keep=500)
        r = env.restore(bid)
        self.assertIn(f"restored root datadir into {real}: ", r.stdout)
        self.assertIn(f"(the link {env.datadir} stays)", r.stdout)
        self.assertTrue(os.path.islink(env.datadir))
        self.assertEqual(os.readlink(env.datadir), real)
        self.assertEqual(self.db.query_value("SELECT COUNT(*) FROM sbtest.sbtest1"), "1000")
        self.assertTrue(any(n.startswith(os.path.basename(real) + ".mfb-before-restore-")
                            for n in os.listdir(os.path.dirname(real))))


if __name__ == "__main__":
    mfbtest.main()
