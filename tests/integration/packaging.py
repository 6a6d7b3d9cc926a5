"""packaging.py - the systemd units pass `systemd-analyze verify`, and
`make install` lays out the programs, the units and /var/lib/mfb with the
right modes, honouring PREFIX and DESTDIR; the installed programs run.

The units are verified offline (no systemd as PID 1 is needed): verify
checks that ExecStart's program exists, so they are installed with a PREFIX
inside the test's directory, which `make install` writes into ExecStart.
verify reports a bad setting as a warning and still exits 0, so any output
at all fails the test. Building and installing the .deb packages takes
minutes and runs once in CI instead (scripts/check-packages; docs/install.md).
"""

import os
import re
import shutil
import stat
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402

SRC = mfbtest.SOURCE_DIR
UNITS = os.path.join(SRC, "packaging", "systemd")
BUILDDIR = os.path.dirname(os.path.abspath(mfbtest.MFB))


def cmake_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"^project\(mfb VERSION ([0-9.]+)", f.read(), re.M).group(1)


def make_install(**variables):
    """`make install VAR=value ...` from the source tree, with the programs
    of the build under test."""
    args = [f"{k}={v}" for k, v in {"BUILDDIR": BUILDDIR, **variables}.items()]
    return mfbtest.run(["make", "-s", "-C", SRC, "install", *args], expect=0)


def tree(root):
    """{relative path: octal mode} of everything under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            out[os.path.relpath(p, root)] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def unit_settings(path):
    """[(key, value)] of a unit file, in order (a key may repeat)."""
    settings = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")):
                key, _, value = line.partition("=")
                settings.append((key, value))
    return settings


class Units(mfbtest.TempDirTestCase):
    def test_both_units_pass_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed (package systemd)")
        prefix = self.path("usr")
        make_install(PREFIX=prefix, STATEDIR=self.path("state"))
        unitdir = os.path.join(prefix, "lib", "systemd", "system")
        for unit in ("mfb.service", "mfb-server.service"):
            with self.subTest(unit=unit):
                r = mfbtest.run([analyze, "verify", os.path.join(unitdir, unit)], cwd=self.tmp)
                self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_a_broken_setting_is_caught(self):
        # Proves the check above can fail: verify only warns on a bad value.
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed (package systemd)")
        prefix = self.path("usr")
        make_install(PREFIX=prefix, STATEDIR=self.path("state"))
        unit = os.path.join(prefix, "lib", "systemd", "system", "mfb.service")
        with open(unit) as f:
            text = f.read()
        with open(unit, "w") as f:
            f.write(text.replace("KillMode=process", "KillMode=sometimes"))
        r = mfbtest.run([analyze, "verify", unit], cwd=self.tmp)
        self.assertIn("sometimes", r.stdout + r.stderr)

    def test_the_units_say_what_docs_install_md_promises(self):
        mfb = unit_settings(os.path.join(UNITS, "mfb.service"))
        server = unit_settings(os.path.join(UNITS, "mfb-server.service"))
        self.assertIn(("ExecStart", "/usr/bin/mfb daemon $MFB_OPTS"), mfb)
        # the daemon sends READY=1 and pings the watchdog (daemon/notify.c)
        self.assertIn(("Type", "notify"), mfb)
        self.assertIn("WatchdogSec", {k for k, _ in mfb})
        self.assertIn(("ExecStart", "/usr/bin/mfb-server serve $MFB_SERVER_OPTS"), server)
        self.assertIn(("User", "mfb-server"), server)
        self.assertIn(("Environment", "MFB_DB=/var/lib/mfb-server/mfb-server.db"), server)
        self.assertIn(("ReadWritePaths", "/var/lib/mfb-server"), server)
        self.assertIn(("ReadWritePaths", "/var/lib/mfb"), mfb)
        for settings in (mfb, server):
            keys = {k for k, _ in settings}
            # a backup stops the database: a Requires= would stop mfb too
            self.assertFalse(keys & {"Requires", "BindsTo", "PartOf", "Requisite"})
            self.assertIn(("NoNewPrivileges", "yes"), settings)
            self.assertIn(("WantedBy", "multi-user.target"), settings)
        # mfb runs as root (it stops and starts the database) and must see
        # a socket in /tmp, MySQL's default place for it
        self.assertNotIn("User", {k for k, _ in mfb})
        self.assertNotIn("PrivateTmp", {k for k, _ in mfb})
        self.assertIn(("ProtectSystem", "full"), mfb)
        self.assertIn(("ProtectSystem", "strict"), server)


class Install(mfbtest.TempDirTestCase):
    def check_programs_run(self, bindir):
        version = cmake_version()
        for program, name in (("mfb", "mfb"), ("mfb-server", "mfb-server")):
            r = mfbtest.run([os.path.join(bindir, program), "--version"], expect=0)
            self.assertEqual(r.stdout.strip(), f"{name} {version}")

    def test_prefix_usr_with_destdir(self):
        root = self.path("root")
        make_install(DESTDIR=root, PREFIX="/usr")
        files = tree(root)
        expected = {
            "usr/bin/mfb": 0o755,
            "usr/bin/mfb-server": 0o755,
            "lib/systemd/system/mfb.service": 0o644,
            "lib/systemd/system/mfb-server.service": 0o644,
            "var/lib/mfb": 0o700,
        }
        self.assertEqual({p: files.get(p) for p in expected}, expected)
        # nothing else but the directories leading there
        self.assertEqual(sorted(set(files) - set(expected)),
                         ["lib", "lib/systemd", "lib/systemd/system", "usr", "usr/bin", "var", "var/lib"])
        for unit in ("mfb.service", "mfb-server.service"):
            with open(os.path.join(UNITS, unit)) as a, \
                 open(os.path.join(root, "lib/systemd/system", unit)) as b:
                self.assertEqual(b.read(), a.read(), unit)
        self.check_programs_run(os.path.join(root, "usr/bin"))

    def test_default_prefix_is_usr_local_and_written_into_the_units(self):
        root = self.path("root")
        make_install(DESTDIR=root)
        unitdir = os.path.join(root, "usr/local/lib/systemd/system")
        self.assertEqual(sorted(os.listdir(unitdir)), ["mfb-server.service", "mfb.service"])
        self.assertIn(("ExecStart", "/usr/local/bin/mfb daemon $MFB_OPTS"),
                      unit_settings(os.path.join(unitdir, "mfb.service")))
        self.assertIn(("ExecStart", "/usr/local/bin/mfb-server serve $MFB_SERVER_OPTS"),
                      unit_settings(os.path.join(unitdir, "mfb-server.service")))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(root, "var/lib/mfb")).st_mode), 0o700)
        self.check_programs_run(os.path.join(root, "usr/local/bin"))

    def test_debian_changelog_carries_the_cmake_version(self):
        # `make deb` refuses otherwise; caught here, in every make check
        with open(os.path.join(SRC, "debian", "changelog")) as f:
            first = f.readline()
        self.assertEqual(first.split()[:2], ["mfb", f"({cmake_version()})"])


if __name__ == "__main__":
    mfbtest.main()
