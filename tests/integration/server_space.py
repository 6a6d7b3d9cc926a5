"""server_space.py - free space on a real, small file system (a tmpfs of
eight chunks, or a loop-mounted ext2 image when tmpfs cannot be mounted),
for each storage driver: the storage directory of the file driver, the
staging directory of S3 (which holds every upload in progress whole,
docs/server.md "S3 storage"). An upload too large for the room left is
refused with 507 at creation; a disk that fills during a chunk write
answers 507, keeps every chunk stored so far, and the upload resumes and
completes once space is freed.

MFB_TEST_STORAGE=file or =s3 runs one driver only (server_testlib.py).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import (MIB, pattern, run_tests, sha256_hex, storage_kinds,  # noqa: E402
                            storage_receiver)


class Env:
    """A receiver whose uploads arrive on a small file system of its own."""

    def __init__(self, kind):
        self.kind = kind
        # The S3 driver's chunks are parts of at least 5 MiB: 8 MiB.
        self.cs = MIB if kind == "file" else 8 * MIB
        self.rx = storage_receiver(kind, "space-" + kind)
        self.mnt = os.path.join(self.rx.dir, "mnt")
        self.mounted = False
        self.token = None

    def mount_small_fs(self):
        """Mounts a file system of 8 chunks at mnt; returns a description or None."""
        os.makedirs(self.mnt, exist_ok=True)
        size = 8 * self.cs
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % size, "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if p.returncode == 0:
            self.mounted = True
            return "tmpfs"
        image = os.path.join(self.rx.dir, "fs.img")
        with open(image, "wb") as f:
            f.truncate(size)
        mk = subprocess.run(["mkfs.ext2", "-q", "-F", "-m", "0", image], capture_output=True)
        lp = subprocess.run(["mount", "-o", "loop", image, self.mnt], capture_output=True,
                            text=True)
        if mk.returncode == 0 and lp.returncode == 0:
            self.mounted = True
            return "loop ext2"
        print("SKIP: cannot mount tmpfs (%s) nor a loop file system (%s)"
              % (p.stderr.strip(), lp.stderr.strip()))
        return None

    def start(self):
        where = os.path.join(self.mnt, "store")
        if self.kind == "file":
            self.rx.storage = where
        else:
            self.rx.staging = where
        self.rx.init()
        self.token = self.rx.add_client("db1")
        self.rx.start("--reserve", "0")

    def cleanup(self):
        try:
            self.rx.stop()
        finally:
            if self.mounted:
                subprocess.run(["umount", self.mnt])
            self.rx.cleanup()

    def free_bytes(self):
        st = os.statvfs(self.mnt)
        return st.f_bavail * st.f_frsize


def refused_at_creation(e):
    rx, cs, tok = e.rx, e.cs, e.token
    status, j = rx.json("POST", "/v1/uploads", tok,
                        {"instance": "p", "name": "big.zip", "size": 20 * cs, "chunk_size": cs})
    assert status == 507 and j["error"] == "insufficient_storage", (status, j)
    assert "not enough space" in j["message"]
    # Open uploads count against the room: two 4-chunk uploads do not both fit.
    uid = rx.open_upload(tok, size=4 * cs, name="first.zip", chunk_size=cs)
    status, j = rx.json("POST", "/v1/uploads", tok,
                        {"instance": "p", "name": "second.zip", "size": 5 * cs,
                         "chunk_size": cs})
    assert status == 507, (status, j)
    assert rx.json("DELETE", "/v1/uploads/" + uid, tok)[0] == 204


def disk_full_during_write_then_resume(e):
    rx, cs, tok = e.rx, e.cs, e.token
    data = pattern(4 * cs, seed=31)
    uid = rx.open_upload(tok, size=len(data), name="full.zip", chunk_size=cs)
    assert rx.chunk_size(uid, tok) == cs
    assert rx.put_chunk(tok, uid, 0, data[:cs])[0] == 201
    # Something else fills the disk, leaving less than a chunk.
    filler = os.path.join(e.mnt, "filler")
    with open(filler, "wb") as f:
        room = e.free_bytes()
        f.write(b"\0" * max(room - cs // 2, 0))
    status, j = rx.put_chunk(tok, uid, 1, data[cs:2 * cs])
    assert status == 507 and j["error"] == "insufficient_storage", (status, j)
    assert "disk is full" in j["message"], j
    status, j = rx.json("GET", "/v1/uploads/" + uid, tok)
    assert [c["index"] for c in j["chunks"]] == [0], j
    assert rx.healthy()
    os.unlink(filler)
    for i in (1, 2, 3):
        status, j = rx.put_chunk(tok, uid, i, data[i * cs:(i + 1) * cs])
        assert status == 201, (i, status, j)
    status, j = rx.complete(tok, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    assert rx.published(j["path"]) == data


def main():
    code = 0
    for kind in storage_kinds():
        e = Env(kind)
        try:
            fs = e.mount_small_fs()
            if fs is None:
                return 0
            print("[%s] small file system: %s at %s" % (kind, fs, e.mnt), flush=True)
            e.start()
            tests = []
            for fn in (refused_at_creation, disk_full_during_write_then_resume):
                def t(fn=fn):
                    fn(e)
                t.__name__ = "%s[%s]" % (fn.__name__, kind)
                tests.append(t)
            code |= run_tests(tests)
        finally:
            e.cleanup()
    return code


if __name__ == "__main__":
    sys.exit(main())
