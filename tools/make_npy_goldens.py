#!/usr/bin/env python3
"""Write the NumPy golden files used by Tests/EngineTests/NPYTests.swift.

Every array has deterministic contents that the Swift tests recompute, so no expected values
are stored except the exact .npy headers NumPy writes (headers.json), which the writer is
checked against byte for byte. Needs numpy only. Run from the repository root:

    python3 tools/make_npy_goldens.py
"""
import io
import json
import os

import numpy as np
from numpy.lib import format as npy_format

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "npy")


def save(name, array, version=None, allow_pickle=False):
    """Save like np.save, optionally forcing a format version."""
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        npy_format.write_array(f, np.asanyarray(array), version=version, allow_pickle=allow_pickle)
    return path


def header_bytes(shape):
    """The exact header np.save writes for a little-endian float32 C-order array of `shape`.

    Written from the header dict alone, so huge shapes need no memory."""
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)

    # Good files. Contents are chosen so the tests can recompute every value exactly.
    save("f32_2d.npy", ((np.arange(12) - 5) * 0.25).astype("<f4").reshape(3, 4))
    save("f64_3d.npy", (np.arange(24, dtype="<f8") * 0.1 - 1.0).reshape(2, 3, 4))
    save("v2_header.npy", np.arange(5, dtype="<f4") * 0.5, version=(2, 0))
    save("v3_header.npy", np.arange(5, dtype="<f4") * 0.5, version=(3, 0))
    save("scalar.npy", np.array(3.5, dtype="<f4"))
    save("zero_dim.npy", np.zeros((0, 3), dtype="<f4"))
    save("with_nan.npy", np.array([1.0, 2.0, np.nan, np.inf], dtype="<f4"))

    # Files the reader must reject.
    save("f64_out_of_range.npy", np.array([1.0, 1e300], dtype="<f8"))
    save("bad_big_endian.npy", np.arange(6, dtype=">f4"))
    save("bad_int64.npy", np.arange(6, dtype="<i8"))
    save("bad_float16.npy", np.arange(6, dtype="<f2"))
    save("bad_fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    save("bad_object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    good = save("bad_truncated.npy", np.arange(6, dtype="<f4"))
    with open(good, "rb") as f:
        data = f.read()
    with open(good, "wb") as f:
        f.write(data[:-3])  # 24 data bytes expected, 21 present

    # Many axes and long first dimensions move the header across 64-byte boundaries, so the
    # growth-axis spaces and the "already aligned still pads 64" rule are both exercised.
    shapes = [[3, 4], [5], [], [0, 3], [2, 3, 4], [1000000, 768], [2**40], [7, 1, 2**40]]
    shapes += [[1] * n for n in range(2, 25)]
    shapes += [[10**k, 2] for k in range(13)]
    shapes += [[2] + [1000] * n for n in range(1, 7)]
    shapes += [[1, 10**11] + [1] * 9]  # header ends exactly on 128 bytes: numpy still pads 64
    with open(os.path.join(OUT, "headers.json"), "w") as f:
        f.write('{"numpy_version": "%s", "headers": [\n' % np.__version__)
        f.write(",\n".join(
            json.dumps({"shape": s, "header_hex": header_bytes(s).hex()}) for s in shapes))
        f.write("\n]}\n")

    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "# NumPy .npy goldens\n\n"
            "Written by `python3 tools/make_npy_goldens.py` (run from the repository root) with "
            f"numpy {np.__version__}. Do not edit by hand: rerun the script.\n\n"
            "- Good: `f32_2d`, `f64_3d`, `v2_header`, `v3_header`, `scalar`, `zero_dim`, `with_nan`.\n"
            "- Rejected: `f64_out_of_range`, `bad_*` (dtypes `>f4`, `<i8`, `<f2`, object; Fortran "
            "order; data truncated by 3 bytes).\n"
            "- `headers.json`: the exact header bytes numpy writes for a `<f4` array of each listed "
            "shape; `NPYArray.encode` must reproduce them.\n\n"
            "Contents are deterministic (`np.arange` based) and recomputed by `NPYTests.swift`.\n"
        )


if __name__ == "__main__":
    main()
