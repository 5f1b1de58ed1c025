#!/usr/bin/env python3
"""Write Sources/Engine/Image/InfernoColormap.swift: matplotlib's "inferno" colormap as 256 RGB bytes.

The bytes are exactly what `matplotlib.colormaps["inferno"](range(256), bytes=True)` returns
(matplotlib's 256-entry float table from `_cm_listed.py`, times 255, truncated to uint8), so a heat
map we draw matches one drawn with matplotlib. Needs matplotlib and numpy. Run from the repository root:

    python3 tools/make_inferno_colormap.py
"""
import os

import matplotlib
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "Engine", "Image", "InfernoColormap.swift")


def main():
    table = matplotlib.colormaps["inferno"](np.arange(256), bytes=True)[:, :3]
    lines = [
        "// matplotlib's \"inferno\" colormap (van der Walt and Smith, BIDS colormaps): perceptually uniform,",
        "// monotone in lightness from black through red to pale yellow, readable in greyscale. Generated",
        f"// by tools/make_inferno_colormap.py with matplotlib {matplotlib.__version__}: the bytes of",
        "// `colormaps[\"inferno\"](range(256), bytes=True)`. Do not edit by hand.",
        "",
        "/// The inferno colormap, 256 entries.",
        "enum InfernoColormap {",
        "    /// (256, 3) row-major: R, G, B of entry i at 3i; entry 0 is the coldest, 255 the hottest.",
        "    static let rgb: [UInt8] = [",
    ]
    for start in range(0, 256, 4):
        cells = ", ".join(f"{r}, {g}, {b}" for r, g, b in table[start:start + 4])
        lines.append(f"        {cells},  // {start}…{start + 3}")
    lines += ["    ]", "}", ""]
    with open(OUT, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
