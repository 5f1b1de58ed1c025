#!/usr/bin/env python3
"""Write Tests/Fixtures/features/: PatchCore patch-embedding goldens for Engine's PatchEmbedder.

The reference (amazon-science/patchcore-inspection, `PatchCore._embed` with `PatchMaker.patchify`,
`Preprocessing`/`MeanMapper` and `Aggregator`) turns backbone layer maps into patch embeddings with a
3x3 torch.nn.Unfold, a reshape/permute chain around F.interpolate(bilinear, align_corners=False) on the
unfolded channels of coarser layers, and two F.adaptive_avg_pool1d steps. This script runs that same
sequence of torch ops, preceded by the seed's per-layer standardisation (ALGORITHM.md section 3), on
small seeded random maps. Re-run from the package root:  python3 tools/make_feature_goldens.py
"""

import json
import os
import platform
import re

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20250301
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "features")
PATCH_SIZE, PATCH_STRIDE = 3, 1


def standardize(x):
    """Per-layer standardisation of one image's map (1, C, H, W): (x - mean) / sqrt(biased var + 1e-5)
    over all C*H*W values. Computed in float64 and rounded once, so the golden carries no float32
    accumulation error of its own (the Swift side also accumulates in Double)."""
    x64 = x.double()
    mean = x64.mean()
    var = x64.var(unbiased=False)
    return ((x64 - mean) / torch.sqrt(var + 1e-5)).to(x.dtype)


def patchify(features):
    """PatchMaker.patchify: (B, C, H, W) -> (B, H*W, C, 3, 3) and the patch grid [H, W]."""
    padding = (PATCH_SIZE - 1) // 2
    unfolder = torch.nn.Unfold(kernel_size=PATCH_SIZE, stride=PATCH_STRIDE, padding=padding, dilation=1)
    unfolded = unfolder(features)  # (B, C*3*3, H*W), channel-major (c, ky, kx)
    grid = [int((s + 2 * padding - (PATCH_SIZE - 1) - 1) / PATCH_STRIDE + 1) for s in features.shape[-2:]]
    unfolded = unfolded.reshape(*features.shape[:2], PATCH_SIZE, PATCH_SIZE, -1)  # (B, C, 3, 3, H*W)
    return unfolded.permute(0, 4, 1, 2, 3), grid  # (B, H*W, C, 3, 3)


def aggregate(layer_maps, pretrain_dim, target_dim):
    """PatchCore._embed after the backbone: list of (B, C, H, W) -> (B*H0*W0, target_dim)."""
    patched = [patchify(x) for x in layer_maps]
    grids = [g for _, g in patched]
    features = [f for f, _ in patched]
    ref_grid = grids[0]
    for i in range(1, len(features)):
        f = features[i]
        h, w = grids[i]
        f = f.reshape(f.shape[0], h, w, *f.shape[2:])  # (B, h, w, C, 3, 3)
        f = f.permute(0, -3, -2, -1, 1, 2)  # (B, C, 3, 3, h, w)
        base_shape = f.shape
        f = f.reshape(-1, *f.shape[-2:])  # (B*C*9, h, w): one plane per unfolded channel
        f = F.interpolate(f.unsqueeze(1), size=(ref_grid[0], ref_grid[1]), mode="bilinear", align_corners=False)
        f = f.squeeze(1)
        f = f.reshape(*base_shape[:-2], ref_grid[0], ref_grid[1])  # (B, C, 3, 3, H0, W0)
        f = f.permute(0, -2, -1, 1, 2, 3)  # (B, H0, W0, C, 3, 3)
        f = f.reshape(len(f), -1, *f.shape[-3:])  # (B, H0*W0, C, 3, 3)
        features[i] = f
    features = [x.reshape(-1, *x.shape[-3:]) for x in features]  # (B*P, C, 3, 3)
    # Preprocessing: one MeanMapper per layer, stacked on dim 1.
    pooled = [F.adaptive_avg_pool1d(x.reshape(len(x), 1, -1), pretrain_dim).squeeze(1) for x in features]
    stacked = torch.stack(pooled, dim=1)  # (B*P, layers, Dp)
    # Aggregator.
    z = F.adaptive_avg_pool1d(stacked.reshape(len(stacked), 1, -1), target_dim)
    return z.reshape(len(z), -1)  # (B*P, Dt)


def embed(layer_maps, pretrain_dim, target_dim, dtype):
    maps = [standardize(torch.from_numpy(m).to(dtype).unsqueeze(0)) for m in layer_maps]
    return aggregate(maps, pretrain_dim, target_dim)


def check_pool_windows():
    """Asserts that adaptive_avg_pool1d averages inputs floor(i*L/O) .. ceil((i+1)*L/O)-1, the windows the
    Swift side precomputes (and its tests spell out), including L < O where windows repeat inputs."""
    for length, out in [(10, 4), (3, 5), (9, 3), (360, 1024), (1008, 1024), (4608, 1024), (4096, 2048), (7, 7)]:
        pooled = F.adaptive_avg_pool1d(torch.eye(length, dtype=torch.float64).unsqueeze(1), out).squeeze(1)  # (L, O)
        expected = torch.zeros(length, out, dtype=torch.float64)
        for i in range(out):
            start, end = (i * length) // out, -((-(i + 1) * length) // out)
            expected[start:end, i] = 1.0 / (end - start)
        assert torch.allclose(pooled, expected, rtol=0, atol=1e-12), (length, out)


def save(name, array, dtype=np.float32):
    np.save(os.path.join(OUT_DIR, name), np.ascontiguousarray(array, dtype=dtype))


# name, layer shapes (C, H, W), Dp, Dt, tokens (ViT layers stored as (1 + H*W, C) tokens), rows kept
CASES = [
    ("two_layers", [(8, 6, 6), (12, 3, 3)], 20, 32, False, None),
    ("short_vectors", [(5, 4, 4), (7, 2, 2)], 64, 96, False, None),
    ("three_layers", [(6, 8, 8), (9, 5, 5), (11, 3, 3)], 30, 50, False, None),
    ("vit_tokens", [(16, 5, 5), (16, 5, 5)], 48, 96, True, None),
    ("efficientnet_lite0", [(40, 28, 28), (112, 14, 14)], 1024, 2048, False, 64),
]


def main():
    check_pool_windows()
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)  # deterministic reduction order
    manifest = {"seed": SEED, "torch": torch.__version__, "numpy": np.__version__,
                "python": platform.python_version(), "cases": []}
    for index, (name, shapes, dp, dt, as_tokens, kept_rows) in enumerate(CASES):
        rng = np.random.default_rng(SEED + index)
        # Each layer gets its own offset and scale so that standardisation has something to undo.
        maps = [(rng.standard_normal((c, h, w)) * (1.5 + layer) + 0.5 * (layer + 1)).astype(np.float32)
                for layer, (c, h, w) in enumerate(shapes)]
        for layer, m in enumerate(maps):
            if as_tokens:
                c, h, w = m.shape
                cls = rng.standard_normal((1, c)).astype(np.float32) * 10  # must be dropped
                tokens = np.concatenate([cls, m.reshape(c, h * w).T], axis=0)  # (1 + H*W, C)
                assert np.array_equal(tokens[1:].reshape(h, w, c).transpose(2, 0, 1), m)
                save(f"{name}_tokens{layer}.npy", tokens)
            else:
                save(f"{name}_layer{layer}.npy", m)
        z = embed(maps, dp, dt, torch.float32).numpy()  # (P, Dt), the reference's own precision
        z64 = embed(maps, dp, dt, torch.float64).numpy()
        noise = float(np.abs(z.astype(np.float64) - z64).max() / np.abs(z64).max())
        entry = {"name": name, "layers": [list(s) for s in shapes], "pretrainDimension": dp,
                 "targetDimension": dt, "tokens": as_tokens, "zShape": list(z.shape),
                 "maxAbsZ": float(np.abs(z).max()), "float32VsFloat64RelativeError": noise}
        if kept_rows is None:
            save(f"{name}_z.npy", z)
        else:
            rows = np.sort(np.concatenate([[0, z.shape[0] - 1],
                                           rng.choice(np.arange(1, z.shape[0] - 1), kept_rows - 2, replace=False)]))
            save(f"{name}_rows.npy", rows)  # patch indices, exact in float32
            save(f"{name}_z_rows.npy", z[rows])
            # Statistics of the full Z (float64 from the float32 Z): sum, sum of squares, max |z|.
            z_full = z.astype(np.float64)
            save(f"{name}_z_summary.npy", [z_full.sum(), (z_full * z_full).sum(), np.abs(z_full).max()], np.float64)
            entry["keptRows"] = int(len(rows))
        manifest["cases"].append(entry)
        print(f"{name}: Z {z.shape}, max|Z| {entry['maxAbsZ']:.4f}, float32 vs float64 {noise:.2e}")
    text = json.dumps(manifest, indent=1)
    # Keep short number lists (shapes) on one line.
    text = re.sub(r"\[\s+([-0-9.e,\s]*?)\s+\]", lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
