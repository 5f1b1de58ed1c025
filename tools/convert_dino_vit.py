#!/usr/bin/env python3
"""Convert a facebookresearch/dino ViT checkpoint (e.g. dino_vitbase8_pretrain.pth) to the project's ViT safetensors.

usage: tools/convert_dino_vit.py CHECKPOINT.pth OUT.safetensors [--num-heads H] [--key teacher|student|...]

No torch needed: the `.pth` (zip or legacy format) is read by tools/torch_pickle_np.py, numpy plus a restricted
unpickler. The checkpoint may be the state dict itself or wrap it (`teacher`, `student`, `state_dict`, `model`);
`module.` and `backbone.` prefixes are stripped and DINO's projection `head.*` is dropped.

Input names (dino `vision_transformer.py`): cls_token [1,1,D], pos_embed [1,1+G*G,D], patch_embed.proj.{weight
[D,3,p,p],bias}, blocks.i.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.{weight,bias}, norm.{weight,bias}.
Output: the canonical ViT naming (see tools/convert_dinov2_onnx.py) with metadata architecture=vit, patch_size,
embed_dim, depth, num_heads (default D/64, as for every DINO ViT: tiny 3, small 6, base 12), mlp_hidden,
layer_norm_eps=1e-06 (DINO's LayerNorm), layer_scale=false, pos_grid, source. Any tensor it does not
recognise is an error naming it.
"""
import argparse
import hashlib
import os
import pickle
import re
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
import torch_pickle_np  # noqa: E402


def fail(message):
    sys.exit(f"convert_dino_vit: {message}")


def load_checkpoint(path):
    """The unpickled checkpoint (tensors as numpy arrays), read by tools/torch_pickle_np.py without torch."""
    try:
        return torch_pickle_np.load_state_dict(path)
    except (ValueError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as error:
        fail(f"{path}: {error}")


def state_dict_of(checkpoint, key=None):
    """The ViT's tensors: the checkpoint itself or its `key` entry, prefixes stripped, DINO head dropped."""
    if key is not None:
        if key not in checkpoint:
            fail(f"checkpoint has no '{key}' entry (it has {sorted(checkpoint)[:8]})")
        checkpoint = checkpoint[key]
    elif "pos_embed" not in checkpoint and not any(k.endswith("pos_embed") for k in checkpoint):
        for wrapper in ("teacher", "student", "state_dict", "model"):  # DINO evaluates the teacher
            if wrapper in checkpoint and isinstance(checkpoint[wrapper], dict):
                checkpoint = checkpoint[wrapper]
                break
    out = {}
    for name, value in checkpoint.items():
        short = re.sub(r"^(module\.)?(backbone\.)?", "", name)
        if short.startswith("head.") or short.startswith("head_drop"):
            continue
        if not isinstance(value, np.ndarray):
            fail(f"entry '{name}' is not a tensor")
        out[short] = value
    return out


def convert(state, num_heads=None):
    out = {}

    def take(name, ndim=None):
        if name not in state:
            fail(f"tensor '{name}' is missing")
        value = state.pop(name).astype(np.float32)
        if ndim is not None and value.ndim != ndim:
            fail(f"tensor '{name}' has shape {list(value.shape)}, expected {ndim} dimensions")
        return value

    weight = take("patch_embed.proj.weight", 4)  # [D, 3, p, p]
    dim, channels, patch, patch_w = weight.shape
    if channels != 3 or patch != patch_w:
        fail(f"patch_embed.proj.weight has shape {list(weight.shape)}, expected [D, 3, p, p]")
    out["patch_embed.weight"] = weight
    out["patch_embed.bias"] = take("patch_embed.proj.bias", 1)
    out["cls_token"] = take("cls_token").reshape(dim)  # [1,1,D] -> [D]
    pos = take("pos_embed")  # [1, 1+G*G, D]
    if pos.ndim != 3 or pos.shape[0] != 1 or pos.shape[2] != dim:
        fail(f"pos_embed has shape {list(pos.shape)}, expected [1, 1+G*G, {dim}]")
    grid = int(round(np.sqrt(pos.shape[1] - 1)))
    if grid * grid + 1 != pos.shape[1]:
        fail(f"pos_embed has {pos.shape[1]} rows, not 1 + a square grid")
    out["pos_embed"] = pos.reshape(pos.shape[1], dim)
    depth = 0
    while f"blocks.{depth}.norm1.weight" in state:
        depth += 1
    if depth == 0:
        fail("no blocks.0.* tensors")
    for i in range(depth):
        for part in ("norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                     "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                     "mlp.fc2.weight", "mlp.fc2.bias"):
            out[f"blocks.{i}.{part}"] = take(f"blocks.{i}.{part}")
    out["norm.weight"] = take("norm.weight")
    out["norm.bias"] = take("norm.bias")
    if state:
        fail(f"unrecognised tensors: {', '.join(sorted(state)[:8])}")
    heads = num_heads or dim // 64
    if heads < 1 or dim % heads:
        fail(f"embed dim {dim} is not a multiple of {heads} heads (pass --num-heads)")
    metadata = {
        "architecture": "vit", "patch_size": patch, "embed_dim": dim, "depth": depth, "num_heads": heads,
        "mlp_hidden": out["blocks.0.mlp.fc1.weight"].shape[0], "layer_norm_eps": "1e-06",
        "layer_scale": "false", "pos_grid": grid,
    }
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}, metadata


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("out")
    parser.add_argument("--num-heads", type=int, help="attention heads (default: embed_dim / 64)")
    parser.add_argument("--key", help="entry of the checkpoint that holds the state dict (default: auto)")
    args = parser.parse_args()
    tensors, metadata = convert(state_dict_of(load_checkpoint(args.checkpoint), args.key), args.num_heads)
    metadata["source"] = f"{os.path.basename(args.checkpoint)} sha256:{sha256(args.checkpoint)}"
    safetensors_np.save(args.out, tensors, metadata)
    params = sum(v.size for v in tensors.values())
    print(f"convert_dino_vit: {len(tensors)} tensors, {params / 1e6:.2f} M parameters -> {args.out}")
    print("  " + ", ".join(f"{k}={v}" for k, v in metadata.items()))


if __name__ == "__main__":
    main()
