"""Golden feature maps for the Swift CNN backbones, computed by plain-PyTorch reference models.

Usage (from the package root, after tools/convert_efficientnet_lite0.py has written the real weights):
    python3 tools/make_cnn_goldens.py [--weights weights/efficientnet_lite0.safetensors] [--out Tests/Fixtures/cnn]

1. EfficientNet-Lite0, REAL weights: the converted safetensors is loaded into an EfficientNet-Lite0 written
   below in plain torch (explicit TF-"SAME" padding by F.pad, unfolded BatchNorm eps 1e-3, ReLU6, no SE).
   Outputs of blocks 4 and 10 are stored for the deterministic input (see `deterministic_input`) at 224×224
   (2 images) and at 203×181 (1 image; odd sizes give symmetric and asymmetric SAME padding). A sanity check
   classifies four MVTec screw photos with the same model (printed; at least three must be class 783, "screw").
2. Wide-ResNet (torchvision Bottleneck layout), small random instance: stem 8, planes (8, 16, 32), blocks
   (1, 2, 2), width_per_group 128 (so widths 16, 32, 64 — WRN50-2's ratios at 1/8 width), seed 0, random BN
   statistics so the folding is exercised. It is saved by torch as a zip `.pth` with torchvision names,
   converted by tools/convert_wide_resnet50.py into wrn_small.safetensors, and its layer2/layer3 outputs for
   the deterministic input at 72×60 (2 images) are stored.
All arrays are float32 .npy, (B, C, H, W). Versions are printed and written to the fixture README.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_np  # noqa: E402

torch.set_num_threads(2)


def deterministic_input(batch, height, width):
    """x[b, c, h, w] = float32(sin(0.013·(h+1)·(c+2)) + 0.5·cos(0.021·(w+1)) + 0.1·b), evaluated in float64
    and rounded once to float32 (the Swift tests compute the same formula the same way)."""
    b, c, h, w = np.meshgrid(np.arange(batch), np.arange(3), np.arange(height), np.arange(width), indexing="ij")
    x = np.sin(0.013 * (h + 1) * (c + 2)) + 0.5 * np.cos(0.021 * (w + 1)) + 0.1 * b
    return x.astype(np.float32)


# ---------------------------------------------------------------- EfficientNet-Lite0 (plain torch)

STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]  # repeats, kernel, stride, expansion, out


class Conv2dSame(nn.Conv2d):
    """TensorFlow "SAME": total pad max((⌈in/s⌉−1)·s + k − in, 0), smaller half before."""

    def forward(self, x):
        pads = []
        for size, k, s in ((x.shape[3], self.kernel_size[1], self.stride[1]), (x.shape[2], self.kernel_size[0], self.stride[0])):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, s, e):
        super().__init__()
        mid = cin * e
        self.expand = e != 1
        if self.expand:
            self._expand_conv = Conv2dSame(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, k, stride=s, groups=mid, bias=False)
        self._bn1 = bn(mid)
        self._project_conv = Conv2dSame(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self):
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2, bias=False)
        self._bn0 = bn(32)
        blocks, cin = [], 32
        for repeats, k, s, e, cout in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, k, s if r == 0 else 1, e))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(cin, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x, taps=(4, 10)):
        """(feature maps of the tapped blocks, logits)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        features = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in taps:
                features.append(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return features, self._fc(x.mean(dim=(2, 3)))


def load_efficientnet(path):
    tensors, metadata = safetensors_np.load(path)
    assert metadata.get("architecture") == "efficientnet_lite0", metadata
    model = EfficientNetLite0().eval()
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    assert not missing and not unexpected, (missing, unexpected)
    return model, metadata


def classify_photos(model):
    """Sanity: ImageNet top-1 of MVTec screw photos must be 783 "screw" (resize 256 bilinear, crop 224, (v−127)/128)."""
    from PIL import Image

    data = os.path.join(HERE, "..", "..", "shared", "data", "mvtec_ad")
    if not os.path.isdir(data):
        data = "/work/shared/data/mvtec_ad"
    if not os.path.isdir(data):
        print("  (no MVTec photos found; classification sanity check skipped)")
        return
    hits = 0
    folder = os.path.join(data, "screw", "train", "good")
    for name in sorted(os.listdir(folder))[:4]:
        image = Image.open(os.path.join(folder, name)).convert("RGB")
        scale = 256 / min(image.size)
        image = image.resize((round(image.size[0] * scale), round(image.size[1] * scale)), Image.BILINEAR)
        left, top = (image.size[0] - 224) // 2, (image.size[1] - 224) // 2
        image = image.crop((left, top, left + 224, top + 224))
        x = (torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)[None] - 127) / 128
        with torch.no_grad():
            probs = model(x)[1].softmax(-1)[0]
        top = probs.topk(3)
        hits += int(top.indices[0]) == 783
        print(f"  screw/{name}: top-3 ImageNet classes {top.indices.tolist()} p={[round(float(p), 3) for p in top.values]}")
    assert hits >= 3, "EfficientNet-Lite0 does not recognise MVTec screws as class 783: weights or model are wrong"


def efficientnet_goldens(weights, out):
    model, metadata = load_efficientnet(weights)
    print(f"EfficientNet-Lite0 from {weights} ({metadata.get('source')})")
    classify_photos(model)
    sizes = {}
    for batch, h, w in ((2, 224, 224), (1, 203, 181)):
        x = torch.from_numpy(deterministic_input(batch, h, w))
        with torch.no_grad():
            (b4, b10), _ = model(x)
        for name, t in (("block4", b4), ("block10", b10)):
            path = os.path.join(out, f"efficientnet_lite0_{h}x{w}_{name}.npy")
            np.save(path, t.numpy().astype(np.float32))
            sizes[os.path.basename(path)] = (list(t.shape), float(t.abs().max()))
    return sizes


# ---------------------------------------------------------------- Wide-ResNet (torchvision names, plain torch)

class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride, width_per_group):
        super().__init__()
        width, cout = int(planes * width_per_group / 64), planes * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class WideResNet(nn.Module):
    """torchvision ResNet(Bottleneck) up to layer3 (layer4/fc omitted: the converter drops them anyway)."""

    def __init__(self, stem=64, planes=(64, 128, 256), layers=(3, 4, 6), width_per_group=128):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        cin = stem
        for s, (p, n) in enumerate(zip(planes, layers), start=1):
            blocks = []
            for j in range(n):
                blocks.append(Bottleneck(cin, p, 2 if (j == 0 and s > 1) else 1, width_per_group))
                cin = p * 4
            setattr(self, f"layer{s}", nn.Sequential(*blocks))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer1(x)
        l2 = self.layer2(x)
        return l2, self.layer3(l2)


def randomise(model, seed):
    """Kaiming-normal convolutions and non-trivial BatchNorm statistics, from a fixed seed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
    return model.eval()


def wide_resnet_goldens(out):
    model = randomise(WideResNet(stem=8, planes=(8, 16, 32), layers=(1, 2, 2), width_per_group=128), seed=0)
    target = os.path.join(out, "wrn_small.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        pth = os.path.join(tmp, "wrn_small.pth")
        torch.save(model.state_dict(), pth)  # zip format, torchvision names
        subprocess.run([sys.executable, os.path.join(HERE, "convert_wide_resnet50.py"), pth, target], check=True)
    # The converted file must hold exactly the state dict's tensors (minus num_batches_tracked).
    tensors, metadata = safetensors_np.load(target)
    state = {k: v.numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert set(tensors) == set(state) and all(np.array_equal(tensors[k], state[k]) for k in state)
    print(f"wrn_small metadata: {metadata}")
    sizes = {}
    x = torch.from_numpy(deterministic_input(2, 72, 60))
    with torch.no_grad():
        l2, l3 = model(x)
    for name, t in (("layer2", l2), ("layer3", l3)):
        path = os.path.join(out, f"wrn_small_72x60_{name}.npy")
        np.save(path, t.numpy().astype(np.float32))
        sizes[os.path.basename(path)] = (list(t.shape), float(t.abs().max()))
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(HERE)
    parser.add_argument("--weights", default=os.path.join(root, "weights", "efficientnet_lite0.safetensors"))
    parser.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "cnn"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, numpy {np.__version__}")
    sizes = efficientnet_goldens(args.weights, args.out)
    sizes.update(wide_resnet_goldens(args.out))
    for name, (shape, peak) in sorted(sizes.items()):
        print(f"  {name}: shape {shape}, max |value| {peak:.4f}")


if __name__ == "__main__":
    main()
