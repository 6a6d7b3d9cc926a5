"""drill_basic.py - `mfb drill` proves a backup restorable (docs/drill.md).

Against a real MariaDB holding InnoDB, Aria, MyISAM and partitioned tables
and a real receiver over TLS:
- a drill of a good backup passes: every table checked, counted against
  the manifest, row counts recorded; the real server answered a prober's
  SELECT 1 every 50 ms throughout, with the same pid; the scratch directory
  and the download are gone; the job log has a `drill` job; the receiver's
  GET /v1/backups shows the verification and `mfb list` its column;
- a backup of a MyISAM table damaged before the backup (its .MYD cut short
  while the server was down) fails the drill, names the table with the
  server's message, sends a critical alert through a command channel and
  is recorded as failed on the receiver; so does a backup of an InnoDB
  table whose .ibd had a page overwritten with garbage while the server
  was down, and the real server answers the prober throughout both;
- a backup whose copy on the receiver was damaged after the upload fails
  the drill (its SHA-256 does not match), with an alert; so does one whose
  archive was damaged before its digest was taken (found as it is
  extracted, naming the entry);
- tables with DATA DIRECTORY outside the datadir are read from the
  scratch copy, never from their recorded places;
- the receiver's verifications endpoint records what the client says as
  the authenticated client and refuses bad bodies and other clients;
- a drill killed with -9 while its throwaway server runs leaves the scratch
  directory; its server dies with it, and the next drill removes the
  leftovers and passes.
"""
import hashlib
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402,F401
from jobtestlib import MFB, JobTestCase  # noqa: E402


class Prober:
    """SELECT 1 on the real server every 50 ms, in a thread, until stopped."""

    def __init__(self, db):
        self.db = db
        self.ok = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                if self.db.query_value("SELECT 1") == "1":
                    self.ok += 1
                else:
                    self.failures.append("unexpected answer")
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failures.append(str(e))
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


class DrillTest(JobTestCase):
    env_name = "drill"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.db.execute(
            "CREATE DATABASE mix;"
            "CREATE TABLE mix.aria (id INT PRIMARY KEY, v VARCHAR(32)) ENGINE=Aria;"
            "INSERT INTO mix.aria SELECT seq, CONCAT('a', seq) FROM mix.seq_1_to_500;"
            "CREATE TABLE mix.isam (id INT PRIMARY KEY, v VARCHAR(32)) ENGINE=MyISAM;"
            "INSERT INTO mix.isam SELECT seq, CONCAT('m', seq) FROM mix.seq_1_to_300;"
            "CREATE TABLE mix.parts (id INT PRIMARY KEY, v INT) ENGINE=InnoDB "
            "  PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (100),"
            "  PARTITION p1 VALUES LESS THAN (1000), PARTITION p2 VALUES LESS THAN MAXVALUE);"
            "INSERT INTO mix.parts SELECT seq, seq FROM mix.seq_1_to_1500;"
            "CREATE VIEW mix.v AS SELECT id FROM mix.aria;")
        env.add_instance()
        cls.alerts = os.path.join(env.dir, "alerts.txt")
        env.mfb("alert", "add", "cmd", "--command",
                f"env | grep ^MFB_ALERT_ >> {cls.alerts}; echo '---' >> {cls.alerts}",
                "--min-severity", "warning")

    def drill(self, *args, expect=0):
        return self.env.mfb("drill", self.env.instance, *args, expect=expect, timeout=300)

    def alerts_text(self):
        try:
            with open(self.alerts) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def verification(self, bid):
        b = next(b for b in self.env.stored_backups() if b["backup_id"] == bid)
        return b.get("verification")

    def latest_backup_id(self):
        return self.env.stored_backups()[0]["backup_id"]

    def test_1_good_backup_passes_while_the_server_answers(self):
        env = self.env
        env.backup()
        bid = self.latest_backup_id()
        pid = env.db.server_pid()
        with Prober(env.db) as prober:
            r = self.drill()
        self.assertEqual(prober.failures, [])
        self.assertGreater(prober.ok, 0)
        self.assertEqual(env.db.server_pid(), pid)
        self.assertIn(f"drill passed: backup {bid} of 'prod' is restorable", r.stdout)
        self.assertIn("the drill's server answers on", r.stdout)
        self.assertRegex(r.stdout, r"\d+ tables checked in \d+ databases, 0 failed")

        # the job log: kind drill, ok, with its steps and row counts
        job = env.sql("SELECT * FROM jobs WHERE kind = 'drill' ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual(job["status"], "ok")
        self.assertEqual(job["backup_id"], bid)
        for step in ("preflight_ms", "archive_ms", "start_ms", "verify_ms", "stop_ms"):
            self.assertIsNotNone(job[step], step)
        events = env.events(job["id"])
        for table, rows in (("mix.aria", 500), ("mix.isam", 300), ("mix.parts", 1500),
                            ("shop.items", 2), ("sbtest.sbtest1", 2000)):
            self.assertIn(f"table {table} ok rows={rows}", events)

        # nothing left behind: scratch, download
        self.assertFalse(os.path.exists(os.path.join(env.spool, "drill-prod")))
        self.assertEqual([f for f in env.spool_files() if f.startswith("restore-")], [])

        # the receiver knows, and mfb list shows it
        v = self.verification(bid)
        self.assertEqual(v["result"], "passed")
        self.assertEqual(v["verified_by"], "db1")
        self.assertGreater(v["tables"], 5)
        listed = env.mfb("list", "prod")
        self.assertIn("VERIFIED", listed.stdout.splitlines()[0])
        line = next(x for x in listed.stdout.splitlines() if x.startswith(bid))
        self.assertIn("passed " + v["time"], line)
        j = json.loads(env.mfb("list", "prod", "--json").stdout)
        self.assertEqual(next(b for b in j if b["backup_id"] == bid)["verification"]["result"],
                         "passed")
        self.assertNotIn("drill_failed", self.alerts_text())

    def test_2_damaged_table_fails_names_it_and_alerts(self):
        env = self.env
        env.db.execute("CREATE TABLE mix.broken (id INT PRIMARY KEY, v CHAR(200)) ENGINE=MyISAM;"
                       "INSERT INTO mix.broken SELECT seq, REPEAT('b', 200) FROM mix.seq_1_to_2000;")
        env.db.stop()
        myd = os.path.join(env.db.datadir, "mix", "broken.MYD")
        with open(myd, "r+b") as f:  # the data file cut short: rows are lost
            f.truncate(os.path.getsize(myd) // 2)
        env.db.start()
        try:
            env.backup()
            bid = self.latest_backup_id()
            pid = env.db.server_pid()
            with Prober(env.db) as prober:
                r = self.drill(expect=1)
            self.assertEqual(prober.failures, [])
            self.assertEqual(env.db.server_pid(), pid)
            self.assertIn(f"drill FAILED: backup {bid} of 'prod' is not restorable", r.stdout)
            self.assertIn("table mix.broken FAILED: ", r.stdout)
            self.assertRegex(r.stderr, r"mfb: error: table mix\.broken: .+\n")
            job = env.sql("SELECT * FROM jobs WHERE kind = 'drill' ORDER BY id DESC LIMIT 1")[0]
            self.assertEqual(job["status"], "failed")
            self.assertIn("table mix.broken", job["error"])

            alerts = self.alerts_text()
            self.assertIn("MFB_ALERT_SEVERITY=critical", alerts)
            self.assertIn("MFB_ALERT_EVENT=drill_failed", alerts)
            self.assertIn(f"MFB_ALERT_SUBJECT=backup {bid} of 'prod' is NOT restorable", alerts)
            self.assertIn("mix.broken", alerts)

            v = self.verification(bid)
            self.assertEqual(v["result"], "failed")
            self.assertIn("mix.broken", v["detail"])
            line = next(x for x in env.mfb("list", "prod").stdout.splitlines()
                        if x.startswith(bid))
            self.assertIn("failed ", line)
            self.assertFalse(os.path.exists(os.path.join(env.spool, "drill-prod")))
        finally:
            env.db.execute("DROP TABLE mix.broken")

    def test_2b_damaged_innodb_page_fails_names_it_and_alerts(self):
        """An InnoDB .ibd with one page overwritten with garbage while the
        server was down: the backup copies it as it is (a cold backup reads
        files, not pages), and only a drill, whose server reads every page
        of every table, finds that the backup is not restorable."""
        env = self.env
        env.db.execute("CREATE TABLE mix.badpage (id INT PRIMARY KEY, v CHAR(200)) "
                       "  ENGINE=InnoDB;"
                       "INSERT INTO mix.badpage SELECT seq, REPEAT('p', 200) "
                       "  FROM mix.seq_1_to_2000;")
        page = int(env.db.query_value("SELECT @@innodb_page_size"))
        ibd = os.path.join(env.db.datadir, "mix", "badpage.ibd")
        env.db.stop()
        with open(ibd, "rb") as f:
            intact = f.read()
        # 2000 rows of 200 bytes fill some 25 pages: page 3 is the clustered
        # index's root, page 4 one of its leaves, which CHECK TABLE reads
        self.assertGreater(len(intact), 8 * page)
        garbage = bytes((i * 131 + 7) % 251 for i in range(page))
        with open(ibd, "r+b") as f:
            f.seek(4 * page)
            f.write(garbage)
        env.db.start()
        try:
            env.backup()
            bid = self.latest_backup_id()
            pid = env.db.server_pid()
            with Prober(env.db) as prober:
                r = self.drill(expect=1)
            self.assertEqual(prober.failures, [])
            self.assertGreater(prober.ok, 0)
            self.assertEqual(env.db.server_pid(), pid)
            self.assertIn(f"drill FAILED: backup {bid} of 'prod' is not restorable", r.stdout)
            # the server's own words: InnoDB explains "Corrupt" in a warning
            self.assertRegex(r.stdout, r"table mix\.badpage FAILED: Corrupt \(InnoDB: .*corrupt")
            self.assertRegex(r.stderr, r"mfb: error: table mix\.badpage: .+\n")
            job = env.sql("SELECT * FROM jobs WHERE kind = 'drill' ORDER BY id DESC LIMIT 1")[0]
            self.assertEqual(job["status"], "failed")
            self.assertIn("table mix.badpage", job["error"])

            alerts = self.alerts_text().split("---\n")
            alert = next(a for a in reversed(alerts) if "MFB_ALERT_EVENT=drill_failed" in a)
            self.assertIn("MFB_ALERT_SEVERITY=critical", alert)
            self.assertIn(f"MFB_ALERT_SUBJECT=backup {bid} of 'prod' is NOT restorable", alert)
            self.assertIn("mix.badpage", alert)

            v = self.verification(bid)
            self.assertEqual(v["result"], "failed")
            self.assertIn("mix.badpage", v["detail"])
            self.assertFalse(os.path.exists(os.path.join(env.spool, "drill-prod")))
        finally:
            # the real server gets its intact file back before the table goes
            env.db.stop()
            with open(ibd, "wb") as f:
                f.write(intact)
            env.db.start()
            env.db.execute("DROP TABLE mix.badpage")

    def test_3_killed_drill_leaves_scratch_that_the_next_removes(self):
        env = self.env
        env.backup()
        scratch = os.path.join(env.spool, "drill-prod")
        p = subprocess.Popen([MFB, "drill", "prod"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env=dict(env.env, MFB_TEST_PAUSE_AT="verify"))
        try:
            for line in p.stderr:
                if "note=test_pause_until_killed" in line:
                    break
            else:
                self.fail("the drill ended before its verify step")
            with open(os.path.join(scratch, "server.pid")) as f:
                server = int(f.read().strip())
        finally:
            p.kill()
            p.communicate()
        # PR_SET_PDEATHSIG: the throwaway server goes with the drill
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{server}") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(os.path.exists(f"/proc/{server}"))
        self.assertTrue(os.path.isdir(os.path.join(scratch, "files", "datadir")))
        r = self.drill()
        self.assertIn("drill passed", r.stdout)
        self.assertFalse(os.path.exists(scratch))

    def test_4_damaged_stored_copy_fails(self):
        """The receiver's copy damaged after the upload: the whole download
        does not match the SHA-256 recorded then, so the backup cannot be
        restored; the drill fails with that reason and alerts."""
        env = self.env
        env.backup()
        b = env.stored_backups()[0]
        path = os.path.join(env.rx.storage, b["path"])
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        r = self.drill(b["backup_id"], expect=1)
        self.assertIn(f"drill FAILED: backup {b['backup_id']} of 'prod' is not restorable",
                      r.stdout)
        self.assertIn(f"mfb: error: backup {b['backup_id']}: downloaded SHA-256 ", r.stderr)
        self.assertIn("HINT: the copy on the receiver does not match what was uploaded",
                      r.stderr)
        self.assertEqual(self.verification(b["backup_id"])["result"], "failed")
        self.assertIn(f"MFB_ALERT_SUBJECT=backup {b['backup_id']} of 'prod' is NOT restorable",
                      self.alerts_text())
        self.assertEqual([f for f in env.spool_files() if f.startswith("restore-")], [])

    def test_4b_damaged_archive_with_a_matching_digest_fails(self):
        """An archive damaged before its SHA-256 was taken (the digest
        matches, an entry's data does not): the drill finds it while it
        extracts, fails with the entry's name and alerts; there is no
        separate test pass that inflates the whole backup first."""
        env = self.env
        env.backup()
        b = env.stored_backups()[0]
        path = os.path.join(env.rx.storage, b["path"])
        with zipfile.ZipFile(path) as z:
            info = max(z.infolist(), key=lambda i: i.compress_size)
        with open(path, "r+b") as f:
            f.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", f.read(4))
            f.seek(info.header_offset + 30 + name_len + extra_len + info.compress_size // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with sqlite3.connect(env.rx.db) as c:  # the receiver recorded this digest at upload
            c.execute("UPDATE backups SET sha256 = ? WHERE id = ?", (digest, b["backup_id"]))
        with open(path + ".sha256", "w") as f:
            f.write(f"{digest}  {os.path.basename(path)}\n")
        r = self.drill(b["backup_id"], expect=1)
        self.assertIn(f"drill FAILED: backup {b['backup_id']} of 'prod' is not restorable",
                      r.stdout)
        self.assertIn("archive directory ok", r.stdout)
        self.assertIn(f"mfb: error: backup {b['backup_id']} failed its archive check: ", r.stderr)
        self.assertIn(info.filename.split("/")[-1], r.stderr)
        self.assertIn("HINT: the file matches the receiver's SHA-256", r.stderr)
        self.assertEqual(self.verification(b["backup_id"])["result"], "failed")
        self.assertIn(f"MFB_ALERT_SUBJECT=backup {b['backup_id']} of 'prod' is NOT restorable",
                      self.alerts_text())
        self.assertFalse(os.path.exists(os.path.join(env.spool, "drill-prod")))

    def test_5_outside_paths_are_remapped_into_the_scratch_copy(self):
        """Tables with DATA DIRECTORY outside the datadir (InnoDB: an .isl
        file; MyISAM: symbolic links) are read from the scratch copy: they
        are dropped on the real server after the backup, so a drill that
        followed the recorded paths would find nothing (or, worse, the
        real server's files), and the drill's server never writes there."""
        env = self.env
        ext = os.path.join(env.dir, "ext")
        os.makedirs(ext)
        env.db.execute(
            f"CREATE TABLE mix.far (id INT PRIMARY KEY, v INT) ENGINE=InnoDB DATA DIRECTORY='{ext}';"
            "INSERT INTO mix.far SELECT seq, seq FROM mix.seq_1_to_700;"
            "CREATE TABLE mix.farisam (id INT PRIMARY KEY, v INT) ENGINE=MyISAM "
            f"  DATA DIRECTORY='{ext}' INDEX DIRECTORY='{ext}';"
            "INSERT INTO mix.farisam SELECT seq, seq FROM mix.seq_1_to_400;")
        try:
            env.backup()
        finally:
            env.db.execute("DROP TABLE mix.far; DROP TABLE mix.farisam")
        leftover = sorted(os.path.relpath(os.path.join(d, f), ext)
                          for d, _, files in os.walk(ext) for f in files)
        r = self.drill()
        self.assertIn("drill passed", r.stdout)
        job = env.sql("SELECT * FROM jobs WHERE kind = 'drill' ORDER BY id DESC LIMIT 1")[0]
        events = env.events(job["id"])
        self.assertIn("table mix.far ok rows=700", events)
        self.assertIn("table mix.farisam ok rows=400", events)
        after = sorted(os.path.relpath(os.path.join(d, f), ext)
                       for d, _, files in os.walk(ext) for f in files)
        self.assertEqual(after, leftover)

    def test_6_verifications_endpoint(self):
        """POST /v1/backups/{id}/verifications (docs/protocol.md): the
        receiver records what the client says, as the authenticated client,
        refuses anything else, and shows another client nothing."""
        env = self.env
        if not env.stored_backups():
            env.backup()
        bid = env.stored_backups()[0]["backup_id"]
        path = f"/v1/backups/{bid}/verifications"
        tok = env.token()
        status, j = env.rx.json("POST", path, tok, {"result": "failed", "tables": 3,
                                                    "detail": "by hand", "verified_by": "mallory"})
        self.assertEqual(status, 201, j)
        self.assertEqual((j["result"], j["verified_by"], j["tables"], j["detail"]),
                         ("failed", "db1", 3, "by hand"))
        self.assertEqual(self.verification(bid)["detail"], "by hand")
        for body in ({"result": "ok"}, {}, {"result": "passed", "tables": -1},
                     {"result": "passed", "detail": "x" * 2000}, {"result": "passed", "host": 5},
                     [1]):
            status, j = env.rx.json("POST", path, tok, body)
            self.assertEqual(status, 400, (body, j))
        status, j = env.rx.json("POST", path, tok, b"{not json")
        self.assertEqual(status, 400, j)
        status, j = env.rx.json("GET", path, tok)
        self.assertEqual(status, 405, j)
        status, j = env.rx.json("POST", path, None, {"result": "passed"})
        self.assertEqual(status, 401, j)
        status, j = env.rx.json("POST", "/v1/backups/b_" + "0" * 32 + "/verifications", tok,
                                {"result": "passed"})
        self.assertEqual(status, 404, j)
        other = env.rx.add_client("db2")
        status, j = env.rx.json("POST", path, other, {"result": "passed"})
        self.assertEqual(status, 404, j)
        status, j = env.rx.json("GET", "/v1/backups", other)
        self.assertEqual((status, j["backups"]), (200, []))
        self.assertEqual(self.verification(bid)["result"], "failed")

    def test_7_refusals(self):
        env = self.env
        mine = os.path.join(env.dir, "not-a-drill")
        os.makedirs(mine)
        with open(os.path.join(mine, "keep.txt"), "w") as f:
            f.write("mine")
        r = self.drill("--scratch", mine, expect=1)
        self.assertIn(f"mfb: error: scratch directory '{mine}' is not empty and was not made "
                      "by a drill\n", r.stderr)
        self.assertEqual(os.listdir(mine), ["keep.txt"])
        inside = os.path.join(env.db.datadir, "drill")
        r = self.drill("--scratch", inside, expect=2)
        self.assertIn(f"mfb: error: scratch directory '{inside}' overlaps the data directory "
                      f"'{env.db.datadir}' of instance 'prod'\n", r.stderr)
        self.assertFalse(os.path.exists(inside))
        r = self.drill("b_" + "0" * 32, expect=1)
        self.assertIn("mfb: error: ", r.stderr)


if __name__ == "__main__":
    mfbtest.main()
