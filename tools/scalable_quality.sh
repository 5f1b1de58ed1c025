#!/usr/bin/env bash
# Quality of the scalable search on real images (issue 6): Z of a labelled image folder through a backbone
# (once), the exact clustering, then each scalable setting with two seeds: ARI between its clusters and the
# exact ones, and NMI / ARI / F1 against the folder labels. Prints a Markdown table.
# Usage: tools/scalable_quality.sh DIR [BACKBONE] [TAU]   e.g. ../shared/data/mvtec_ad/bottle/test dinov2-vits14 2
# Settings: SETTINGS="--references 16;--projection 256;…" overrides the list below. Release build expected.
# SUBSET=runs.json (an `evaluate` output) restricts DIR to the images that run chose for CATEGORY (e.g. the
# seeded 50-per-class NEU subset): SUBSET=out/results/runs.json CATEGORY=neu_det tools/scalable_quality.sh ../shared/data/neu_det
# MIRROR=1 doubles the batch with each image's left-right mirror (a synthetic batch built from real images).
set -euo pipefail
DIR=${1:?usage: tools/scalable_quality.sh DIR [BACKBONE] [TAU]}
BACKBONE=${2:-dinov2-vits14}
TAU=${3:-2}
BIN=${BIN:-.build/release/anomaly-clustering}
SETTINGS=${SETTINGS:-"--references 16;--references 32;--references 48;--projection 512;--projection 256;--projection 128;--references 32 --projection 256"}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}

if [ -n "${SUBSET:-}" ]; then
  # A scratch folder <label>/<file> with copies of exactly the images the evaluation used.
  python3 - "$SUBSET" "${CATEGORY:?CATEGORY names the category in SUBSET}" "$(realpath "$DIR")" "$WORK/subset" <<'PY'
import json, os, shutil, sys
runs, category, root, out = sys.argv[1:]
chosen = next(c for c in json.load(open(runs))["categories"] if c["name"] == category)["test_images"]
for rel in chosen:
    os.makedirs(os.path.dirname(f"{out}/{rel}"), exist_ok=True)
    shutil.copyfile(f"{root}/{rel}", f"{out}/{rel}")  # copies: image folders take regular files only
print(f"subset: {len(chosen)} images of {category} from {runs}", file=sys.stderr)
PY
  DIR=$WORK/subset
fi

if [ -n "${MIRROR:-}" ]; then
  # A synthetic batch twice the size, built from the real images: each image and its left-right mirror
  # (same label; a mirrored defect is still that defect, at another place). Needs Pillow.
  python3 - "$(realpath "$DIR")" "$WORK/mirrored" <<'PY'
import os, sys
from PIL import Image, ImageOps
root, out = sys.argv[1:]
count = 0
for label in sorted(os.listdir(root)):
    if not os.path.isdir(f"{root}/{label}"):
        continue
    os.makedirs(f"{out}/{label}", exist_ok=True)
    for name in sorted(os.listdir(f"{root}/{label}")):
        stem, ext = os.path.splitext(name)
        image = Image.open(f"{root}/{label}/{name}")
        image.save(f"{out}/{label}/{name}")
        ImageOps.mirror(image).save(f"{out}/{label}/{stem}_mirror{ext}")
        count += 2
print(f"mirrored batch: {count} images", file=sys.stderr)
PY
  DIR=$WORK/mirrored
fi

# Z once through the backbone (average mode: the cheap way to get Z and the folder labels), then the exact
# clustering from the stored Z, timed like the scalable runs below (wall seconds of the whole command).
"$BIN" cluster "$DIR" --backbone "$BACKBONE" --mode average --save-patch-embeddings "$WORK/z.npy" --json > "$WORK/z.json"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
rows = json.load(open(f"{work}/z.json"))["assignments"]
open(f"{work}/truth.csv", "w").write("image,label\n" + "".join(f"{a['image']},{a['label']}\n" for a in rows))
PY
start=$(date +%s.%N)
"$BIN" cluster "$WORK/z.npy" --labels "$WORK/truth.csv" --tau "$TAU" --json > "$WORK/exact.json"
echo "$start $(date +%s.%N)" > "$WORK/exact.seconds"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
t0, t1 = map(float, open(f"{work}/exact.seconds").read().split())
r = json.load(open(f"{work}/exact.json"))
m = r["metrics"]
print(f"{len(r['assignments'])} images, {r['clusters']} clusters")
print()
print("| search | seed | seconds | ARI(exact, scalable) | NMI / ARI / F1 vs labels |")
print("|---|---|---|---|---|")
print(f"| exact | – | {t1 - t0:.1f} | 1 | {m['nmi']:.3f} / {m['ari']:.3f} / {m['f1']:.3f} |")
PY
# One clustering per setting and seed: metrics against the labels from the run, agreement with the exact
# clusters computed here (sklearn's ARI, the same definition as the engine's).
cat > "$WORK/row.py" <<'PY'
import json, sys
from sklearn.metrics import adjusted_rand_score
exact, run, seed, seconds = json.load(open(sys.argv[1])), json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4])
agreement = adjusted_rand_score([a["cluster"] for a in exact["assignments"]], [a["cluster"] for a in run["assignments"]])
m = run["metrics"]
print(f"| {run.get('search', 'exact')} | {seed} | {seconds:.1f} | {agreement:.3f} | {m['nmi']:.3f} / {m['ari']:.3f} / {m['f1']:.3f} |")
PY
IFS=';' read -ra LIST <<< "$SETTINGS"
for setting in "${LIST[@]}"; do
  for seed in 0 1; do
    # shellcheck disable=SC2086
    start=$(date +%s.%N)
    run=$("$BIN" cluster "$WORK/z.npy" --labels "$WORK/truth.csv" --tau "$TAU" $setting --seed $seed --json)
    python3 "$WORK/row.py" "$WORK/exact.json" "$run" "$seed" "$(echo "$(date +%s.%N) - $start" | bc)"
  done
done
