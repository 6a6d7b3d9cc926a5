"""server_s3_scaleout.py - two receivers on one bucket (docs/server.md,
"Several receivers on one bucket"), on a real Ceph RADOS Gateway: clients
exported from one and imported into the other use the same token on both; 8
clients push at once, each to both receivers with the same name at the same
time; every backup is stored once under a name of its own and verifies; each
receiver serves the backups the other published (on a miss, and by its
periodic listing); the catalogs are equal after `catalog rebuild`; retention
run on both at once deletes each old backup exactly once and never the newest;
a backup whose deletion is claimed is never adopted again while its objects
are still listed.

Skipped, with the reason, only when Ceph cannot start here and CI is not
set (CI=true: a failure).
"""
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import Receiver, pattern, run_tests, s3_available, sha256_hex  # noqa: E402

CLIENTS = ["c%d" % i for i in range(8)]
state = {}


def setup():
    from ceph import RGW
    rgw = RGW.shared()
    a = Receiver("scale-a", s3=rgw)
    b = Receiver("scale-b", s3=rgw, bucket=a.bucket)
    state.update(rgw=rgw, a=a, b=b, tokens={})
    a.init()
    b.init()
    for name in CLIENTS:
        state["tokens"][name] = a.add_client(name)
        out = os.path.join(a.dir, name + ".client")
        a.run("client", "export", name, "--output", out)
        assert os.stat(out).st_mode & 0o777 == 0o600
        with open(out) as f:
            text = f.read()
        assert state["tokens"][name] not in text  # only the hash travels
        b.run("client", "import", out)
        os.unlink(out)
    a.start("--sync-interval", "2s")
    b.start("--sync-interval", "2s")


def test_export_import_refusals():
    a, b = state["a"], state["b"]
    out = os.path.join(a.dir, "x.client")
    p = a.run("client", "export", "c0", check=False)
    assert p.returncode == 2 and "--output" in p.stderr, p.stderr
    a.run("client", "export", "c0", "--output", out)
    p = a.run("client", "export", "c0", "--output", out, check=False)
    assert p.returncode != 0 and "already exists" in p.stderr or "File exists" in p.stderr, p.stderr
    os.chmod(out, 0o644)
    p = b.run("client", "import", out, check=False)
    assert p.returncode != 0 and "chmod 600" in p.stderr, p.stderr
    os.unlink(out)


def test_same_token_on_both():
    for name in CLIENTS:
        for rx in (state["a"], state["b"]):
            status, j = rx.json("GET", "/v1/whoami", state["tokens"][name])
            assert status == 200 and j["client"] == name, (status, j)


def test_eight_clients_push_to_both_at_once():
    a, b, tokens = state["a"], state["b"], state["tokens"]
    jobs = []
    for i, name in enumerate(CLIENTS):
        for rx, seed in ((a, 100 + i), (b, 200 + i)):
            jobs.append((rx, name, pattern(3 << 20 if i % 2 else 9 << 20, seed=seed)))

    def push(job):
        rx, name, data = job
        j = rx.upload(tokens[name], data, instance="prod", name="db.zip")
        return name, j, sha256_hex(data), len(data)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(push, jobs))
    state["results"] = results
    rgw, bucket, prefix = state["rgw"], a.bucket, a.prefix
    keys = rgw.list(bucket, prefix)
    files = sorted(k for k in keys if k.endswith(".zip") and "/.claims/" not in k)
    assert len(files) == 16, files  # every backup once, none replaced
    for name, j, sha, size in results:
        data = rgw.get(bucket, prefix + j["path"])
        assert hashlib.sha256(data).hexdigest() == sha and len(data) == size, j
        side = rgw.get(bucket, prefix + j["path"] + ".sha256").decode()
        assert side.split()[0] == sha, side
        meta = json.loads(rgw.get(bucket, prefix + j["path"] + ".json"))
        assert meta["backup_id"] == j["backup_id"] and meta["client"] == name, meta
    for name in CLIENTS:
        paths = sorted(j["path"] for n, j, _, _ in results if n == name)
        assert [os.path.basename(p) for p in paths] == ["db-1.zip", "db.zip"], paths
    assert rgw.multipart_uploads(bucket) == []


def test_each_serves_the_others_backups():
    a, b, tokens = state["a"], state["b"], state["tokens"]
    # On a miss: the backup id is unknown here, the receiver lists the bucket.
    for name, j, sha, size in state["results"]:
        for rx in (a, b):
            status, h, body = rx.request("GET", "/v1/backups/%s/content" % j["backup_id"],
                                         tokens[name], headers={"Range": "bytes=0-99"})
            assert status == 206 and len(body) == 100, (rx.dir, status, j)
    # By the periodic listing: each lists both of its backups on both.
    deadline = time.time() + 60
    for name in CLIENTS:
        for rx in (a, b):
            while True:
                status, j = rx.json("GET", "/v1/backups", tokens[name])
                if len(j["backups"]) == 2 or time.time() > deadline:
                    break
                time.sleep(0.5)
            assert len(j["backups"]) == 2, (name, j)


def listing(rx):
    out = json.loads(rx.run("list", "--json").stdout)
    rows = out["backups"] if isinstance(out, dict) else out
    keep = ("backup_id", "client", "instance", "name", "path", "size", "sha256", "created")
    return sorted(tuple(r.get(k) for k in keep) for r in rows)


def test_catalogs_equal_after_rebuild():
    a, b = state["a"], state["b"]
    for rx in (a, b):
        r = json.loads(rx.run("catalog", "rebuild", "--json").stdout)
        assert r["listed"] == 16 and r["skipped"] == 0, r
    la, lb = listing(a), listing(b)
    assert len(la) == 16 and la == lb, (la, lb)
    # A new receiver with an empty catalog rebuilds the same from the bucket.
    c = Receiver("scale-c", s3=state["rgw"], bucket=a.bucket)
    try:
        c.init()
        r = json.loads(c.run("catalog", "rebuild", "--json").stdout)
        assert r["added"] == 16, r
        assert listing(c) == la
    finally:
        c.cleanup()


def test_retention_on_both_at_once():
    a, b, rgw = state["a"], state["b"], state["rgw"]
    for rx in (a, b):
        for name in CLIENTS:
            rx.run("retention", "set", "--client", name, "--keep-last", "1")
    # The newest: last published, and of two in the same second the higher
    # id (the order every receiver on a shared bucket ranks by).
    newest = {}
    for name in CLIENTS:
        status, j = a.json("GET", "/v1/backups", state["tokens"][name])
        assert len(j["backups"]) == 2, j
        newest[name] = max(j["backups"], key=lambda b: (b["created"], b["backup_id"]))
    server = os.environ.get("MFB_SERVER") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "mfb-server")
    procs = [subprocess.Popen([server, "retention", "apply"], env=dict(os.environ, MFB_DB=rx.db),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rx in (a, b)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    deleted = re.findall(r"retention deleted .*?backup=(b_[0-9a-f]+)", outs[0][1] + outs[1][1])
    assert len(deleted) == len(set(deleted)) == 8, outs  # each old backup once, by one receiver
    files = sorted(k for k in rgw.list(a.bucket, a.prefix)
                   if k.endswith(".zip") and "/.claims/" not in k)
    assert len(files) == 8, files
    for name, b_ in newest.items():
        assert b_["backup_id"] not in deleted
        assert a.prefix + b_["path"] in files, (name, b_)
    la, lb = listing(a), listing(b)
    assert la == lb and len(la) == 8, (la, lb)


def test_no_adoption_of_a_backup_being_deleted():
    # A receiver's listing can see a backup another receiver has claimed and
    # is deleting: its .zip and .json go last. Adopting it then would bring
    # back a record the other receivers have dropped (found by CI: a
    # periodic sync raced the retention above).
    a, rgw = state["a"], state["rgw"]
    victim = listing(a)[0][0]
    marker = a.prefix + ".deleted/" + victim
    rgw.put(a.bucket, marker, b"")
    c = Receiver("scale-c2", s3=rgw, bucket=a.bucket)
    try:
        c.init()
        p = c.run("catalog", "rebuild", "--json")
        r = json.loads(p.stdout)
        assert r["added"] == 7 and r["skipped"] == 1, (r, p.stderr)
        assert "backup=%s" % victim in p.stderr and "reason=being-deleted" in p.stderr, p.stderr
        assert victim not in [row[0] for row in listing(c)]
        status, _, body = rgw.request("DELETE", "/%s/%s" % (a.bucket, marker))
        assert status == 204, (status, body)
        r = json.loads(c.run("catalog", "rebuild", "--json").stdout)
        assert r["added"] == 1 and r["skipped"] == 0, r
        assert listing(c) == listing(a)
    finally:
        c.cleanup()


def main():
    started = time.time()
    if not s3_available():  # raises when CI=true
        return 0
    try:
        setup()
        code = run_tests([test_export_import_refusals, test_same_token_on_both,
                          test_eight_clients_push_to_both_at_once,
                          test_each_serves_the_others_backups, test_catalogs_equal_after_rebuild,
                          test_retention_on_both_at_once,
                          test_no_adoption_of_a_backup_being_deleted])
    finally:
        for key in ("a", "b"):
            if key in state:
                state[key].cleanup()
    print("server_s3_scaleout: %.1fs in all" % (time.time() - started))
    return code


if __name__ == "__main__":
    sys.exit(main())
