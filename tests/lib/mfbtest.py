"""mfbtest.py - what every Python integration test shares: where the binaries
are, a per-test temporary directory that is always removed, running mfb, and
a main() that prints each test and exits non-zero on failure.

CTest sets MFB, MFB_SERVER, MFB_SOURCE_DIR, MFB_TEST_LIB and MFB_TEST_TMP
(tests/CMakeLists.txt); run by hand, the defaults point into build/ so
`python3 tests/integration/archive_roundtrip.py` works from a built tree.
MFB_SANITIZED is set under ASan/UBSan so heavy tests can pick smaller inputs.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import zipfile

LIB_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("MFB_SOURCE_DIR") or os.path.dirname(os.path.dirname(LIB_DIR))
MFB = os.environ.get("MFB") or os.path.join(SOURCE_DIR, "build", "mfb")
MFB_SERVER = os.environ.get("MFB_SERVER") or os.path.join(SOURCE_DIR, "build", "mfb-server")
SANITIZED = os.environ.get("MFB_SANITIZED", "").upper() not in ("", "0", "OFF", "FALSE", "NO")
IS_ROOT = os.geteuid() == 0

# Readers and mfb print UTF-8 names; make every child agree on the locale.
UTF8_ENV = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")


def tmp_parent():
    """$MFB_TEST_TMP (created if missing), else the system temp directory."""
    parent = os.environ.get("MFB_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(parent, exist_ok=True)
    # Tests that run a server as another account (restore_3am.py) need to
    # pass through it: whoever made it first (a unit test, a 077 umask) may
    # have left it 0700.
    st = os.stat(parent)
    if st.st_uid == os.geteuid() and st.st_mode & 0o011 != 0o011:
        os.chmod(parent, (st.st_mode & 0o7777) | 0o711)
    return parent


def rmtree(path):
    """shutil.rmtree that also gets through directories without write or
    search permission (tests make such trees on purpose)."""
    def fix(func, p, exc):
        parent = os.path.dirname(p)
        for d in (parent, p):
            try:
                if not os.path.islink(d):
                    os.chmod(d, stat.S_IRWXU)
            except OSError:
                pass
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, onerror=fix)
        elif os.path.lexists(p):
            os.unlink(p)
    if os.path.lexists(path):
        shutil.rmtree(path, onerror=fix)


def run(argv, *, expect=None, env=None, input=None, timeout=600, cwd=None):
    """Runs argv, returns CompletedProcess (text, utf-8). expect=N asserts the
    exit code and shows stdout/stderr when it differs."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or UTF8_ENV,
                       input=input, timeout=timeout, cwd=cwd, text=True, errors="replace")
    if expect is not None and r.returncode != expect:
        raise AssertionError(
            f"{' '.join(map(str, argv))}: exit {r.returncode}, expected {expect}\n"
            f"--- stdout ---\n{r.stdout[-3000:]}\n--- stderr ---\n{r.stderr[-3000:]}")
    return r


def mfb(*args, expect=0, **kw):
    """Runs the mfb binary under test: mfb('archive', 'test', path)."""
    return run([MFB, *map(str, args)], expect=expect, **kw)


class TempDirTestCase(unittest.TestCase):
    """A test case with self.tmp, a fresh directory removed after each test
    whatever happens (addCleanup runs even when setUp or the test fails)."""

    def setUp(self):
        name = self.id().rsplit(".", 1)[-1][:40]
        self.tmp = tempfile.mkdtemp(prefix=f"mfb-{name}-", dir=tmp_parent())
        self.addCleanup(rmtree, self.tmp)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)


class SharedTempDirTestCase(unittest.TestCase):
    """Like TempDirTestCase, but one directory (cls.tmp) for the whole class,
    for tests that share an expensive fixture built in prepare(cls)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=f"mfb-{cls.__name__[:40]}-", dir=tmp_parent())
        cls.addClassCleanup(rmtree, cls.tmp)
        cls.prepare()

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def path(cls, *parts):
        return os.path.join(cls.tmp, *parts)


def main():
    """unittest.main with verbose output; the exit code says pass or fail."""
    sys.stdout.reconfigure(line_buffering=True)
    unittest.main(verbosity=2, buffer=False)


# -- the archive command -------------------------------------------------------

MANIFEST = "mfb-manifest.json"


def archive_create(src, out, *opts, expect=0, **kw):
    """mfb archive create SRC OUT [opts]; asserts the exit code."""
    return mfb("archive", "create", src, out, *opts, expect=expect, **kw)


def archive_list_json(path):
    """`mfb archive list --json`, as a list of entry dicts with a 'name' key
    (accepts a bare list or an object holding 'entries')."""
    out = json.loads(mfb("archive", "list", path, "--json").stdout)
    entries = out if isinstance(out, list) else out.get("entries", out.get("files"))
    for e in entries:
        e.setdefault("name", e.get("path"))
    return entries


def read_manifest(path):
    """The parsed mfb-manifest.json; asserts it is the last entry."""
    with zipfile.ZipFile(path) as z:
        last = z.infolist()[-1].filename
        if last != MANIFEST:
            raise AssertionError(f"last entry is {last!r}, expected {MANIFEST}")
        return json.loads(z.read(MANIFEST))


def assert_manifest_matches(path):
    """Every regular file in the archive is in the manifest with its size and
    CRC-32 (a number, or a hex string), and the manifest names nothing the
    archive lacks."""
    m = read_manifest(path)
    if not isinstance(m.get("files"), list) or not isinstance(m.get("metadata"), dict):
        raise AssertionError(f"manifest lacks 'files' list or 'metadata' object: {list(m)}")
    listed = {f["path"]: f for f in m["files"]}
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist() if i.filename != MANIFEST}
    for name, f in listed.items():
        zi = infos.get(name) or infos.get(name + "/")
        if zi is None:
            raise AssertionError(f"manifest lists {name!r}, which the archive lacks")
        crc = f["crc32"] if isinstance(f["crc32"], int) else int(f["crc32"], 16)
        if not zi.is_dir() and (f["size"], crc) != (zi.file_size, zi.CRC):
            raise AssertionError(f"manifest says {name!r} has size {f['size']} crc32 "
                                 f"{f['crc32']}, archive says {zi.file_size} {zi.CRC}")
    for name, zi in infos.items():
        regular = stat.S_ISREG(zi.external_attr >> 16) or (zi.external_attr >> 16) == 0
        if regular and not zi.is_dir() and name not in listed:
            raise AssertionError(f"{name!r} is in the archive but not in the manifest")
    return m
