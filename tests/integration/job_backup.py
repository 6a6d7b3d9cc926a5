#!/usr/bin/env python3
"""job_backup.py - `mfb backup` end to end, the happy path, for each restart
policy (upload, archive, snapshot), against a real MariaDB and a real
mfb-server over TLS with a pinned fingerprint, configured through the real
commands (mfb init, instance add, target add).

For each policy: the receiver holds the backup, its .sha256 verifies with
sha256sum -c, `mfb fetch` brings it back and `mfb archive test` passes on
it, the manifest names the roots, the server version and the GTID
position, a fresh MariaDB started on the extracted data directory has the
same table checksums as the original, the original server answers
afterwards, Data.zip is gone from the spool, and the job row records the
downtime and every step's duration. Also: the choice of target (--target
may be left out with one target; a clear error with none or several), the
naming pattern with {seq}, and the terminal progress display. And the
client's memory: its peak RSS does not grow with the chunk size (the
upload streams each chunk from the spool file).
"""
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import unittest
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(__file__), "..", "lib"))
from jobtestlib import JobEnv  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from mfbtest import MFB, main  # noqa: E402

STEPS = ["preflight_ms", "preflush_ms", "stop_ms", "archive_ms", "upload_ms", "start_ms",
         "verify_ms", "finish_ms"]


def b_size(env, job):
    """The size of the backup a job stored, as the receiver lists it."""
    return [b for b in env.stored_backups() if b["backup_id"] == job["backup_id"]][0]["size"]


class HappyPath(unittest.TestCase):
    env = None

    @classmethod
    def setUpClass(cls):
        cls.env = JobEnv("happy").__enter__()
        cls.addClassCleanup(cls.env.cleanup)
        cls.before = cls.env.db.checksum_tables()
        cls.gtid = cls.env.db.query_value("SELECT @@gtid_current_pos")

    def tearDown(self):
        self.env.assert_running()

    def fetch(self, backup_id, out):
        env = self.env
        env.mfb("fetch", backup_id, out, "--url", f"https://127.0.0.1:{env.rx.port}",
                "--token-file", env.token_file, "--fingerprint", env.rx.fingerprint)

    def check_backup(self, name, policy, extra_steps=()):
        env = self.env
        env.add_instance(name=name, restart_after=policy)
        if not env.sql("SELECT 1 FROM targets"):
            env.add_target()
        env.instance = name
        r = env.backup()
        self.assertEqual(r.done["status"], "ok", r)
        # --progress=json: standard output is JSON lines and nothing else
        for line in r.stdout.splitlines():
            self.assertIsInstance(json.loads(line), dict, line)
        job = env.job(r.job_id)
        self.assertEqual(job["status"], "ok")
        self.assertEqual(job["kind"], "backup")
        self.assertGreater(job["downtime_ms"], 0)
        for step in STEPS + list(extra_steps):
            self.assertIsNotNone(job[step], f"{step} not recorded")
        self.assertGreater(job["bytes_in"], 1_000_000)
        self.assertGreater(job["bytes_out"], 0)
        self.assertTrue(job["upload_id"].startswith("u_"))
        self.assertIsNone(job["error"])
        # the record names the host and counts the chunks and retries (7.1)
        self.assertEqual(job["host"], socket.gethostname())
        chunk_size = env.sql("SELECT chunk_size FROM targets")[0]["chunk_size"]
        self.assertEqual(job["chunks"], -(-b_size(env, job) // chunk_size))
        self.assertEqual(job["retries"], 0)
        self.assertIsNone(job["backtrace"])
        self.assertIsNone(job["system_state"])
        # Data.zip and the snapshot are gone from the spool (3.6).
        self.assertEqual(env.spool_files(), [])
        self.assertFalse(os.path.exists(os.path.join(env.spool, f"job-{r.job_id}")))

        # The receiver holds it, with a .sha256 that sha256sum accepts.
        stored = [b for b in env.stored_backups() if b["backup_id"] == job["backup_id"]]
        self.assertEqual(len(stored), 1)
        b = stored[0]
        self.assertRegex(b["name"], rf"^{name}_\d{{8}}-\d{{6}}(-\d+)?\.zip$")
        self.assertEqual(b["metadata"]["job"]["restart_after"], policy)
        self.assertEqual(b["metadata"]["flavour"], "mariadb")
        path = os.path.join(env.rx.storage, b["path"])
        subprocess.run(["sha256sum", "-c", os.path.basename(path) + ".sha256"],
                       cwd=os.path.dirname(path), check=True, stdout=subprocess.PIPE)

        # Fetched back, it passes mfb archive test; the manifest says what it is.
        out = os.path.join(env.dir, f"{name}.zip")
        self.fetch(job["backup_id"], out)
        with open(out, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), b["sha256"])
        env.mfb("archive", "test", out)
        with zipfile.ZipFile(out) as z:
            names = z.namelist()
            manifest = json.loads(z.read("mfb-manifest.json"))
        meta = manifest["metadata"]
        self.assertEqual(meta["job"]["restart_after"], policy)
        self.assertEqual([r["name"] for r in meta["roots"]], ["datadir"])
        self.assertEqual(os.path.realpath(meta["roots"][0]["path"]),
                         os.path.realpath(env.db.datadir))
        self.assertRegex(meta["version"], r"^10\.\d+\.\d+-MariaDB")
        self.assertIn("gtid_current_pos", json.dumps(meta["gtid"]))
        self.assertIn("datadir/ibdata1", names)
        self.assertIn("datadir/sbtest/sbtest1.ibd", names)
        self.assertFalse([n for n in names if n.endswith((".pid", ".sock"))], names)
        return job, out, r

    def restore_and_compare(self, archive):
        """A server started on the extracted files has the same data."""
        env = self.env
        dest = os.path.join(env.dir, "restored-" + os.path.basename(archive))
        env.mfb("archive", "extract", archive, dest)
        with MariaDB(os.path.join(dest, "datadir"), parent_dir=env.dir,
                     keep_datadir=False) as db2:
            self.assertEqual(db2.checksum_tables(), self.before)

    def test_1_default_policy_upload(self):
        job, out, r = self.check_backup("prod", "upload")
        # with --json too: the result is one more line, after the events
        r2 = self.env.backup("--json")
        lines = [json.loads(x) for x in r2.stdout.splitlines()]
        self.assertEqual(lines[-2]["event"], "done", r2)
        self.assertEqual((lines[-1]["status"], lines[-1]["job_id"]), ("ok", r2.job_id), r2)
        # The server was started again only once the upload was done.
        self.assertEqual(r.steps(), ["preflight", "preflush", "stop", "archive", "upload",
                                     "start", "verify", "finish"])
        ev = self.env.events(job["id"])
        self.assertTrue(any("the server answers again" in e for e in ev), ev)
        self.restore_and_compare(out)

    def test_2_restart_after_archive(self):
        job, out, r = self.check_backup("prod-archive", "archive")
        # Started as soon as Data.zip was sealed, before the upload ended.
        self.assertEqual(r.steps(), ["preflight", "preflush", "stop", "archive", "start",
                                     "verify", "upload", "finish"])
        self.restore_and_compare(out)

    def test_3_restart_after_snapshot(self):
        job, out, r = self.check_backup("prod-snap", "snapshot", extra_steps=["snapshot_ms"])
        # Started after the copy; the archive was made from the copy.
        self.assertEqual(r.steps(), ["preflight", "preflush", "stop", "snapshot", "start",
                                     "verify", "archive", "upload", "finish"])
        ev = self.env.events(job["id"])
        self.assertTrue(any(re.search(r"copied \d+ files", e) for e in ev), ev)
        self.restore_and_compare(out)

    def test_4_choosing_the_target(self):
        env = self.env
        env.instance = "prod"
        env.add_target("second")
        r = env.mfb("backup", "prod", "--progress=none", expect=2)
        self.assertIn("mfb: error: 2 targets are configured (rx, second)", r.stderr)
        self.assertIn("HINT: choose one with --target NAME", r.stderr)
        r = env.mfb("backup", "prod", "--target", "second", "--progress=none")
        self.assertRegex(r.stdout, r"backup stored: prod_\d{8}-\d{6}(-\d+)?\.zip \(b_\w+\)")
        self.assertRegex(r.stdout, r"job \d+: downtime [\d.]+m?s, Data.zip [\d.]+ [KM]iB")
        env.mfb("target", "remove", "second")
        # No target at all: a clear error before anything happens.
        other = os.path.join(env.dir, "other.db")
        env.mfb("init", "--db", other)
        env.mfb("instance", "add", "x", "--db", other, "--socket", env.db.socket, "--user",
                env.db.user, "--password-file", env.db.password_file, "--datadir",
                env.db.datadir, "--spool", env.spool, "--control", "shutdown-sql",
                "--start-cmd", env.start_cmd())
        r = env.mfb("backup", "x", "--db", other, expect=1)
        self.assertIn("mfb: error: no target configured", r.stderr)
        self.assertIn("HINT: add the receiver with 'mfb target add", r.stderr)
        r = env.mfb("backup", "nosuch", expect=1)
        self.assertIn("mfb: error: no instance named 'nosuch'", r.stderr)

    def test_5_naming_with_seq_and_terminal_display(self):
        env = self.env
        env.mfb("target", "set", "rx", "--naming", "{instance}-{type}-{seq:4}.zip")
        env.instance = "prod"
        last = env.sql("SELECT last FROM name_seq WHERE instance = 'prod'")
        seq = last[0]["last"] if last else 0
        r = env.mfb("backup", "prod", "--progress=tty", "--json")
        result = json.loads(r.stdout)
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["backup_name"], f"prod-full-{seq + 1:04d}.zip")
        self.assertGreater(result["downtime_ms"], 0)
        # The display: one line per finished step, and the job's end.
        for step in ("preflight", "stop", "archive", "upload", "start", "verify", "finish"):
            self.assertRegex(r.stderr, rf"  {step} +done in [\d.]+m?s")
        self.assertRegex(r.stderr, rf"job {result['job_id']} ok after [\d.]+m?s, "
                                   r"downtime [\d.]+m?s")
        # Log retention keeping one job does not make {seq} count again.
        env.mfb("settings", "set", "log_retention_count", "1")
        self.addCleanup(env.mfb, "settings", "reset", "log_retention_count")
        r = env.mfb("backup", "prod", "--progress=none", "--json")
        self.assertEqual(json.loads(r.stdout)["backup_name"], f"prod-full-{seq + 2:04d}.zip")
        self.assertEqual(len(env.sql("SELECT id FROM jobs")), 1)
        r = env.mfb("backup", "prod", "--progress=none", "--json")
        self.assertEqual(json.loads(r.stdout)["backup_name"], f"prod-full-{seq + 3:04d}.zip")
        env.mfb("target", "set", "rx", "--naming", "")


    def peak_rss_mib(self, chunk):
        """The peak RSS of one `mfb backup` with the target's chunk size."""
        env = self.env
        env.mfb("target", "set", "rx", "--chunk-size", chunk)
        rss = os.path.join(env.dir, "rss.txt")
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, MFB, "backup", env.instance,
                            "--progress=none", "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env.env, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])
        self.assertEqual(json.loads(p.stdout)["status"], "ok", p.stdout)
        with open(rss) as f:
            return int(f.read().split()[-1]) / 1024

    def test_6_memory_does_not_grow_with_the_chunk_size(self):
        """docs/backup.md, "Memory": on an archive of several 32 MiB chunks
        (96 MiB that do not compress), 32 MiB chunks cost the client about
        what 1 MiB chunks cost. Holding chunks in memory (connections + 1
        of them) would add about 96 MiB; the margin is for noise."""
        env = self.env
        env.add_instance(name="mem")
        env.instance = "mem"
        if not env.sql("SELECT 1 FROM targets"):
            env.add_target()
        big = os.path.join(env.db.datadir, "mfb-test-random.bin")
        with open(big, "wb") as f:
            for _ in range(96):
                f.write(os.urandom(1 << 20))
        self.addCleanup(os.unlink, big)
        self.addCleanup(env.mfb, "target", "set", "rx", "--chunk-size", "1M")
        small = self.peak_rss_mib("1M")
        large = self.peak_rss_mib("32M")
        self.assertLess(large, small + 24, f"peak RSS {small:.1f} MiB with 1 MiB chunks, "
                                           f"{large:.1f} MiB with 32 MiB chunks")


if __name__ == "__main__":
    main()
