#!/usr/bin/env python3
"""The seed's Anomaly Clustering pipeline (KevinWangHP/Anomaly-Clustering), in PyTorch on the CPU, for one
folder of labelled images and the `efficientnet-lite0` backbone of config/backbones.json.

Stages, as ../shared/docs/ALGORITHM.md describes them and the seed runs them (unsupervised mode):
  1. features: Pillow decode, Resize(256) + CenterCrop(224), (v−127)/128 [make_pipeline_goldens.preprocess]
     → plain-torch EfficientNet-Lite0, outputs of MBConv blocks 4 and 10 [make_cnn_goldens], in batches
     → per-layer standardisation + PatchCore aggregation, Dp 1024, Dt 2048, float32
     [make_feature_goldens.embed] → Z (N, 784, 2048) float32.
  2. weights: as the seed's Weight_Distance_Unsupervised, for every image i and every other image j,
     torch.cdist(Z[i], Z[j]) (float32, torch's default compute mode) and its min over j's patches; s_i = the
     mean of those minima over j. α_i = softmax of s_i / τ over the patches (float64, max subtracted),
     τ = 8; X = bmm(α, Z) in float32.
  3. clustering: sklearn AgglomerativeClustering(n_clusters=K, linkage="ward") on X of the images whose
     label is not excluded (`combined` by default, the MVTec protocol; excluded images still serve as
     references in stage 2, as in the seed). K = the number of distinct labels.
Metrics: sklearn NMI (arithmetic) and ARI; F1 = accuracy after Hungarian matching
(scipy.optimize.linear_sum_assignment).

Images: DIR/LABEL/*.png|jpg|jpeg (the sub-folder is the label; the extensions our CLI reads), ordered by
(label, "label/file") as our CLI orders them; --limit N keeps the first N of each label.

Output (stdout): one JSON object with per-stage wall times (features, weights, clustering, total from
process start including imports), peak RSS (VmHWM of /proc/self/status), the image paths (relative to
DIR) in order, their labels, the clustered images and their clusters, K, and NMI / ARI / F1.

Run from the package root with the project's venv (weights: `make weights`):

    /work/venv/bin/python tools/seed_pipeline.py ../shared/data/mvtec_ad/bottle/test
    /work/venv/bin/python tools/seed_pipeline.py DIR --limit 4 --save-z Z.npy --save-alpha A.npy --save-x X.npy
"""
import time

T0 = time.perf_counter()  # before the heavy imports, so that "total" counts them as a process would

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.cluster import AgglomerativeClustering  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_cnn_goldens  # noqa: E402  (EfficientNet-Lite0 in plain torch, real weights)
import make_feature_goldens  # noqa: E402  (per-layer standardisation + PatchCore aggregation, torch)
import make_pipeline_goldens  # noqa: E402  (Pillow + torchvision-arithmetic preprocessing)

BACKBONE = "efficientnet-lite0"
EXTENSIONS = (".png", ".jpg", ".jpeg")  # Sources/Engine/IO/ImageFolder.swift reads these


def registry_entry(path, name):
    with open(path) as f:
        entries = json.load(f)["backbones"]
    return next(e for e in entries if e["name"] == name)


def list_images(folder, limit=None):
    """(relative path, label) pairs of folder/LABEL/IMAGE, sorted by (label, relative path) like our CLI."""
    items = []
    for label in os.listdir(folder):
        sub = os.path.join(folder, label)
        if label.startswith(".") or not os.path.isdir(sub):
            continue
        names = sorted(n for n in os.listdir(sub) if not n.startswith(".") and n.lower().endswith(EXTENSIONS))
        if limit is not None:
            names = names[:limit]
        items += [(f"{label}/{n}", label) for n in names]
    if not items:
        sys.exit(f"{folder}: no images in sub-folders (labels are needed for K and the metrics)")
    return sorted(items, key=lambda item: (item[1], item[0]))


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB → MiB
    return None


def backbone_maps(model, x, taps):
    """The tapped block outputs of make_cnn_goldens.EfficientNetLite0, stopping after the last tapped block
    as the seed's NetworkFeatureAggregator does (its forward would also run the head and classifier)."""
    x = F.relu6(model._bn0(model._conv_stem(x)))
    maps = []
    for i, block in enumerate(model._blocks[:max(taps) + 1]):
        x = block(x)
        if i in taps:
            maps.append(x)
    return maps


def patch_embeddings(paths, entry, weights, batch):
    """Z (N, P, Dt) float32: backbone in batches of `batch` images, then each image's PatchCore aggregation."""
    model, _ = make_cnn_goldens.load_efficientnet(weights)
    z = None
    for start in range(0, len(paths), batch):
        chunk = paths[start:start + batch]
        x = torch.from_numpy(np.stack([make_pipeline_goldens.preprocess(
            p, entry["resize"], entry["crop"], entry["normalization"]) for p in chunk]))
        with torch.no_grad():
            maps = backbone_maps(model, x, entry["layers"])
            for b in range(len(chunk)):
                zb = make_feature_goldens.embed([m[b].numpy() for m in maps], entry["pretrain_dimension"],
                                                entry["target_dimension"], torch.float32)
                if z is None:
                    z = torch.empty((len(paths), *zb.shape), dtype=torch.float32)
                z[start + b] = zb
        print(f"features: {min(start + batch, len(paths))}/{len(paths)} images", file=sys.stderr)
    return z


def unsupervised_alpha(z, tau):
    """α (N, P) float64, the seed's Matrix_Alpha_Unsupervised with the max subtracted before exp."""
    n = z.shape[0]
    alpha = torch.empty(z.shape[:2], dtype=torch.float64)
    for i in range(n):
        # Seed's Weight_Distance_Unsupervised: one column of nearest-patch distances per other image j.
        minima = torch.stack([torch.cdist(z[i], z[j]).min(dim=1).values for j in range(n) if j != i], dim=1)
        s = minima.mean(dim=1).double()  # (P,)
        if tau == 0:  # arg-max, ties share equally
            a = (s == s.max()).double()
        else:
            a = torch.exp((s - s.max()) / tau)
        alpha[i] = a / a.sum()
        if (i + 1) % 10 == 0 or i + 1 == n:
            print(f"weights: {i + 1}/{n} images", file=sys.stderr)
    return alpha


def hungarian_f1(labels, clusters):
    """Micro F1 after one-to-one matching of clusters to labels (= accuracy when K equals the label count)."""
    label_ids = {l: k for k, l in enumerate(sorted(set(labels)))}
    cluster_ids = {c: k for k, c in enumerate(sorted(set(clusters)))}
    counts = np.zeros((len(cluster_ids), len(label_ids)), dtype=np.int64)
    for l, c in zip(labels, clusters):
        counts[cluster_ids[c], label_ids[l]] += 1
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum()) / len(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="folder whose sub-folders are the labels")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each label (quick checks)")
    parser.add_argument("--exclude", action="append", default=None,
                        help="label left out of the clustering (repeatable; default: combined)")
    parser.add_argument("--tau", type=float, default=None, help="τ (default: the registry's unsupervised τ)")
    parser.add_argument("--batch", type=int, default=None, help="backbone batch (default: the registry's)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--registry", default=os.path.join(ROOT, "config", "backbones.json"))
    parser.add_argument("--weights-dir", default=os.path.join(ROOT, "weights"))
    parser.add_argument("--save-z", help="write Z (N, P, D) float32 .npy")
    parser.add_argument("--save-alpha", help="write α (N, P) float64 .npy")
    parser.add_argument("--save-x", help="write X of the clustered images (N', D) float32 .npy")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # make_cnn_goldens sets 2 at import; the flag wins

    entry = registry_entry(args.registry, BACKBONE)
    tau = float(entry["tau"]["unsupervised"]) if args.tau is None else args.tau
    batch = entry["batch"] if args.batch is None else args.batch
    exclude = ["combined"] if args.exclude is None else args.exclude
    items = list_images(args.folder, args.limit)
    names = [name for name, _ in items]
    labels = [label for _, label in items]
    paths = [os.path.join(args.folder, name) for name in names]
    times = {}

    t = time.perf_counter()
    z = patch_embeddings(paths, entry, os.path.join(args.weights_dir, entry["weights"]), batch)
    times["features"] = time.perf_counter() - t

    t = time.perf_counter()
    alpha = unsupervised_alpha(z, tau)
    x = torch.bmm(alpha.float().unsqueeze(1), z).squeeze(1).numpy()  # the seed's X, float32
    times["weights"] = time.perf_counter() - t

    t = time.perf_counter()
    keep = [k for k, label in enumerate(labels) if label not in exclude]
    kept_labels = [labels[k] for k in keep]
    k_clusters = len(set(kept_labels))
    clusters = AgglomerativeClustering(n_clusters=k_clusters, linkage="ward").fit_predict(x[keep])
    times["clustering"] = time.perf_counter() - t

    if args.save_z:
        np.save(args.save_z, z.numpy())
    if args.save_alpha:
        np.save(args.save_alpha, alpha.numpy())
    if args.save_x:
        np.save(args.save_x, np.ascontiguousarray(x[keep]))
    times["total"] = time.perf_counter() - T0

    clusters = [int(c) for c in clusters]
    result = {
        "pipeline": "seed (PyTorch CPU)", "backbone": BACKBONE, "folder": os.path.abspath(args.folder),
        "mode": "unsupervised", "tau": tau, "batch": batch, "threads": torch.get_num_threads(),
        "exclude": exclude, "torch": torch.__version__,
        "seconds": times, "peak_rss_mib": peak_rss_mib(),
        "images": names, "labels": labels,
        "clusters": k_clusters,
        "assignments": [{"image": names[k], "label": labels[k], "cluster": c} for k, c in zip(keep, clusters)],
        "metrics": {"nmi": float(normalized_mutual_info_score(kept_labels, clusters)),
                    "ari": float(adjusted_rand_score(kept_labels, clusters)),
                    "f1": hungarian_f1(kept_labels, clusters)},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
