"""restore_fidelity.py - `mfb restore INSTANCE BACKUP` puts the data back exactly.

A real MariaDB with sysbench data (4 tables x 10,000 rows) is backed up to a
real mfb-server over TLS; then rows are changed, a table is dropped and a
new one created; the restore (the real mfb binary) downloads, verifies,
stops the server, moves the datadir aside, extracts, starts the server and
checks it answers. Afterwards every table's CHECKSUM TABLE equals the one
taken at backup time, the changes are gone, the old datadir is kept beside
the new one (with the changed data in it), the restored files belong to the
mysql user with mode 0750 on the datadir, the download was removed, and the
job log records the restore. `mfb list` shows the backup with its size and
SHA-256.
"""

import hashlib
import json
import os
import pwd
import stat
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402
from restore_testlib import INSTANCE, RestoreEnv, RestoreTestCase  # noqa: E402


class FidelityTest(RestoreTestCase):

    def test_restore_in_place(self):
        db, env = self.db, self.env
        before = db.checksum_tables()
        self.assertEqual(len(before), 4)
        bid = env.backup()

        db.execute("UPDATE sbtest.sbtest1 SET k = k + 1 WHERE id <= 500; "
                   "DELETE FROM sbtest.sbtest2 WHERE id > 9000; DROP TABLE sbtest.sbtest3; "
                   "CREATE TABLE sbtest.after_backup (id INT PRIMARY KEY) ENGINE=InnoDB; "
                   "INSERT INTO sbtest.after_backup VALUES (1)")
        changed = db.checksum_tables()
        self.assertNotEqual(changed, before)

        r = env.restore(bid)
        out = r.stdout
        self.assertIn(f"backup {bid}:", out)
        self.assertIn("SHA-256 matches the receiver's", out)
        self.assertIn("archive ok:", out)
        self.assertRegex(out, r"stopped the server \(shutdown-sql\) in ")
        self.assertIn("restored root datadir into " + env.datadir, out)
        self.assertIn("started the server; it answers", out)
        name = env.list_json()[0]["name"]
        self.assertRegex(name, r"^db_\d{8}-\d{6}(-\d+)?\.zip$")  # the default naming pattern
        self.assertIn(f"restored backup {bid} ({name}) into instance 'db'; downtime ", out)

        self.assert_running()
        self.assertEqual(db.checksum_tables(), before)
        self.assertEqual(db.query_value("SELECT COUNT(*) FROM information_schema.tables "
                                        "WHERE table_schema = 'sbtest' AND "
                                        "table_name = 'after_backup'"), "0")

        # the old datadir is kept, named in the output, and holds the changed data
        asides = env.asides()
        self.assertEqual(len(asides), 1)
        self.assertIn(f"  {asides[0]}  (was {env.datadir})", out)
        self.assertTrue(os.path.isfile(os.path.join(asides[0], "sbtest", "after_backup.ibd")))
        self.assertFalse(os.path.exists(os.path.join(env.datadir, "sbtest", "after_backup.ibd")))

        # owner and mode
        st = os.stat(env.datadir)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o750)
        try:
            mysql = pwd.getpwnam("mysql")
        except KeyError:
            mysql = None
        if mysql is not None and mfbtest.IS_ROOT:
            self.assertEqual((st.st_uid, st.st_gid), (mysql.pw_uid, mysql.pw_gid))
            f = os.stat(os.path.join(env.datadir, "sbtest", "sbtest1.ibd"))
            self.assertEqual((f.st_uid, f.st_gid), (mysql.pw_uid, mysql.pw_gid))

        # the download is gone, nothing partial left in the spool
        self.assertEqual(env.spool_files(), [])

    def test_list_and_restore_by_name_and_latest(self):
        env = self.env
        first = env.backup()
        self.db.execute("CREATE TABLE sbtest.second (id INT PRIMARY KEY); "
                        "INSERT INTO sbtest.second VALUES (7)")
        second = env.backup()

        listed = env.list_json()
        self.assertEqual([b["backup_id"] for b in listed], [second, first])
        for b in listed:
            stored = env.stored_path(b["backup_id"])
            with open(stored, "rb") as f:
                data = f.read()
            self.assertEqual(b["size"], len(data))
            self.assertEqual(b["sha256"], hashlib.sha256(data).hexdigest())
            self.assertEqual(b["instance"], INSTANCE)
            self.assertRegex(b["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        table = env.mfb("list").stdout.splitlines()
        self.assertEqual(table[0].split(), ["ID", "INSTANCE", "NAME", "CREATED", "SIZE",
                                            "SHA256", "VERIFIED"])
        self.assertEqual(len(table), 3)
        self.assertEqual(table[1].split()[-1], "-")  # never drilled (docs/drill.md)
        self.assertTrue(table[1].startswith(second))
        self.assertIn(listed[0]["sha256"], table[1])
        self.assertIn(listed[0]["name"], table[1])
        self.assertIn("no backup of instance 'other'", env.mfb("list", "other").stdout)

        # by name: the first backup, which has no table "second"
        env.restore(listed[1]["name"])
        self.assertEqual(self.db.query_value("SELECT COUNT(*) FROM information_schema.tables "
                                             "WHERE table_name = 'second'"), "0")
        # "latest" (the second one), kept download
        r = env.restore("latest", "--keep-download")
        self.assertEqual(self.db.query_value("SELECT id FROM sbtest.second"), "7")
        self.assertIn(f"the downloaded backup is kept: {env.spool}/restore-{second}.zip",
                      r.stdout)
        self.assertEqual(len(env.asides()), 2)
        # a second run reuses the kept file after checking it
        r = env.restore(second, "--keep-download")
        self.assertIn("using the earlier download", r.stdout)

        # an unknown backup
        r = env.restore("nope.zip", expect=1)
        self.assertIn("mfb: error: target 'rx' holds no backup 'nope.zip' of instance 'db'",
                      r.stderr)
        self.assertIn("HINT: 'mfb list db --target rx' shows the backups there", r.stderr)

        # the job log records the restores
        jobs = json.loads(env.mfb("logs", "--json").stdout) if self._has_logs() else None
        if jobs is not None:
            self.assertTrue(any(j.get("kind") == "restore" for j in jobs))

    def _has_logs(self):
        return mfbtest.run([mfbtest.MFB, "logs", "--help"]).returncode == 0


class TwoRootsTest(mfbtest.TempDirTestCase):
    """Binary logs outside the datadir: the backup has two roots, both are
    moved aside and both come back where they were."""

    def test_datadir_and_binlog(self):
        binlog = self.path("binlog")
        os.makedirs(binlog)
        env = RestoreEnv(self.tmp, tables=2, rows=5000,
                         options={"log_bin": os.path.join(binlog, "mariadb-bin"),
                                  "server_id": "1"})
        self.addCleanup(env.cleanup)
        db = env.db
        before = db.checksum_tables()
        bid = env.backup()
        logs_at_backup = sorted(os.listdir(binlog))
        db.execute("FLUSH BINARY LOGS; DROP TABLE sbtest.sbtest2")
        self.assertNotEqual(sorted(os.listdir(binlog)), logs_at_backup)

        r = env.restore(bid)
        self.assertIn("restored root datadir into " + env.datadir, r.stdout)
        self.assertIn("restored root binlog into " + binlog, r.stdout)
        self.assertEqual(db.checksum_tables(), before)
        # the server started on the restored binlogs (and opened a new one)
        restored = sorted(os.listdir(binlog))
        self.assertTrue(set(logs_at_backup) <= set(restored), (logs_at_backup, restored))
        self.assertEqual(len(db.query("SHOW BINARY LOGS")), len(restored) - 1)  # minus the index
        asides = [n for n in os.listdir(self.tmp) if n.startswith("binlog.mfb-before-restore-")]
        self.assertEqual(len(asides), 1)
        self.assertEqual(len(env.asides()), 1)
        self.assertIn(f"(was {binlog})", r.stdout)


if __name__ == "__main__":
    mfbtest.main()
