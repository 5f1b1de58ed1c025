#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer harnesses, Fuzz/Corpus/<harness>/: for each parser a few valid
inputs that reach its main paths and a few near-valid ones that fail one check each. Run from the
repository root:

    python3 tools/make_fuzz_corpus.py

Deterministic (fixed pixels, mtimes and seeds); needs Pillow and NumPy. Images come from Pillow, two
interlaced PNGs (which Pillow cannot write) from Tests/Fixtures/images, tar archives from Python's tarfile
with 512-byte records, .npy files from NumPy; HTTP, multipart, safetensors and options are written out here.
The fuzz regression inputs of Tests/Fixtures/fuzz (named <harness>_<what>) are copied into their harness's corpus.
"""
import io
import json
import os
import shutil
import struct
import sys
import tarfile

import numpy as np
from PIL import Image

OUT = os.path.join("Fuzz", "Corpus")


def write(harness: str, name: str, data: bytes) -> None:
    directory = os.path.join(OUT, harness)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def http() -> None:
    crlf = lambda text: text.replace("\n", "\r\n").encode()
    write("http", "get", crlf("GET /v1/jobs?limit=5&before=abc HTTP/1.1\nHost: localhost:8080\nAccept: */*\n\n"))
    write("http", "post_content_length", crlf(
        "POST /v1/jobs HTTP/1.1\nHost: a\nContent-Type: application/x-tar\nContent-Length: 5\n"
        "Expect: 100-continue\n\nhello"))
    write("http", "chunked_trailer", crlf(
        "POST /v1/jobs?mode=average HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n"
        "5;ext=1\nhello\n0\nX-Trailer: t\n\n"))
    write("http", "pipelined_keep_alive", crlf(
        "GET /healthz HTTP/1.0\nConnection: keep-alive\n\nHEAD /v1/jobs/a%20b HTTP/1.1\nHost: a\n\n"
        "OPTIONS * HTTP/1.1\nHost: a\nConnection: close\n\n"))
    write("http", "absolute_form_bare_lf",
          b"\r\nGET http://example.com:80/metrics?x=1+2 HTTP/1.1\nHost: example.com\nContent-Length: 2, 2\n\nok")
    write("http", "smuggling_cl_te", crlf(
        "POST / HTTP/1.1\nHost: a\nContent-Length: 4\nTransfer-Encoding: chunked\n\n0\n\n"))
    write("http", "bad_chunk_size", crlf("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\nzz\nab\n0\n\n"))
    write("http", "http_1_2_obs_fold", crlf("GET / HTTP/1.2\nHost: a\n folded\n\n"))


def multipart() -> None:
    def form(boundary: str, parts: list, preamble: str = "", epilogue: str = "") -> bytes:
        body = preamble.encode()
        for headers, data in parts:
            body += f"\r\n--{boundary}\r\n".encode() + "".join(h + "\r\n" for h in headers).encode() + b"\r\n" + data
        return body + f"\r\n--{boundary}--\r\n{epilogue}".encode()

    images = [
        (['Content-Disposition: form-data; name="images"; filename="crack/001.png"', "Content-Type: image/png"],
         b"\x89PNG\r\n\x1a\n" + bytes(range(40))),
        (['Content-Disposition: form-data; name="normal"; filename="good.jpg"'], b"\xff\xd8\xff\xe0 data \r\n--x"),
        (['Content-Disposition: form-data; name="options"'], b'{"mode": "average", "tau": 1}'),
    ]
    write("multipart", "images_and_options",
          b"multipart/form-data; boundary=XyZ123\n" + form("XyZ123", images)[2:])
    write("multipart", "quoted_boundary_preamble", b'Multipart/Form-Data; charset=utf-8; boundary="a b:c"\n'
          + form("a b:c", images[:1], preamble="preamble\r\n", epilogue="epilogue"))
    write("multipart", "empty_form", b"multipart/form-data; boundary=b\n--b--\r\n")
    write("multipart", "padding_and_split_delimiter", b"multipart/form-data; boundary=b\n--b \t\r\n"
          b"Content-Disposition: form-data; name=images; filename=x.png\r\n\r\n\r\n--\r\n--c\r\n--b--")
    write("multipart", "unterminated_part", b"multipart/form-data; boundary=b\n--b\r\n"
          b"Content-Disposition: form-data; name=\"images\"; filename=\"../x.png\"\r\n\r\ndata")
    write("multipart", "bare_lf_header", b"multipart/form-data; boundary=b\n--b\r\n"
          b"Content-Disposition: form-data; name=\"images\"\n\r\n\r\n--b--")


def tar() -> None:
    tarfile.RECORDSIZE = 512  # two zero blocks, no padding to 10 KiB

    def archive(entries: list, format: int = tarfile.USTAR_FORMAT, pax_headers: dict = None) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=format, pax_headers=pax_headers or {}) as t:
            for name, kind, data in entries:
                info = tarfile.TarInfo(name)
                info.mtime = 1_700_000_000
                info.type = kind
                if kind == tarfile.SYMTYPE:
                    info.linkname = "target.png"
                info.size = len(data) if kind == tarfile.REGTYPE else 0
                t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        return buffer.getvalue()

    file, folder = tarfile.REGTYPE, tarfile.DIRTYPE
    write("tar", "ustar_labels", archive([("crack/", folder, b""), ("crack/001.png", file, b"\x89PNG data"),
                                          ("normal/good.jpg", file, b"\xff\xd8" * 300)]))
    long_name = "label/" + "n" * 120 + ".png"
    write("tar", "pax_long_path", archive([(long_name, file, b"pixels")], format=tarfile.PAX_FORMAT))
    write("tar", "pax_global_header", archive([("./a/b.png", file, b"x")], format=tarfile.PAX_FORMAT,
                                              pax_headers={"comment": "commit 0123abcd"}))
    write("tar", "gnu_long_name", archive([(long_name, file, b"")], format=tarfile.GNU_FORMAT))
    write("tar", "symlink", archive([("link.png", tarfile.SYMTYPE, b"")]))
    write("tar", "parent_reference", archive([("../escape.png", file, b"x")]))
    write("tar", "truncated", archive([("a.png", file, b"abc" * 200)])[:1024])
    # GNU base-256 size (what tar writes for files of 8 GiB and more), here of a 5-byte file.
    data = bytearray(archive([("big.png", file, b"12345")]))
    data[124:136] = bytes([0x80] + [0] * 10 + [5])
    data[148:156] = b"%06o\0 " % (sum(data[:148]) + sum(b" " * 8) + sum(data[156:512]))
    write("tar", "base256_size", bytes(data))


def png() -> None:
    pixels = Image.frombytes("RGB", (8, 6), bytes((i * 7) % 256 for i in range(8 * 6 * 3)))
    for name, image, options in [
        ("rgb8", pixels, {}),
        ("gray8", pixels.convert("L"), {}),
        ("gray1", pixels.convert("1"), {}),
        ("gray_alpha", pixels.convert("LA"), {}),
        ("rgba", pixels.convert("RGBA"), {}),
        ("palette_trns", pixels.convert("P", palette=Image.ADAPTIVE, colors=4), {"transparency": 0}),
        ("gray16", pixels.convert("I").point(lambda v: v * 250).convert("I;16"), {}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, "PNG", **options)
        write("png", name, buffer.getvalue())
        if name == "rgb8":
            data = buffer.getvalue()
            write("png", "rgb8_truncated", data[:-20])
            idat = data.index(b"IDAT")
            write("png", "rgb8_bad_idat_crc", data[:idat + 4] + bytes([data[idat + 4] ^ 1]) + data[idat + 5:])
    for fixture in ["png_rgb8_interlaced_3x2.png", "png_palette4_trns_interlaced_37x23.png"]:
        with open(os.path.join("Tests", "Fixtures", "images", fixture), "rb") as f:
            write("png", fixture[:-4], f.read())


def jpeg() -> None:
    pixels = Image.frombytes("RGB", (16, 16), bytes((i * 13) % 256 for i in range(16 * 16 * 3)))
    for name, image, options in [
        ("baseline444", pixels, {"subsampling": 0, "quality": 80}),
        ("baseline420", pixels, {"subsampling": 2, "quality": 50}),
        ("gray", pixels.convert("L"), {}),
        ("progressive", pixels, {"progressive": True}),
        ("restart", pixels, {"restart_marker_blocks": 1}),
        ("cmyk", pixels.convert("CMYK"), {}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", **options)
        write("jpeg", name, buffer.getvalue())
        if name == "baseline444":
            write("jpeg", "truncated", buffer.getvalue()[:-40])


def npy() -> None:
    def save(name: str, array: np.ndarray, version=None) -> None:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=version)
        write("npy", name, buffer.getvalue())

    save("f4_2x3", np.arange(6, dtype="<f4").reshape(2, 3))
    save("f8_nan_inf", np.array([1.5, np.nan, -np.inf, 1e300], dtype="<f8"))
    save("scalar", np.array(3.25, dtype="<f4"))
    save("empty_0x4", np.zeros((0, 4), dtype="<f4"))
    save("version2", np.ones((1, 1, 2), dtype="<f4"), version=(2, 0))
    save("fortran_order", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    save("int32", np.arange(3, dtype="<i4"))
    save("big_endian", np.arange(3, dtype=">f4"))


def safetensors() -> None:
    def file(header: dict, data: bytes) -> bytes:
        text = json.dumps(header).encode()
        return struct.pack("<Q", len(text)) + text + data

    f32 = np.arange(6, dtype="<f4").tobytes()
    f16 = np.array([1, -2, 0.5], dtype="<f2").tobytes()
    write("safetensors", "three_dtypes", file({
        "__metadata__": {"format": "pt"},
        "a.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b.bias": {"dtype": "F16", "shape": [3], "data_offsets": [24, 30]},
        "c": {"dtype": "BF16", "shape": [], "data_offsets": [30, 32]},
    }, f32 + f16 + b"\x80\x3f"))
    write("safetensors", "empty", file({}, b""))
    write("safetensors", "zero_size_tensor",
          file({"z": {"dtype": "F32", "shape": [0, 4294967296], "data_offsets": [0, 0]}}, b""))
    write("safetensors", "gap", file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)))
    write("safetensors", "bad_dtype", file({"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8)))
    write("safetensors", "wrong_length", file({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, bytes(12)))


def options() -> None:
    write("options", "json_all_fields", json.dumps({
        "backbone": "efficientnet-lite0", "mode": "semi-supervised", "tau": 0.5, "clusters": 3,
        "exclude": ["good", "combined"], "resize": 256, "crop": 224, "seed": 7}).encode())
    write("options", "json_scalable", b'{"clusters": "auto", "search": "scalable", "references": 64, "projection": 128}')
    write("options", "json_escapes", b'{"exclude": "\\u00e9\\n\\"x\\"", "mode": "average", "tau": 1e-3}')
    write("options", "json_empty", b"{}")
    write("options", "json_wrong_type", b'{"tau": true, "clusters": [1]}')
    write("options", "query", b"mode=unsupervised&exclude=combined&exclude=other+stuff&tau=0.25&clusters=auto")
    write("options", "query_search", b"search=auto&seed=3&backbone=dinov2-vits14&resize=448")
    write("options", "query_unknown", b"colour=%E2%9C%93&tau=-1")


if __name__ == "__main__":
    if not os.path.isdir("Sources"):
        sys.exit("run from the repository root")
    shutil.rmtree(OUT, ignore_errors=True)
    for make in [http, multipart, tar, png, jpeg, npy, safetensors, options]:
        make()
    regressions = os.path.join("Tests", "Fixtures", "fuzz")
    for name in sorted(os.listdir(regressions)):
        if name != "README.md":  # the others are named <harness>_<what>.<extension>
            with open(os.path.join(regressions, name), "rb") as f:
                write(name.split("_")[0], "regression_" + name.rsplit(".", 1)[0], f.read())
