"""treecmp.py - compares two directory trees the way a restore must match its
source: the set of paths, each path's type, content, permission bits, mtime,
owner, and symlink targets; empty directories count.

snapshot() reduces a tree to {relative path: Entry}; diff_trees() lists the
differences in words; assert_same_tree() raises with the first ones. Content
is compared through SHA-256 so huge trees need not fit in memory.

Trade-offs: mtimes are compared in whole seconds (ZIP's extended timestamp
holds seconds); symlink mtimes and owners are skipped by default (lutimes
and lchown are optional niceties, and many tools skip them); owners only
when running as root, since only root can restore them.
"""

import hashlib
import os
import stat
from collections import namedtuple

Entry = namedtuple("Entry", "kind mode uid gid mtime size digest target")


def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _kind(st):
    m = st.st_mode
    if stat.S_ISREG(m):
        return "file"
    if stat.S_ISDIR(m):
        return "dir"
    if stat.S_ISLNK(m):
        return "symlink"
    if stat.S_ISFIFO(m):
        return "fifo"
    if stat.S_ISSOCK(m):
        return "socket"
    return "other"


def snapshot(root, ignore=()):
    """{path relative to root ('' excluded): Entry}; ignore = relative paths to leave out
    (with everything below them)."""
    out = {}
    ignore = set(ignore)
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(dirnames + filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel in ignore:
                if name in dirnames:
                    dirnames.remove(name)
                continue
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            kind = _kind(st)
            digest = _digest(full) if kind == "file" else None
            target = os.readlink(full) if kind == "symlink" else None
            out[rel] = Entry(kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                             int(st.st_mtime), st.st_size if kind == "file" else None,
                             digest, target)
    return out


def diff_snapshots(a, b, *, mtime=True, owner=None, dir_mtime=True, symlink_meta=False):
    """Differences between snapshots a (expected) and b (actual), as strings."""
    if owner is None:
        owner = os.geteuid() == 0
    diffs = []
    for p in sorted(set(a) - set(b)):
        diffs.append(f"missing: {p} ({a[p].kind})")
    for p in sorted(set(b) - set(a)):
        diffs.append(f"unexpected: {p} ({b[p].kind})")
    for p in sorted(set(a) & set(b)):
        x, y = a[p], b[p]
        if x.kind != y.kind:
            diffs.append(f"{p}: is a {y.kind}, expected a {x.kind}")
            continue
        if x.kind == "file" and (x.size, x.digest) != (y.size, y.digest):
            diffs.append(f"{p}: content differs (size {y.size}, expected {x.size})")
        if x.kind == "symlink" and x.target != y.target:
            diffs.append(f"{p}: symlink to {y.target!r}, expected {x.target!r}")
        meta = x.kind != "symlink" or symlink_meta
        if meta and x.kind != "symlink" and x.mode != y.mode:
            diffs.append(f"{p}: mode {y.mode:04o}, expected {x.mode:04o}")
        if meta and mtime and (dir_mtime or x.kind != "dir") and x.mtime != y.mtime:
            diffs.append(f"{p}: mtime {y.mtime}, expected {x.mtime}")
        if meta and owner and (x.uid, x.gid) != (y.uid, y.gid):
            diffs.append(f"{p}: owner {y.uid}:{y.gid}, expected {x.uid}:{x.gid}")
    return diffs


def diff_trees(expected_root, actual_root, ignore=(), **kw):
    return diff_snapshots(snapshot(expected_root, ignore), snapshot(actual_root, ignore), **kw)


def assert_same_tree(expected_root, actual_root, ignore=(), limit=30, **kw):
    """Raises AssertionError listing up to `limit` differences."""
    diffs = diff_trees(expected_root, actual_root, ignore, **kw)
    if diffs:
        more = f"\n... and {len(diffs) - limit} more" if len(diffs) > limit else ""
        raise AssertionError(f"trees differ: {expected_root} vs {actual_root}\n  "
                             + "\n  ".join(diffs[:limit]) + more)
