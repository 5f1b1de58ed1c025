#!/usr/bin/env python3
"""Writes the tar fixtures of Tests/Fixtures/uploads/ with Python's own tarfile module, the reference writer
that TarReaderTests.swift checks the Swift reader against. Run from the repository root:

    python3 tools/make_upload_fixtures.py

Deterministic: fixed mtimes, owners and contents; records padded to 512 bytes instead of tarfile's 10240 so
that each archive stays small. Contents and expectations are listed in Tests/Fixtures/uploads/README.md.
"""
import io
import os
import sys
import tarfile

OUT = os.path.join("Tests", "Fixtures", "uploads")
MTIME = 1_700_000_000

# tarfile pads the archive to a multiple of RECORDSIZE on close; 512 keeps fixtures tiny (two zero blocks
# are still written).
tarfile.RECORDSIZE = 512


def payload(name: str, size: int) -> bytes:
    """Deterministic bytes for a file: its name repeated, cut to `size`, so each file's data is distinct."""
    seed = (name + "|").encode()
    return (seed * (size // len(seed) + 1))[:size]


def add_file(tar: tarfile.TarFile, name: str, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = MTIME
    info.mode = 0o644
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(payload(name, size)))


def add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mtime = MTIME
    info.mode = 0o755
    info.uname = info.gname = ""
    tar.addfile(info)


def write(name: str, fmt: int, build, pax_headers=None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, pax_headers=pax_headers or {}) as tar:
        build(tar)
    data = buffer.getvalue()
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return data


LONG_NAME = "crack/" + "a_very_long_directory_name_" * 5 + "/001.png"  # > 100 bytes: needs L or pax


def main() -> int:
    os.makedirs(OUT, exist_ok=True)

    def ustar(tar):
        add_dir(tar, "crack")
        add_file(tar, "crack/001.png", 700)  # spans two blocks, with padding
        add_file(tar, "good/002.png", 0)
        add_file(tar, "./scratch/003.png", 512)  # exactly one block; "./" is normalised away

    write("ustar.tar", tarfile.USTAR_FORMAT, ustar)
    write("gnu_longname.tar", tarfile.GNU_FORMAT, lambda tar: add_file(tar, LONG_NAME, 33))
    # PAX: a non-ASCII name goes into a pax `x` header; pax_headers adds a `g` global header too.
    write("pax_path.tar", tarfile.PAX_FORMAT, lambda tar: add_file(tar, "défaut/coupure.png", 20),
          pax_headers={"comment": "global header, ignored"})

    def symlink(tar):
        add_file(tar, "crack/001.png", 10)
        info = tarfile.TarInfo("crack/link.png")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        info.mtime = MTIME
        tar.addfile(info)

    write("symlink.tar", tarfile.USTAR_FORMAT, symlink)
    write("dotdot.tar", tarfile.USTAR_FORMAT, lambda tar: add_file(tar, "../evil.png", 10))
    write("absolute.tar", tarfile.USTAR_FORMAT, lambda tar: add_file(tar, "/etc/evil.png", 10))

    good = write("bad_checksum.tar", tarfile.USTAR_FORMAT, lambda tar: add_file(tar, "crack/001.png", 10))
    corrupted = bytearray(good)
    corrupted[0] ^= 0x01  # first byte of the name; the stored checksum no longer matches
    with open(os.path.join(OUT, "bad_checksum.tar"), "wb") as f:
        f.write(corrupted)

    whole = write("truncated.tar", tarfile.USTAR_FORMAT, lambda tar: add_file(tar, "crack/001.png", 700))
    with open(os.path.join(OUT, "truncated.tar"), "wb") as f:
        f.write(whole[: 512 + 300])  # header plus 300 of the 700 data bytes
    print(f"wrote fixtures to {OUT} with Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
