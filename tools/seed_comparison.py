#!/usr/bin/env python3
"""A whole clustering job, our CLI beside the seed's pipeline (tools/seed_pipeline.py, PyTorch CPU), on the
same images in one invocation (issue 20): wall time, peak RSS and the clusters, as a markdown table.

Data sets (the same selections as docs/RESULTS.md):
  bottle: ../shared/data/mvtec_ad/bottle/test, all 83 images, 4 labels.
  neu:    ../shared/data/neu_det, the 300-image subset `evaluate --per-class 50 --seed 0` uses (50 per class,
          seeded choice of SeededSelection.swift, re-implemented below), 6 labels.
Both run with default options: `anomaly-clustering cluster DIR --json` (efficientnet-lite0, unsupervised,
τ 8, K = number of labels), and `seed_pipeline.py DIR` with the same settings. A `combined` label, if
present, is excluded from the clustering by both (--exclude combined; MVTec protocol).

Each data set's images are copied into a temporary folder (our CLI refuses symlinked files) which both
pipelines read, so the image lists are identical; image order is compared by path. Wall time is measured
around each process; its peak RSS is /usr/bin/time's %M (ru_maxrss of exactly that process). "Identical"
compares the two partitions: cluster numbers may differ (sklearn numbers clusters its own way), so the
differing images are counted after the best one-to-one relabelling of the seed's clusters (Hungarian).

Run from the package root (needs .build/release/anomaly-clustering and `make weights`):

    PYTHON=/work/venv/bin/python /work/venv/bin/python tools/seed_comparison.py            # both, full (~1 h)
    /work/venv/bin/python tools/seed_comparison.py --only bottle --limit 4 --compare-features  # quick check
Options: --only bottle|neu, --limit N (first N images per label of the selection), --compare-features (both
pipelines also write Z, α and X; the max |Δ| are printed; small subsets only: Z is N·784·2048 float32),
--keep DIR (keep the inputs, JSON outputs and features there instead of a temporary folder).
$PYTHON runs the seed pipeline (default: this interpreter).
"""
import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
BINARY = os.path.join(ROOT, ".build", "release", "anomaly-clustering")
EXTENSIONS = (".png", ".jpg", ".jpeg")  # what ImageFolder.swift reads
# name → (folder, per-class seeded subset or None, category name of the seeded choice)
DATASETS = {
    "bottle": (os.path.join(DATA, "mvtec_ad", "bottle", "test"), None, "bottle"),
    "neu": (os.path.join(DATA, "neu_det"), 50, "neu_det"),
}
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------- the evaluate command's seeded subset

def splitmix64(state):
    """One SplitMix64 step (Engine/Random/SeededRandom.swift): (new state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def choose(k, n, seed):
    """SeededSelection.choose: the first k of a Fisher–Yates shuffle of 0..<n, ascending."""
    if k >= n:
        return list(range(n))
    order, state = list(range(n)), seed
    for i in range(k):
        state, r = splitmix64(state)
        j = i + r % (n - i)
        order[i], order[j] = order[j], order[i]
    return sorted(order[:k])


def derived_seed(purpose, seed, category, label):
    """SeededSelection.derivedSeed: the first 8 bytes (big-endian) of SHA-256("purpose/seed/category/label")."""
    return int.from_bytes(hashlib.sha256(f"{purpose}/{seed}/{category}/{label}".encode()).digest()[:8], "big")


def list_images(folder):
    """{label: [file names]} of folder/LABEL/*, names sorted as ImageFolder.swift sorts them."""
    out = {}
    for label in sorted(os.listdir(folder)):
        sub = os.path.join(folder, label)
        if label.startswith(".") or not os.path.isdir(sub):
            continue
        out[label] = sorted(n for n in os.listdir(sub) if not n.startswith(".") and n.lower().endswith(EXTENSIONS))
    return out


def select(folder, per_class, category, limit):
    """{label: [file names]}: the seeded per-class subset (seed 0) if any, then the first `limit` per label."""
    images = list_images(folder)
    if per_class is not None:
        images = {l: [names[i] for i in choose(per_class, len(names), derived_seed("subset", 0, category, l))]
                  for l, names in images.items()}
    if limit is not None:
        images = {l: names[:limit] for l, names in images.items()}
    return images


# ---------------------------------------------------------------- running and measuring

def machine_header():
    lines = []
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
        lines.append(f"CPU: {model.group(1).strip() if model else '?'}, {os.cpu_count()} logical CPUs")
    except OSError:
        lines.append(f"CPU: ? ({os.cpu_count()} logical CPUs)")
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    avx512 = sorted(f for f in flags if f.startswith("avx512"))
    lines.append(f"AVX-512 flags: {' '.join(avx512) if avx512 else 'none'}")
    lines.append(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    lines.append(f"Python {platform.python_version()}, seed pipeline interpreter: {python()}")
    return lines


def python():
    return os.environ.get("PYTHON", sys.executable)


def wait_for_binary(path, timeout=1800):
    """The other engineer may be rebuilding: wait until the binary is back (no build from here)."""
    deadline = time.time() + timeout
    while not os.access(path, os.X_OK):
        if time.time() > deadline:
            sys.exit(f"{path} missing for {timeout} s; build it with `make build`")
        print(f"{path} missing (rebuild in progress?); waiting 30 s", file=sys.stderr)
        time.sleep(30)


def run_measured(command, stdout_path, stderr_path):
    """Runs command; (wall seconds, peak RSS MiB, exit code). The peak RSS comes from /usr/bin/time's %M
    (its child's ru_maxrss): os.wait4 on a child forked from this process would report at least this
    process's own RSS, since Linux carries the pre-exec hiwater mark into ru_maxrss."""
    rss_path = stdout_path + ".maxrss"
    timed = ["/usr/bin/time", "-f", "%M", "-o", rss_path, *command] if os.access("/usr/bin/time", os.X_OK) else command
    with open(stdout_path, "w") as out, open(stderr_path, "w") as err:
        start = time.perf_counter()
        process = subprocess.Popen(timed, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # keeps Popen from waiting again
    rss_kb = usage.ru_maxrss  # fallback, an upper bound (see above); kB on Linux
    if timed is not command:
        with open(rss_path) as f:
            rss_kb = int(f.read().split()[-1])  # time writes "Command exited with non-zero status" before it
    return wall, rss_kb / 1024.0, process.returncode


def check(name, code, stderr_path):
    if code != 0:
        with open(stderr_path) as f:
            tail = f.read()[-2000:]
        sys.exit(f"{name} failed with exit code {code}:\n{tail}")


def partition_difference(a, b):
    """Images that differ between two partitions of the same items after the best one-to-one relabelling."""
    ka, kb = sorted(set(a)), sorted(set(b))
    counts = np.zeros((len(ka), len(kb)), dtype=np.int64)
    for x, y in zip(a, b):
        counts[ka.index(x), kb.index(y)] += 1
    rows, cols = linear_sum_assignment(-counts)
    return len(a) - int(counts[rows, cols].sum())


def compare_dataset(name, work, limit, compare_features):
    folder, per_class, category = DATASETS[name]
    chosen = select(folder, per_class, category, limit)
    inputs = os.path.join(work, name, "images")
    shutil.rmtree(inputs, ignore_errors=True)
    for label, names in chosen.items():
        os.makedirs(os.path.join(inputs, label))
        for n in names:
            shutil.copyfile(os.path.join(folder, label, n), os.path.join(inputs, label, n))
    out = os.path.join(work, name)
    exclude = ["--exclude", "combined"] if "combined" in chosen else []

    wait_for_binary(BINARY)
    ours_cmd = [BINARY, "cluster", inputs, "--json", *exclude]
    seed_cmd = [python(), os.path.join(HERE, "seed_pipeline.py"), inputs, *exclude]
    if compare_features:
        ours_cmd += ["--save-patch-embeddings", os.path.join(out, "Z_ours.npy"),
                     "--save-alpha", os.path.join(out, "alpha_ours.npy"), "--save-embeddings", os.path.join(out, "X_ours.npy")]
        seed_cmd += ["--save-z", os.path.join(out, "Z_seed.npy"),
                     "--save-alpha", os.path.join(out, "alpha_seed.npy"), "--save-x", os.path.join(out, "X_seed.npy")]
    n_images = sum(len(v) for v in chosen.values())
    print(f"{name}: {n_images} images in {len(chosen)} labels → our CLI …", file=sys.stderr)
    ours_wall, ours_rss, code = run_measured(ours_cmd, os.path.join(out, "ours.json"), os.path.join(out, "ours.err"))
    check("our CLI", code, os.path.join(out, "ours.err"))
    print(f"{name}: our CLI {ours_wall:.1f} s; seed pipeline …", file=sys.stderr)
    seed_wall, seed_rss, code = run_measured(seed_cmd, os.path.join(out, "seed.json"), os.path.join(out, "seed.err"))
    check("seed pipeline", code, os.path.join(out, "seed.err"))
    print(f"{name}: seed pipeline {seed_wall:.1f} s", file=sys.stderr)

    with open(os.path.join(out, "ours.json")) as f:
        ours = json.load(f)
    with open(os.path.join(out, "seed.json")) as f:
        seed = json.load(f)
    ours_by_image = {a["image"]: a["cluster"] for a in ours["assignments"]}
    seed_by_image = {a["image"]: a["cluster"] for a in seed["assignments"]}
    same_order = [a["image"] for a in ours["assignments"]] == [a["image"] for a in seed["assignments"]]
    if set(ours_by_image) != set(seed_by_image):
        sys.exit(f"{name}: the two pipelines clustered different images")
    images = sorted(ours_by_image)
    a, b = [ours_by_image[i] for i in images], [seed_by_image[i] for i in images]
    differing = partition_difference(a, b)
    row = {
        "name": name, "images": n_images, "clustered": len(images), "order_by_path_equal": same_order,
        "ours_wall": ours_wall, "seed_wall": seed_wall, "ours_rss": ours_rss, "seed_rss": seed_rss,
        "identical_numbers": a == b, "differing": differing, "ours_metrics": ours["metrics"],
        "seed_metrics": seed["metrics"], "seed_seconds": seed["seconds"], "k": (ours["clusters"], seed["clusters"]),
    }
    if compare_features:
        row["features"] = {}
        for key in ("Z", "alpha", "X"):
            x = np.load(os.path.join(out, f"{key}_ours.npy")).astype(np.float64)
            y = np.load(os.path.join(out, f"{key}_seed.npy")).astype(np.float64)
            assert x.shape == y.shape, (key, x.shape, y.shape)
            row["features"][key] = (float(np.abs(x - y).max()), float(np.abs(y).max()), x.shape)
    return row


def fmt_metrics(m):
    return f"{m['nmi']:.3f} / {m['ari']:.3f} / {m['f1']:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(DATASETS), help="one data set")
    parser.add_argument("--limit", type=int, default=None, help="first N images per label (quick checks)")
    parser.add_argument("--compare-features", action="store_true", help="also compare Z, α and X (small runs only)")
    parser.add_argument("--keep", help="working folder to keep (default: a temporary folder, removed)")
    args = parser.parse_args()

    header = machine_header()
    print("\n".join(f"- {line}" for line in header))
    print(flush=True)
    work = args.keep or tempfile.mkdtemp(prefix="seed_comparison_")
    try:
        rows = [compare_dataset(name, work, args.limit, args.compare_features)
                for name in ([args.only] if args.only else ["bottle", "neu"])]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print("| data set | images | ours wall s | seed wall s | speed-up | peak RSS ours / seed MiB "
          "| assignments identical | NMI / ARI / F1 ours | NMI / ARI / F1 seed |")
    print("|---|---:|---:|---:|---:|---:|---|---|---|")
    for r in rows:
        if r["differing"] == 0:
            same = "yes" if r["identical_numbers"] else "yes (cluster numbers permuted)"
        else:
            same = f"no: {r['differing']} of {r['clustered']} differ after the best relabelling"
        images = str(r["images"]) if r["clustered"] == r["images"] else f"{r['images']} ({r['clustered']} clustered)"
        print(f"| {r['name']} | {images} | {r['ours_wall']:.1f} | {r['seed_wall']:.1f} | "
              f"{r['seed_wall'] / r['ours_wall']:.1f}× | {r['ours_rss']:.0f} / {r['seed_rss']:.0f} | {same} | "
              f"{fmt_metrics(r['ours_metrics'])} | {fmt_metrics(r['seed_metrics'])} |")
    print()
    for r in rows:
        s = r["seed_seconds"]
        print(f"- {r['name']}: K = {r['k'][0]} (ours) / {r['k'][1]} (seed); image order by path "
              f"{'equal' if r['order_by_path_equal'] else 'DIFFERENT'}; seed stages: features {s['features']:.1f} s, "
              f"weights {s['weights']:.1f} s, clustering {s['clustering']:.2f} s, total in-process {s['total']:.1f} s")
        for key, (diff, scale, shape) in r.get("features", {}).items():
            print(f"  - {key} {tuple(shape)}: max |ours − seed| = {diff:.3g} (max |seed| {scale:.3g})")
    if args.keep:
        print(f"\nInputs, JSON outputs and logs: {work}")


if __name__ == "__main__":
    main()
