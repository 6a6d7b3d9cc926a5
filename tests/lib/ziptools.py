"""ziptools.py - independent judges of a ZIP file, and tools to damage one.

check_all(path) runs the four readers that did not come from us:
  Info-ZIP `unzip -t -qq`   tests every entry's data and CRC
  p7zip `7z t`              likewise, with its own Zip64 and extra-field code
  libarchive `bsdtar -tf`   lists it; `bsdtar -xOf` then reads all data (CRC checked)
  Python `zipfile`          testzip() reads every entry and checks its CRC
and asserts that all four pass and agree on the entry names. The external
readers run in parallel with zipfile, so a big archive costs one read, not four.

The damage helpers find byte offsets from the archive's own structures
(local header, central directory record) so a test can flip exactly the byte
it means: one inside an entry's compressed data, or one in an entry's
central-directory record.
"""

import os
import struct
import subprocess
import zipfile

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
LOCAL_FIXED = 30
CENTRAL_FIXED = 46
# Offsets of fields inside a central directory record (APPNOTE 4.3.12).
CENTRAL_CRC = 16
CENTRAL_COMPRESSED_SIZE = 20
CENTRAL_NAME = 46
ZIP64_EXTRA = 0x0001

_ENV = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")


class ReaderFailure(AssertionError):
    pass


def _norm(names):
    """Entry names without a directory's trailing slash, sorted."""
    return sorted(n.rstrip("/") for n in names)


def _spawn(argv, stdout=subprocess.PIPE):
    return subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=_ENV)


def _finish(label, proc, timeout):
    out, err = proc.communicate(timeout=timeout)
    out = (out or b"").decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise ReaderFailure(f"{label} failed (exit {proc.returncode}):\n"
                            f"{out[-2000:]}\n{err[-2000:]}")
    return out


def _parse_7z_slt(text):
    """Paths from `7z l -slt` (each entry's block has a 'Path = ' line; the
    first one belongs to the archive itself and sits before the '----------')."""
    body = text.split("\n----------\n", 1)[-1]
    return [line[7:] for line in body.splitlines() if line.startswith("Path = ")]


def zipfile_test(path, metadata_encoding=None):
    """testzip() of Python's zipfile; returns the names when every CRC checks out."""
    with zipfile.ZipFile(path, metadata_encoding=metadata_encoding) as z:
        bad = z.testzip()
        names = z.namelist()
    if bad is not None:
        raise ReaderFailure(f"python zipfile: bad CRC or header in entry {bad!r}")
    return names


def check_all(path, expect_names=None, timeout=600, metadata_encoding=None,
              unzip_members=(), bsdtar_data=True):
    """Asserts that unzip, 7z, bsdtar and zipfile all accept path and list the
    same names (and expect_names, when given). Returns the sorted names.

    Python's zipfile reads a name without the UTF-8 flag (general purpose bit
    11) as CP437, so an mfb archive with non-ASCII names passes only if it
    sets that flag. Info-ZIP's zip does not set it (it adds a Unicode-path
    extra field instead): pass metadata_encoding="utf-8" for its archives.

    unzip_members limits `unzip -t` to those entries: its CRC code runs at
    about 200 MB/s, so for a multi-GiB stored entry the other three readers
    check the data and unzip checks that it finds the entries behind it.
    bsdtar_data=False leaves out the `bsdtar -xOf` data pass (the archive requirements ask
    only for `bsdtar -tf`) where three other readers already inflate gigabytes."""
    procs = {
        "unzip -t": _spawn(["unzip", "-t", "-qq", path, *unzip_members]),
        "unzip -Z1": _spawn(["unzip", "-Z1", path]),
        "7z t": _spawn(["7z", "t", "-bd", "-y", path]),
        "7z l": _spawn(["7z", "l", "-slt", "-bd", path]),
        "bsdtar -tf": _spawn(["bsdtar", "-tf", path]),
    }
    if bsdtar_data:
        procs["bsdtar -xOf"] = _spawn(["bsdtar", "-xOf", path], stdout=subprocess.DEVNULL)
    errors, outputs = [], {}
    try:
        zf_names = zipfile_test(path, metadata_encoding)
    except (ReaderFailure, zipfile.BadZipFile, OSError) as e:
        errors.append(f"python zipfile: {e}")
        zf_names = None
    for label, proc in procs.items():
        try:
            outputs[label] = _finish(label, proc, timeout)
        except ReaderFailure as e:
            errors.append(str(e))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            errors.append(f"{label} took more than {timeout} s")
    if errors:
        raise ReaderFailure(f"{path}: independent readers disagree:\n" + "\n".join(errors))
    if "Everything is Ok" not in outputs["7z t"]:
        raise ReaderFailure(f"7z t did not say 'Everything is Ok':\n{outputs['7z t'][-2000:]}")
    listings = {
        "python zipfile": _norm(zf_names),
        "unzip -Z1": _norm(outputs["unzip -Z1"].splitlines()),
        "7z l": _norm(_parse_7z_slt(outputs["7z l"])),
        "bsdtar -tf": _norm(outputs["bsdtar -tf"].splitlines()),
    }
    reference = listings["python zipfile"]
    for label, names in listings.items():
        if names != reference:
            only_ref = sorted(set(reference) - set(names))[:5]
            only_this = sorted(set(names) - set(reference))[:5]
            raise ReaderFailure(f"{label} lists {len(names)} names, python zipfile "
                                f"{len(reference)}; missing {only_ref}, extra {only_this}")
    if expect_names is not None and reference != _norm(expect_names):
        want = _norm(expect_names)
        raise ReaderFailure(f"archive holds {len(reference)} entries, expected {len(want)}; "
                            f"missing {sorted(set(want) - set(reference))[:5]}, "
                            f"extra {sorted(set(reference) - set(want))[:5]}")
    return reference


def zip64_extra_present(zi):
    """True when an entry's central directory record has a Zip64 extra field."""
    extra, i = zi.extra, 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i:i + 4])
        if tag == ZIP64_EXTRA:
            return True
        i += 4 + size
    return False


# -- locating and damaging bytes ---------------------------------------------

def info(path, name):
    """The ZipInfo of name (names without the UTF-8 flag are read as UTF-8 too)."""
    with zipfile.ZipFile(path, metadata_encoding="utf-8") as z:
        return z.getinfo(name)


def data_range(path, name):
    """(offset, length) of an entry's stored (compressed) data."""
    zi = info(path, name)
    with open(path, "rb") as f:
        f.seek(zi.header_offset)
        head = f.read(LOCAL_FIXED)
    if head[:4] != LOCAL_SIG:
        raise ValueError(f"no local header for {name!r} at {zi.header_offset}")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return zi.header_offset + LOCAL_FIXED + name_len + extra_len, zi.compress_size


def central_record_offset(path, name):
    """Offset of an entry's central directory record."""
    with zipfile.ZipFile(path) as z:
        start = z.start_dir
    want = name.encode("utf-8")
    with open(path, "rb") as f:
        f.seek(start)
        pos = start
        while True:
            head = f.read(CENTRAL_FIXED)
            if head[:4] != CENTRAL_SIG:
                raise ValueError(f"{name!r} not found in the central directory")
            name_len, extra_len, comment_len = struct.unpack("<HHH", head[28:34])
            entry_name = f.read(name_len)
            if entry_name == want:
                return pos
            f.seek(extra_len + comment_len, os.SEEK_CUR)
            pos += CENTRAL_FIXED + name_len + extra_len + comment_len


def flip_byte(path, offset, mask=0xFF):
    """XORs the byte at offset with mask; returns (old, new)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        old = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([old ^ mask]))
    return old, old ^ mask
