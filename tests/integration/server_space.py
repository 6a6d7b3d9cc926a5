"""server_space.py - free space on a real, small file system (an 8 MiB
tmpfs, or a loop-mounted ext2 image when tmpfs cannot be mounted): an upload
too large for the room left is refused with 507 at creation; a disk that
fills during a chunk write answers 507, keeps every chunk stored so far,
and the upload resumes and completes once space is freed.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or os.path.join(os.path.dirname(__file__), "..", "lib"))
from server_testlib import MIB, Receiver, pattern, run_tests, sha256_hex  # noqa: E402

rx = Receiver("space")
MNT = os.path.join(rx.dir, "mnt")
mounted = False
TOKEN = None


def mount_small_fs():
    """Mounts an 8 MiB file system at MNT; returns a description or None."""
    global mounted
    os.makedirs(MNT, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", MNT],
                       capture_output=True, text=True)
    if p.returncode == 0:
        mounted = True
        return "tmpfs"
    image = os.path.join(rx.dir, "fs.img")
    with open(image, "wb") as f:
        f.truncate(8 * MIB)
    mk = subprocess.run(["mkfs.ext2", "-q", "-F", "-m", "0", image], capture_output=True)
    lp = subprocess.run(["mount", "-o", "loop", image, MNT], capture_output=True, text=True)
    if mk.returncode == 0 and lp.returncode == 0:
        mounted = True
        return "loop ext2"
    print("SKIP: cannot mount tmpfs (%s) nor a loop file system (%s)"
          % (p.stderr.strip(), lp.stderr.strip()))
    return None


def free_bytes():
    st = os.statvfs(MNT)
    return st.f_bavail * st.f_frsize


def test_refused_at_creation():
    status, j = rx.json("POST", "/v1/uploads", TOKEN,
                        {"instance": "p", "name": "big.zip", "size": 20 * MIB, "chunk_size": MIB})
    assert status == 507 and j["error"] == "insufficient_storage", (status, j)
    assert "not enough space" in j["message"]
    # Open uploads count against the room: two 4 MiB uploads do not both fit.
    uid = rx.open_upload(TOKEN, size=4 * MIB, name="first.zip")
    status, j = rx.json("POST", "/v1/uploads", TOKEN,
                        {"instance": "p", "name": "second.zip", "size": 5 * MIB,
                         "chunk_size": MIB})
    assert status == 507, (status, j)
    assert rx.json("DELETE", "/v1/uploads/" + uid, TOKEN)[0] == 204


def test_disk_full_during_write_then_resume():
    data = pattern(4 * MIB, seed=31)
    uid = rx.open_upload(TOKEN, size=len(data), name="full.zip")
    assert rx.put_chunk(TOKEN, uid, 0, data[:MIB])[0] == 201
    # Something else fills the disk, leaving less than a chunk.
    filler = os.path.join(MNT, "filler")
    with open(filler, "wb") as f:
        room = free_bytes()
        f.write(b"\0" * max(room - MIB // 2, 0))
    status, j = rx.put_chunk(TOKEN, uid, 1, data[MIB:2 * MIB])
    assert status == 507 and j["error"] == "insufficient_storage", (status, j)
    assert "disk is full" in j["message"], j
    status, j = rx.json("GET", "/v1/uploads/" + uid, TOKEN)
    assert [c["index"] for c in j["chunks"]] == [0], j
    assert rx.healthy()
    os.unlink(filler)
    for i in (1, 2, 3):
        status, j = rx.put_chunk(TOKEN, uid, i, data[i * MIB:(i + 1) * MIB])
        assert status == 201, (i, status, j)
    status, j = rx.complete(TOKEN, uid, len(data), sha256_hex(data))
    assert status == 201, (status, j)
    with open(os.path.join(rx.storage, j["path"]), "rb") as f:
        assert f.read() == data


def main():
    global TOKEN
    try:
        kind = mount_small_fs()
        if kind is None:
            return 0
        print("small file system: %s at %s" % (kind, MNT))
        rx.storage = os.path.join(MNT, "store")
        rx.init()
        TOKEN = rx.add_client("db1")
        rx.start("--reserve", "0")
        return run_tests([test_refused_at_creation, test_disk_full_during_write_then_resume])
    finally:
        rx.stop()
        if mounted:
            subprocess.run(["umount", MNT])
        rx.cleanup()


if __name__ == "__main__":
    sys.exit(main())
