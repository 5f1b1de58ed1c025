"""Convert a torchvision Wide-ResNet-50-2 state dict to the project's safetensors weights (numpy only).

Usage: python3 tools/convert_wide_resnet50.py PTH OUT.safetensors
PTH is the user-supplied torchvision `wide_resnet50_2-95faca4d.pth` (IMAGENET1K_V1, zip format) or any
state dict with torchvision ResNet names and Bottleneck blocks (the small test instance in Tests/Fixtures/cnn).
Kept, float32 and unfolded under their torchvision names: `conv1.weight`, `bn1.*`, and every tensor of
`layer1`, `layer2`, `layer3` (`conv{1,2,3}.weight`, `bn{1,2,3}.*`, `downsample.{0,1}.*`) — what the layer2 and
layer3 feature taps need. Dropped: `layer4.*` and `fc.*` (never evaluated) and `num_batches_tracked`.
The architecture is read off the shapes and written as metadata so the Swift loader builds the same network:
  architecture=wide_resnet50_2, stem_channels=64, planes=64,128,256, layers=3,4,6 (bottlenecks per stage),
  width_per_group=128 (torchvision's `base_width`: width = int(planes·width_per_group/64)·groups), groups=1,
  expansion=4 (a bottleneck outputs planes·4 channels), source=<file name> sha256:<hex>.
"""
import hashlib
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
import torch_pickle_np  # noqa: E402

STAGES = 3  # layer1..layer3
EXPANSION = 4


def describe(state):
    """Architecture hyperparameters read off the tensor shapes."""
    stem = state["conv1.weight"].shape[0]
    layers = []
    for s in range(1, STAGES + 1):
        blocks = {int(m.group(1)) for k in state for m in [re.match(rf"layer{s}\.(\d+)\.", k)] if m}
        if not blocks or blocks != set(range(len(blocks))):
            raise SystemExit(f"layer{s}: block indices {sorted(blocks)} are not 0..n-1")
        layers.append(len(blocks))
    planes = [state[f"layer{s}.0.conv3.weight"].shape[0] // EXPANSION for s in range(1, STAGES + 1)]
    width = state["layer1.0.conv1.weight"].shape[0]
    width_per_group = width * 64 // planes[0]
    return {"stem_channels": stem, "planes": planes, "layers": layers, "width_per_group": width_per_group}


def expected_shapes(arch):
    """name -> shape for conv1/bn1 and layer1..3 (torchvision Bottleneck, v1.5: stride in conv2)."""
    shapes = {"conv1.weight": (arch["stem_channels"], 3, 7, 7)}

    def bn(prefix, c):
        for part in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{part}"] = (c,)

    bn("bn1", arch["stem_channels"])
    cin = arch["stem_channels"]
    for s, (planes, blocks) in enumerate(zip(arch["planes"], arch["layers"]), start=1):
        width = int(planes * arch["width_per_group"] / 64)
        cout = planes * EXPANSION
        for j in range(blocks):
            p = f"layer{s}.{j}"
            shapes[f"{p}.conv1.weight"] = (width, cin, 1, 1)
            bn(f"{p}.bn1", width)
            shapes[f"{p}.conv2.weight"] = (width, width, 3, 3)
            bn(f"{p}.bn2", width)
            shapes[f"{p}.conv3.weight"] = (cout, width, 1, 1)
            bn(f"{p}.bn3", cout)
            stride = 2 if (j == 0 and s > 1) else 1
            if stride != 1 or cin != cout:  # torchvision `_make_layer`: projection shortcut when the shape changes
                shapes[f"{p}.downsample.0.weight"] = (cout, cin, 1, 1)
                bn(f"{p}.downsample.1", cout)
            cin = cout
    return shapes


def convert(pth, out):
    state = torch_pickle_np.load_state_dict(pth)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    arch = describe(state)
    shapes = expected_shapes(arch)
    kept = {k: v for k, v in state.items() if not (k.startswith("layer4.") or k.startswith("fc."))}
    missing = sorted(set(shapes) - set(kept))
    extra = sorted(set(kept) - set(shapes))
    if missing or extra:
        raise SystemExit(f"{pth}: missing {missing[:5]}, unexpected {extra[:5]} — not a torchvision Bottleneck ResNet?")
    for name, shape in shapes.items():
        if tuple(kept[name].shape) != shape:
            raise SystemExit(f"{pth}: tensor '{name}' has shape {list(kept[name].shape)}, expected {list(shape)}")
        kept[name] = kept[name].astype(np.float32)
    with open(pth, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    metadata = {
        "architecture": "wide_resnet50_2",
        "stem_channels": arch["stem_channels"],
        "planes": ",".join(map(str, arch["planes"])),
        "layers": ",".join(map(str, arch["layers"])),
        "width_per_group": arch["width_per_group"],
        "groups": 1,
        "expansion": EXPANSION,
        "source": f"{os.path.basename(pth)} sha256:{digest}",
    }
    safetensors_np.save(out, kept, metadata)
    print(f"wrote {out}: {len(kept)} tensors, {sum(t.size for t in kept.values())} parameters, {metadata}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[2])
    convert(sys.argv[1], sys.argv[2])
