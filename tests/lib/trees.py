"""trees.py - builds the source trees the archive tests feed to mfb.

make_sample_tree() is a small tree with every kind of thing an archive must
carry: plain, empty, executable and private files; names with spaces and
non-ASCII characters; empty and nested empty directories; directories with
unusual modes; relative, absolute and dangling symlinks; other owners (when
root); fixed, distinct mtimes; and a file of several deflate blocks whose
content is compressible but not trivial. It returns the archive names it
expects (directories with a trailing '/').

make_many_files() makes n small files spread over subdirectories, quickly.

Content is generated from a seeded PRNG, so every run sees the same bytes
(determinism tests depend on that), without shipping fixtures.
"""

import functools
import os
import random

BASE_MTIME = 1_600_000_000  # 2020-09-13; whole seconds (ZIP's resolution)

# (relative path, content bytes or None for a directory, mode)
_FILES = [
    ("plain.txt", b"hello, archive\n" * 20, 0o644),
    ("empty", b"", 0o644),
    ("script.sh", b"#!/bin/sh\necho hi\n", 0o755),
    ("secret.key", b"not really a key\n", 0o600),
    ("with space/file name.txt", b"spaces in both names\n", 0o644),
    ("naïve café/résumé.txt", "non-ASCII: ü ß é ñ\n".encode(), 0o644),
    ("日本語/ファイル.txt", "日本語のテキスト\n".encode(), 0o640),
    ("emoji 🎉 dir/party 🎉.txt", "🎉\n".encode(), 0o644),
    ("deep/a/b/c/d/leaf.txt", b"deep leaf\n", 0o444),
    ("private dir/inside.txt", b"inside a 0700 directory\n", 0o600),
]
_EMPTY_DIRS = ["empty dir", "nested empty/level1/level2", "deep/a/b/empty"]
_DIR_MODES = {"private dir": 0o700, "naïve café": 0o750, "deep/a/b/c": 0o711}
_SYMLINKS = [
    ("link to file", "plain.txt"),
    ("link-to-dir", "with space"),
    ("deep/a/up-link", "../../plain.txt"),
    ("dangling", "does/not/exist"),
    ("absolute-link", "/nonexistent/absolute/target"),
    ("naïve café/ссылка", "résumé.txt"),
]
BIG_NAME = "data/big.ibd"
BIG_SIZE = 3 * 1024 * 1024 + 12345  # several blocks, not a multiple of any


def pseudo_text(size, seed):
    """Compressible, non-repeating bytes: words drawn from a small vocabulary."""
    rnd = random.Random(seed)
    words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
             for _ in range(400)]
    out, n = [], 0
    while n < size:
        w = rnd.choice(words) + (b"\n" if rnd.random() < 0.1 else b" ")
        out.append(w)
        n += len(w)
    return b"".join(out)[:size]


@functools.lru_cache(maxsize=4)
def pseudo_binary(size, seed):
    """Bytes that look like database pages: runs of zeros, counters, text."""
    rnd = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        kind = rnd.random()
        if kind < 0.3:
            out += bytes(rnd.randint(16, 2048))
        elif kind < 0.6:
            start = rnd.randint(0, 1 << 30)
            out += b"".join((start + i).to_bytes(4, "little") for i in range(rnd.randint(8, 256)))
        elif kind < 0.9:
            out += pseudo_text(rnd.randint(64, 4096), rnd.random())
        else:
            out += rnd.randbytes(rnd.randint(16, 512))
    return bytes(out[:size])


def _write(path, data, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def make_sample_tree(root, big=True, owners=None, symlinks=True):
    """Fills root (created if missing); returns the expected archive names.
    symlinks=False leaves the symbolic links out, for writers that cannot
    store them in every mode (Info-ZIP's zip cannot stream them to a pipe)."""
    os.makedirs(root, exist_ok=True)
    names = set()
    files = list(_FILES)
    if big:
        files.append((BIG_NAME, pseudo_binary(BIG_SIZE, 7), 0o660))
    for rel, data, mode in files:
        _write(os.path.join(root, rel), data, mode)
        names.add(rel)
    for rel in _EMPTY_DIRS:
        os.makedirs(os.path.join(root, rel), exist_ok=True)
    for rel, target in _SYMLINKS if symlinks else []:
        os.symlink(target, os.path.join(root, rel))
        names.add(rel)
    if owners is None:
        owners = os.geteuid() == 0
    if owners:
        os.chown(os.path.join(root, "secret.key"), 1234, 5678)
        os.chown(os.path.join(root, "private dir"), 4321, 8765)
        if symlinks:
            os.lchown(os.path.join(root, "link to file"), 1234, 5678)
    # Every directory gets a name; then mtimes bottom-up (writing inside a
    # directory changes its mtime), distinct per path so mix-ups show.
    walked = sorted(os.walk(root), key=lambda t: -t[0].count(os.sep))
    i = 0
    for dirpath, dirnames, filenames in walked:
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir != ".":
            names.add(rel_dir + "/")
        for name in sorted(filenames + dirnames):
            full = os.path.join(dirpath, name)
            i += 1
            os.utime(full, (BASE_MTIME + i, BASE_MTIME + 1000 * i), follow_symlinks=False)
        if rel_dir != ".":
            i += 1
            os.utime(dirpath, (BASE_MTIME, BASE_MTIME + 1000 * i))
    for rel, mode in _DIR_MODES.items():
        os.chmod(os.path.join(root, rel), mode)
    return sorted(names)


def make_many_files(root, count, per_dir=1000):
    """count small files in count/per_dir directories; returns the archive
    names (directories with '/')."""
    names = []
    for i in range(count):
        d = f"d{i // per_dir:03d}"
        if i % per_dir == 0:
            os.makedirs(os.path.join(root, d))
            names.append(d + "/")
        rel = f"{d}/f{i:05d}.txt"
        with open(os.path.join(root, rel), "wb") as f:
            f.write(b"file %d\n" % i)
        names.append(rel)
    return names
