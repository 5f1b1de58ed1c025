#!/usr/bin/env bash
# Quality of the scalable search on real images (issue 6): Z of a labelled image folder through a backbone
# (once), the exact clustering, then each scalable setting with two seeds: ARI between its clusters and the
# exact ones, and NMI / ARI / F1 against the folder labels. Prints a Markdown table.
# Usage: tools/scalable_quality.sh DIR [BACKBONE] [TAU]   e.g. ../shared/data/mvtec_ad/bottle/test dinov2-vits14 2
# Settings: SETTINGS="--references 16;--projection 256;…" overrides the list below. Release build expected.
set -euo pipefail
DIR=${1:?usage: tools/scalable_quality.sh DIR [BACKBONE] [TAU]}
BACKBONE=${2:-dinov2-vits14}
TAU=${3:-2}
BIN=${BIN:-.build/release/anomaly-clustering}
SETTINGS=${SETTINGS:-"--references 16;--references 32;--references 48;--projection 512;--projection 256;--projection 128;--references 32 --projection 256"}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}

"$BIN" cluster "$DIR" --backbone "$BACKBONE" --tau "$TAU" --save-patch-embeddings "$WORK/z.npy" --json > "$WORK/exact.json"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
r = json.load(open(f"{work}/exact.json"))
open(f"{work}/truth.csv", "w").write("image,label\n" + "".join(f"{a['image']},{a['label']}\n" for a in r["assignments"]))
open(f"{work}/exact.csv", "w").write("image,label\n" + "".join(f"{a['image']},c{a['cluster']}\n" for a in r["assignments"]))
m = r["metrics"]
print(f"{len(r['assignments'])} images, {r['clusters']} clusters")
print()
print("| search | seed | ARI(exact, scalable) | NMI / ARI / F1 vs labels |")
print("|---|---|---|---|")
print(f"| exact | – | 1 | {m['nmi']:.3f} / {m['ari']:.3f} / {m['f1']:.3f} |")
PY
cat > "$WORK/row.py" <<'PY'
import json, sys
agreement, truth, seed = json.loads(sys.argv[1]), json.loads(sys.argv[2])["metrics"], sys.argv[3]
print(f"| {agreement['search']} | {seed} | {agreement['metrics']['ari']:.3f} | {truth['nmi']:.3f} / {truth['ari']:.3f} / {truth['f1']:.3f} |")
PY
IFS=';' read -ra LIST <<< "$SETTINGS"
for setting in "${LIST[@]}"; do
  for seed in 0 1; do
    # shellcheck disable=SC2086
    agreement=$("$BIN" cluster "$WORK/z.npy" --labels "$WORK/exact.csv" --tau "$TAU" $setting --seed $seed --json)
    # shellcheck disable=SC2086
    truth=$("$BIN" cluster "$WORK/z.npy" --labels "$WORK/truth.csv" --tau "$TAU" $setting --seed $seed --json)
    python3 "$WORK/row.py" "$agreement" "$truth" "$seed"
  done
done
