#!/usr/bin/env python3
"""Write Tests/Fixtures/metrics/goldens.json: reference clustering metrics and assignment costs.

The Swift `Engine` metrics (NMI, ARI, Hungarian-matched micro-F1) must agree with scikit-learn, and
the Swift Hungarian solver with scipy's linear_sum_assignment. This script computes the references
with those libraries on seeded random and hand-picked degenerate inputs. Re-run it from the package
root after changing cases:  python3 tools/make_metric_goldens.py
"""

import json
import os
import platform
import sys

import numpy as np
import scipy
import sklearn
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

SEED = 20240611
# Used for samples of clusters left unmatched by the Hungarian step; never a true class name.
UNMATCHED = "__unmatched__"
CLASS_NAMES = ["scratch", "dent", "crack", "stain", "Bubble", "hole", "rust", "écaille", "warp", "burr"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "metrics")


def matched_micro_f1(y_true, y_pred):
    """Micro-F1 after mapping clusters to classes with a maximum-weight one-to-one matching."""
    classes = np.unique(y_true)
    clusters = np.unique(y_pred)
    c = contingency_matrix(y_true, y_pred)  # rows: sorted classes, columns: sorted clusters
    rows, cols = linear_sum_assignment(-c)
    mapping = {int(clusters[j]): str(classes[i]) for i, j in zip(rows, cols)}
    assert UNMATCHED not in set(y_true)
    mapped = [mapping.get(int(k), UNMATCHED) for k in y_pred]
    return float(f1_score(y_true, mapped, average="micro"))


def metric_case(name, y_true, y_pred):
    y_true = [str(x) for x in y_true]
    y_pred = [int(x) for x in y_pred]
    assert len(y_true) == len(y_pred) >= 1
    c = contingency_matrix(y_true, y_pred)
    return {
        "name": name,
        "trueLabels": y_true,
        "clusters": y_pred,
        "nmi": float(normalized_mutual_info_score(y_true, y_pred, average_method="arithmetic")),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
        "f1": matched_micro_f1(y_true, y_pred),
        "contingency": {
            "trueClasses": [str(x) for x in np.unique(y_true)],
            "clusters": [int(x) for x in np.unique(y_pred)],
            "counts": [int(x) for x in c.ravel()],
        },
    }


def large_case(name, classes, clusters, counts):
    """A big case stored compactly as a contingency table; metrics from the expanded vectors."""
    counts = np.asarray(counts, dtype=np.int64).reshape(len(classes), len(clusters))
    y_true, y_pred = [], []
    for i, cls in enumerate(classes):
        for j, k in enumerate(clusters):
            y_true += [cls] * int(counts[i, j])
            y_pred += [k] * int(counts[i, j])
    return {
        "name": name,
        "trueClasses": list(classes),
        "clusters": [int(k) for k in clusters],
        "counts": [int(x) for x in counts.ravel()],
        "n": len(y_true),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred, average_method="arithmetic")),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
        "f1": matched_micro_f1(y_true, y_pred),
    }


def random_labels(rng, n, k_true, k_pred, agreement):
    """True labels over k_true names, predictions that copy a scrambled truth with prob. `agreement`."""
    names = list(rng.choice(CLASS_NAMES, size=k_true, replace=False))
    # Arbitrary, non-contiguous ids including the HDBSCAN-style noise id -1.
    ids = list(rng.choice(np.arange(-1, 60), size=k_pred, replace=False))
    t = rng.integers(0, k_true, size=n)
    base = rng.permutation(max(k_true, k_pred))[:k_true] % k_pred  # class -> a cluster
    p = np.where(rng.random(n) < agreement, base[t], rng.integers(0, k_pred, size=n))
    return [names[i] for i in t], [int(ids[i]) for i in p]


def metric_cases(rng):
    cases = [
        metric_case("n1", ["dent"], [0]),
        metric_case("n2_same_same", ["dent", "dent"], [3, 3]),
        metric_case("n2_diff_same", ["dent", "crack"], [3, 3]),
        metric_case("n2_same_diff", ["dent", "dent"], [3, -1]),
        metric_case("n2_diff_diff", ["dent", "crack"], [3, -1]),
        metric_case("all_one_class_one_cluster", ["rust"] * 50, [7] * 50),
        metric_case("all_one_class_many_clusters", ["rust"] * 30, [i % 4 for i in range(30)]),
        metric_case("many_classes_one_cluster", [CLASS_NAMES[i % 5] for i in range(40)], [2] * 40),
        metric_case("singleton_clusters", [CLASS_NAMES[i % 3] for i in range(12)], list(range(100, 112))),
        metric_case("singleton_both", [CLASS_NAMES[i] for i in range(8)], list(range(8))),
        metric_case("identical_relabelled",
                    [CLASS_NAMES[i % 4] for i in range(37)], [[9, -1, 4, 0][i % 4] for i in range(37)]),
        metric_case("ari_negative_half", ["a", "a", "b", "b"], [0, 1, 0, 1]),
        metric_case("sklearn_doc_0_57", ["0", "0", "1", "2"], [0, 0, 1, 1]),
        metric_case("k_pred_gt_k_true_split", [CLASS_NAMES[i % 2] for i in range(60)],
                    [(i % 2) * 3 + (i // 2) % 3 for i in range(60)]),
        metric_case("k_pred_lt_k_true_merge", [CLASS_NAMES[i % 6] for i in range(60)],
                    [(i % 6) // 3 for i in range(60)]),
        metric_case("noise_cluster_only", ["dent", "crack", "rust", "dent"], [-1, -1, -1, -1]),
    ]
    shapes = [  # (n, k_true, k_pred, agreement)
        (3, 2, 2, 0.5), (5, 1, 3, 0.5), (7, 3, 1, 0.5), (10, 2, 5, 0.8), (17, 4, 4, 1.0),
        (25, 3, 6, 0.7), (40, 5, 3, 0.6), (64, 8, 10, 0.9), (80, 6, 6, 0.0), (100, 4, 9, 0.5),
        (120, 7, 2, 0.8), (150, 8, 8, 0.95), (199, 5, 10, 0.3), (233, 2, 7, 0.6), (256, 8, 4, 0.7),
        (300, 3, 3, 0.99), (300, 8, 10, 0.5), (300, 1, 10, 0.5), (300, 8, 1, 0.5), (11, 8, 10, 0.2),
    ]
    for n, kt, kp, agr in shapes:
        y_true, y_pred = random_labels(rng, n, kt, kp, agr)
        cases.append(metric_case(f"random_n{n}_t{kt}_p{kp}_a{agr}", y_true, y_pred))
    for r in range(6):  # fully random shapes
        n = int(rng.integers(1, 301))
        kt = int(rng.integers(1, 9))
        kp = int(rng.integers(1, 11))
        y_true, y_pred = random_labels(rng, n, kt, kp, float(rng.random()))
        cases.append(metric_case(f"random_free_{r}_n{n}", y_true, y_pred))
    return cases


def large_cases(rng):
    cases = []
    # N = 100 000 samples: ordered pair counts ~1e10, ARI products ~1e19-1e20 (beyond Int64).
    for name, kt, kp, concentration in [("large_2x2", 2, 2, 0.9), ("large_8x10", 8, 10, 0.7), ("large_5x3", 5, 3, 0.5)]:
        weights = rng.random((kt, kp)) * (1 - concentration)
        for i in range(kt):
            weights[i, i % kp] += concentration
        counts = rng.multinomial(100_000, (weights / weights.sum()).ravel())
        counts = counts.reshape(kt, kp)
        counts[counts == 0] = 1  # keep every row/column non-empty
        classes = sorted(rng.choice(CLASS_NAMES, size=kt, replace=False).tolist())
        clusters = sorted(rng.choice(np.arange(-1, 60), size=kp, replace=False).tolist())
        cases.append(large_case(name, classes, clusters, counts.ravel()))
    return cases


def assignment_cases(rng):
    cases = []
    shapes = [(1, 1), (1, 5), (5, 1), (2, 2), (3, 3), (3, 5), (5, 3), (4, 4), (6, 6), (7, 12),
              (12, 7), (10, 10), (15, 9), (9, 15), (20, 20), (30, 25), (25, 30), (8, 40)]
    for rows, cols in shapes:
        for kind in ("int", "float", "ties"):
            if kind == "int":
                cost = rng.integers(-20, 51, size=(rows, cols)).astype(np.float64)
            elif kind == "float":
                cost = rng.uniform(-50.0, 100.0, size=(rows, cols))
            else:  # many equal entries: stresses tie handling
                cost = rng.integers(0, 3, size=(rows, cols)).astype(np.float64)
            r, c = linear_sum_assignment(cost)
            cases.append({
                "name": f"{kind}_{rows}x{cols}",
                "rows": rows,
                "cols": cols,
                "cost": [float(x) for x in cost.ravel()],
                "optimalCost": float(cost[r, c].sum()),
                "matchedCount": int(len(r)),
            })
    return cases


def main():
    rng = np.random.default_rng(SEED)
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }
    doc = {
        "generator": "tools/make_metric_goldens.py",
        "seed": SEED,
        "versions": versions,
        "metricCases": metric_cases(rng),
        "largeMetricCases": large_cases(rng),
        "assignmentCases": assignment_cases(rng),
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "goldens.json")
    # One case per line: compact, yet diffs stay readable when cases change.
    lines = ["{"]
    keys = list(doc)
    for index, key in enumerate(keys):
        comma = "," if index < len(keys) - 1 else ""
        value = doc[key]
        if isinstance(value, list):
            lines.append(f" {json.dumps(key)}: [")
            for i, case in enumerate(value):
                sep = "," if i < len(value) - 1 else ""
                lines.append("  " + json.dumps(case, ensure_ascii=False) + sep)
            lines.append(" ]" + comma)
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # sanity check
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path}: {len(doc['metricCases'])} metric cases, "
          f"{len(doc['largeMetricCases'])} large cases, {len(doc['assignmentCases'])} assignment cases")
    print(f"seed {SEED}; " + ", ".join(f"{k} {v}" for k, v in versions.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
