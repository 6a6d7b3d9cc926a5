"""harness_ceph.py - the throwaway Ceph of tests/lib/ceph.py never outlives
its test, and never hides a missing S3 in CI (docs/testing.md, "A throwaway
S3"): a test process stopped with SIGTERM stops its cluster; one killed
with SIGKILL leaves it running, and `ceph.py --sweep` (what .ci/run does at
the end, and what the next test process does first) stops it; a Ceph that
cannot run makes storage_kinds() skip S3 with the reason outside CI, and
fail with CI=true.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LIB = os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib")
sys.path.insert(0, LIB)
from ceph import ceph_unavailable  # noqa: E402
from server_testlib import run_tests, test_tmp  # noqa: E402

# A child test process: starts a cluster, prints its directory, waits.
CHILD = """
import sys, time
sys.path.insert(0, %r)
from ceph import RGW
rgw = RGW()
print(rgw.cluster, flush=True)
time.sleep(600)
"""

# A child that asks for the storage kinds, as server_storage.py does.
KINDS = """
import sys
sys.path.insert(0, %r)
from server_testlib import storage_kinds
print("kinds=%%s" %% ",".join(storage_kinds()), flush=True)
"""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours is gone for this purpose
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def start_child(parent):
    env = dict(os.environ, MFB_TEST_TMP=parent)
    p = subprocess.Popen([sys.executable, "-c", CHILD % LIB], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return p


def daemon_pids(cluster):
    pids = []
    for n in ("rgw", "osd", "mon"):
        with open(os.path.join(cluster, n + ".pid")) as f:
            pids.append(int(f.read()))
    return pids


def wait_gone(pids, what):
    deadline = time.time() + 120
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    assert not any(alive(p) for p in pids), "%s: Ceph daemons still running: %s" % (
        what, [p for p in pids if alive(p)])


def test_sigterm_and_sigkill_never_leave_ceph_running():
    if ceph_unavailable():
        print("SKIP: %s" % ceph_unavailable())
        return
    base = tempfile.mkdtemp(prefix="harness-ceph-", dir=test_tmp())
    term_dir, kill_dir = os.path.join(base, "term"), os.path.join(base, "kill")
    os.makedirs(term_dir)
    os.makedirs(kill_dir)
    # Both clusters start at once: the test waits for one start, not two.
    term, killed = start_child(term_dir), start_child(kill_dir)
    try:
        clusters = []
        for p in (term, killed):
            line = p.stdout.readline().strip()
            assert line, "the child did not start Ceph: " + p.stderr.read()[-2000:]
            clusters.append(line)
        pids = [daemon_pids(c) for c in clusters]
        assert all(alive(p) for p in pids[0] + pids[1])
        failures = []
        # SIGKILL: nothing runs in the test process; the cluster stays ...
        killed.kill()
        killed.wait()
        assert all(alive(p) for p in pids[1]), "expected the cluster to outlive SIGKILL"
        # ... until a sweep stops it, as .ci/run does at the end.
        out = subprocess.run([sys.executable, os.path.join(LIB, "ceph.py"), "--sweep", kill_dir],
                             capture_output=True, text=True, timeout=300)
        try:
            assert out.returncode == 0 and "stopped 1 cluster" in out.stdout, (out.stdout,
                                                                              out.stderr)
            wait_gone(pids[1], "after the sweep")
            assert os.listdir(kill_dir) == [], os.listdir(kill_dir)
        except AssertionError as e:
            failures.append(str(e))
        # SIGTERM: the test process exits normally and stops its cluster.
        term.send_signal(signal.SIGTERM)
        term.wait(timeout=180)
        try:
            wait_gone(pids[0], "after SIGTERM")
            assert not os.path.exists(clusters[0]), os.listdir(term_dir)
        except AssertionError as e:
            failures.append(str(e))
        assert not failures, failures
    finally:
        for p in (term, killed):
            if p.poll() is None:
                p.kill()
                p.wait()
        for d in (term_dir, kill_dir):
            subprocess.run([sys.executable, os.path.join(LIB, "ceph.py"), "--sweep", d],
                           capture_output=True, timeout=300)
        shutil.rmtree(base, ignore_errors=True)


def test_missing_ceph_skips_outside_ci_and_fails_in_ci():
    # A PATH without Ceph's programs: only python3 is reachable.
    bin_dir = tempfile.mkdtemp(prefix="harness-ceph-path-", dir=test_tmp())
    try:
        os.symlink(sys.executable, os.path.join(bin_dir, "python3"))
        env = dict(os.environ, PATH=bin_dir, MFB_TEST_TMP=bin_dir)
        env.pop("MFB_TEST_STORAGE", None)
        env.pop("CI", None)
        p = subprocess.run([sys.executable, "-c", KINDS % LIB], env=env, capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "SKIP s3: Ceph is not installed" in p.stdout and "kinds=file\n" in p.stdout, \
            p.stdout
        env["CI"] = "true"
        p = subprocess.run([sys.executable, "-c", KINDS % LIB], env=env, capture_output=True,
                           text=True, timeout=60)
        assert p.returncode != 0 and "kinds=" not in p.stdout, (p.stdout, p.stderr)
        assert "CI=true and the S3 tests cannot run: Ceph is not installed" in p.stderr, p.stderr
    finally:
        shutil.rmtree(bin_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run_tests([test_missing_ceph_skips_outside_ci_and_fails_in_ci,
                        test_sigterm_and_sigkill_never_leave_ceph_running]))
