"""server_retention.py - retention after each completed backup and from
the command line (keep-last, max-bytes, client default vs instance, the
newest backup never deleted, --dry-run), expiry of abandoned uploads while
active ones stay, and the operator commands: init refusing an existing
catalog, client add/list/remove, list; serve refusing a storage directory
that is missing or not the one init made (a disk not mounted). Against
each storage driver (the file driver, and S3 on a real Ceph RADOS Gateway:
its staging directory stands where the storage directory is);
MFB_TEST_STORAGE=file or =s3 runs one only.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import MIB, pattern, run_tests, storage_kinds, storage_receiver  # noqa: E402

rx = None
TOKEN = None
CS = MIB  # the chunk size the receiver answers (S3: 8 MiB)


def gone(path):
    return rx.published(path) is None


def backups(instance):
    status, j = rx.json("GET", "/v1/backups?instance=" + instance, TOKEN)
    assert status == 200
    return j["backups"]


def test_keep_last_after_each_backup():
    rx.run("retention", "set", "--client", "db1", "--instance", "prod", "--keep-last", "2")
    made = []
    for i in range(4):
        made.append(rx.upload(TOKEN, pattern(1000 + i, seed=40 + i), instance="prod",
                              name="prod_%d.zip" % i))
        time.sleep(1.1)  # distinct creation seconds, so "newest" is unambiguous
    left = backups("prod")
    assert [b["backup_id"] for b in left] == [made[3]["backup_id"], made[2]["backup_id"]], left
    for b in made[:2]:
        assert gone(b["path"]) and gone(b["path"] + ".sha256") and gone(b["path"] + ".json")
    assert not gone(made[3]["path"])


def test_newest_never_deleted_and_default_policy():
    # A client-wide byte cap smaller than any backup: still keeps the newest.
    rx.run("retention", "set", "--client", "db1", "--max-bytes", "1")
    a = rx.upload(TOKEN, pattern(5000, seed=50), instance="other", name="o1.zip")
    time.sleep(1.1)
    b = rx.upload(TOKEN, pattern(5000, seed=51), instance="other", name="o2.zip")
    assert [x["backup_id"] for x in backups("other")] == [b["backup_id"]]
    assert gone(a["path"]) and not gone(b["path"])
    # "prod" inherits the byte cap too, except the newest.
    rx.run("retention", "apply")
    assert len(backups("prod")) == 1
    p = rx.run("retention", "show", "--json")
    policies = {(x["client"], x["instance"]): x for x in json.loads(p.stdout)["policies"]}
    assert policies[("db1", "")]["max_bytes"] == 1
    assert policies[("db1", "prod")]["keep_last"] == 2
    rx.run("retention", "set", "--client", "db1", "--max-bytes", "none")
    p = rx.run("retention", "show", "--json")
    policies = {(x["client"], x["instance"]): x for x in json.loads(p.stdout)["policies"]}
    assert policies[("db1", "")]["max_bytes"] is None


def test_dry_run():
    rx.upload(TOKEN, pattern(100, seed=60), instance="dry", name="d1.zip")
    time.sleep(1.1)
    rx.upload(TOKEN, pattern(100, seed=61), instance="dry", name="d2.zip")
    rx.run("retention", "set", "--client", "db1", "--instance", "dry", "--max-age", "1s")
    time.sleep(2.1)
    p = rx.run("retention", "apply", "--dry-run", "--client", "db1", "--instance", "dry")
    assert "would delete b_" in p.stdout and "(max-age)" in p.stdout, p.stdout
    assert "would delete 1 backup(s)" in p.stdout, p.stdout
    assert len(backups("dry")) == 2
    p = rx.run("retention", "apply", "--client", "db1", "--instance", "dry")
    assert "deleted 1 backup(s)" in p.stdout, p.stdout
    assert len(backups("dry")) == 1


def test_abandoned_uploads_expire():
    rx.stop()
    # The expiry must outlast any stall of a loaded machine between two
    # touches of the active upload (0.3 s apart), or that one expires too.
    rx.start("--reserve", "0", "--upload-expiry", "6s", "--housekeeping", "1s")
    data = pattern(2 * CS, seed=70)
    idle = rx.open_upload(TOKEN, size=len(data), name="idle.zip", chunk_size=CS)
    assert rx.put_chunk(TOKEN, idle, 0, data[:CS])[0] == 201
    active = rx.open_upload(TOKEN, size=len(data), name="active.zip", chunk_size=CS)
    idle_part = os.path.join(rx.storage, ".partial", idle + ".part")
    deadline = time.time() + 30
    # (Looking at the idle upload through the API would count as activity.)
    while time.time() < deadline and os.path.exists(idle_part):
        # The active upload is touched well within the expiry.
        assert rx.put_chunk(TOKEN, active, 0, data[:CS])[0] in (200, 201)
        assert rx.json("GET", "/v1/uploads/" + active, TOKEN)[0] == 200
        time.sleep(0.3)
    assert rx.json("GET", "/v1/uploads/" + idle, TOKEN)[0] == 404
    assert "upload-expired" in rx.log_text()
    assert rx.json("DELETE", "/v1/uploads/" + active, TOKEN)[0] == 204
    rx.stop()
    rx.start("--reserve", "0")


def test_operator_commands():
    p = rx.run("init", "--storage", rx.storage, check=False)
    assert p.returncode != 0
    assert "' already exists\n" in p.stderr and "HINT:" in p.stderr, p.stderr
    # A second receiver's --db next to the first: its generated TLS pair
    # would take the same names, so it is refused before anything is made.
    other_db = os.path.join(os.path.dirname(rx.db), "other.db")
    other_store = os.path.join(rx.dir, "other-store")
    p = rx.run("init", "--storage", other_store, "--db", other_db, check=False)
    key = os.path.join(os.path.dirname(rx.db), "mfb-server.key")
    assert p.returncode == 1 and f"mfb-server: error: '{key}' already exists" in p.stderr, p.stderr
    assert "a directory of its own" in p.stderr, p.stderr
    assert not os.path.exists(other_db) and not os.path.exists(other_store)
    p = rx.run("client", "add", "db1", check=False)
    assert p.returncode != 0 and "client 'db1' already exists" in p.stderr
    p = rx.run("client", "add", "../x", check=False)
    assert p.returncode == 2 and "invalid client name" in p.stderr, p.stderr
    t2 = rx.add_client("db2", "--quota", "10M")
    clients = {c["name"]: c for c in json.loads(rx.run("client", "list", "--json").stdout)["clients"]}
    assert clients["db2"]["quota"] == 10 * MIB and clients["db1"]["backups"] >= 1
    assert rx.json("GET", "/v1/whoami", t2)[0] == 200
    rx.run("client", "remove", "db2")
    assert rx.json("GET", "/v1/whoami", t2)[0] == 401
    t3 = rx.add_client("db2")
    assert t3 != t2 and rx.json("GET", "/v1/whoami", t3)[0] == 200
    listed = json.loads(rx.run("list", "--client", "db1", "--json").stdout)["backups"]
    assert listed and all(b["client"] == "db1" for b in listed)
    p = rx.run("list")
    assert "BACKUP" in p.stdout and "db1" in p.stdout


def test_serve_refuses_a_storage_it_did_not_make():
    """A storage directory that is gone, or a mount point whose disk is not
    mounted (no .partial/), is refused at start: backups are never written
    where the operator does not expect them."""
    rx.stop()
    aside = rx.storage + ".aside"
    os.rename(rx.storage, aside)
    try:
        p = rx.run("serve", "--listen", "127.0.0.1:0", check=False)
        assert p.returncode == 1, p.stderr
        assert p.stderr.splitlines()[-2:] == [
            f"mfb-server: error: the storage directory '{rx.storage}' is missing",
            "HINT: if it is on a disk of its own, mount it: backups are written only into the "
            "directory 'mfb-server init' made"], p.stderr
        os.mkdir(rx.storage)  # an empty mount point
        p = rx.run("serve", "--listen", "127.0.0.1:0", check=False)
        assert p.returncode == 1, p.stderr
        assert p.stderr.splitlines()[-2:] == [
            f"mfb-server: error: the uploads directory '{rx.storage}/.partial' is missing",
            "HINT: this is not the storage 'mfb-server init' made: if its disk is not mounted, "
            f"mount it; to start an empty storage there: mkdir -m 0700 '{rx.storage}/.partial'"
        ], p.stderr
        assert os.listdir(rx.storage) == []
        os.rmdir(rx.storage)
        with open(rx.storage, "w"):  # a file where the directory was
            pass
        p = rx.run("serve", "--listen", "127.0.0.1:0", check=False)
        assert p.returncode == 1, p.stderr
        assert p.stderr.splitlines()[-2:] == [
            f"mfb-server: error: the storage directory '{rx.storage}' is not a directory",
            "HINT: 'mfb-server init' made it a directory; something replaced it"], p.stderr
        os.unlink(rx.storage)
    finally:
        os.rename(aside, rx.storage)
    # a private key others may read: served, with a warning saying the fix
    key = os.path.join(os.path.dirname(rx.db), "mfb-server.key")
    os.chmod(key, 0o644)
    try:
        rx.start("--reserve", "0")
    finally:
        os.chmod(key, 0o600)
    assert (f'warn tls-key path="{key}" mode=0644 note=readable_by_others '
            f'hint="chmod 600 \'{key}\'"') in rx.log_text(), rx.log_text()
    assert rx.json("GET", "/v1/whoami", TOKEN)[0] == 200


def main():
    global rx, TOKEN, CS
    code = 0
    for kind in storage_kinds():
        rx = storage_receiver(kind, "retention-" + kind)
        try:
            rx.init()
            TOKEN = rx.add_client("db1")
            rx.start("--reserve", "0")
            probe = rx.open_upload(TOKEN, size=1, name="probe", chunk_size=MIB)
            CS = rx.chunk_size(probe, TOKEN)
            assert rx.request("DELETE", "/v1/uploads/" + probe, TOKEN)[0] == 204
            tests = []
            for fn in (test_keep_last_after_each_backup,
                       test_newest_never_deleted_and_default_policy, test_dry_run,
                       test_abandoned_uploads_expire, test_operator_commands,
                       test_serve_refuses_a_storage_it_did_not_make):
                def t(fn=fn):
                    fn()
                t.__name__ = "%s[%s]" % (fn.__name__, kind)
                tests.append(t)
            code |= run_tests(tests)
        finally:
            rx.cleanup()
    return code


if __name__ == "__main__":
    sys.exit(main())
