#!/usr/bin/env python3
"""Write the image goldens used by Tests/EngineTests/ImageDecoderTests.swift and PreprocessingTests.swift.

Test images are our own: seeded noise plus gradients, written in every PNG colour type and bit depth
(a tiny PNG writer below covers what Pillow cannot write: 1/2/4-bit gray and palette, 16-bit, Adam7
interlacing, tRNS everywhere) and as JPEGs by Pillow. Broken files are derived from valid ones.

Expected outputs:
- decoded RGB bytes: Pillow's `Image.open(f).convert("RGB")` for every 8-bit-or-less PNG and every JPEG.
  For 16-bit PNGs Pillow keeps only the high byte (or clips 16-bit gray), while we round
  v*255/65535, so those expectations come from the samples we wrote (the manifest records how far
  Pillow is from them). For PNGs the samples-based model is also checked against Pillow here.
- preprocessing: torchvision's Resize(int) + CenterCrop + ToTensor + Normalize done by hand with
  Pillow's `img.resize((w, h), Image.BILINEAR)` and float32 numpy. Pillow 13 runs the vertical
  pass first when the height shrinks by more than twice as many pixels as the width; Pillow <= 12
  always ran the horizontal pass first. Both orders are written, each made from two one-axis
  Pillow resizes in that order (bit-identical to one call), and the installed Pillow's one-call
  result is checked against the order its version uses.

Needs numpy and Pillow only. Run from the repository root:

    python3 tools/make_image_goldens.py
"""
import json
import os
import struct
import warnings
import zlib

import numpy as np
import PIL
from PIL import Image, features

SEED = 20250611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "images")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

rng = np.random.default_rng(SEED)
manifest = {"decode": [], "preprocess": []}


def path(name):
    return os.path.join(OUT, name)


def write_bytes(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------
# Test content
# ---------------------------------------------------------------------------------------------

def pattern(h, w, channels, maxval=255, noise=0.25):
    """Gradients in different directions per channel plus seeded uniform noise, in [0, maxval]."""
    y = np.arange(h, dtype=np.float64)[:, None] / max(h - 1, 1)
    x = np.arange(w, dtype=np.float64)[None, :] / max(w - 1, 1)
    bases = [x + 0 * y, y + 0 * x, (x + y) / 2, 1 - x * y]
    planes = []
    for c in range(channels):
        noisy = bases[c % 4] * (1 - noise) + rng.random((h, w)) * noise
        planes.append(np.clip(np.rint(noisy * maxval), 0, maxval))
    return np.stack(planes, axis=-1).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# A small PNG writer (every colour type, bit depth, filter type and Adam7)
# ---------------------------------------------------------------------------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """One scanline's samples (flat ints) packed big-endian / MSB-first as the PNG spec says."""
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    if depth == 16:
        return samples.astype(">u2").tobytes()
    per_byte = 8 // depth
    out = bytearray((len(samples) * depth + 7) // 8)
    for i, v in enumerate(samples):
        out[i // per_byte] |= int(v) << (8 - depth * (i % per_byte + 1))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(kind, raw, prev, bpp):
    out = bytearray(len(raw))
    for i in range(len(raw)):
        a = raw[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out[i] = (raw[i] - predictor) & 0xFF
    return bytes(out)


def scanlines(samples, depth, interlace):
    """Filtered image data; the filter type cycles 0..4 so every unfilter path is exercised."""
    channels = samples.shape[2]
    bpp = max(1, channels * depth // 8)
    out = bytearray()
    row_index = 0
    for x0, y0, dx, dy in (ADAM7 if interlace else [(0, 0, 1, 1)]):
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue  # empty Adam7 passes have no scanlines at all
        prev = bytes(len(pack_row(sub[0].reshape(-1), depth)))
        for row in sub:
            raw = pack_row(row.reshape(-1), depth)
            kind = row_index % 5
            row_index += 1
            out += bytes([kind]) + filter_row(kind, raw, prev, bpp)
            prev = raw
    return bytes(out)


def png_bytes(samples, color_type, depth, interlace=False, palette=None, trns=None, extra=(), idat_size=997):
    h, w = samples.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    data = zlib.compress(scanlines(samples, depth, interlace), 9)
    parts = [chunk(b"IHDR", ihdr)]
    parts += [chunk(tag, body) for tag, body in extra]
    if palette is not None:
        parts.append(chunk(b"PLTE", palette.astype(np.uint8).tobytes()))
    if trns is not None:
        parts.append(chunk(b"tRNS", trns))
    for i in range(0, len(data), idat_size):  # several IDAT chunks, as large files have
        parts.append(chunk(b"IDAT", data[i:i + idat_size]))
    parts.append(chunk(b"IEND", b""))
    return PNG_SIGNATURE + b"".join(parts)


def model_rgb(samples, color_type, depth, palette=None):
    """What the decoder must produce from the samples: PIL convert("RGB") semantics, 16-bit rounded."""
    if color_type == 3:
        return palette[samples[..., 0]].astype(np.uint8)
    s = samples.astype(np.int64)
    if depth == 16:
        v = (s * 255 + 32767) // 65535  # round(v*255/65535); never a tie because 65535 = 255*257
    elif depth < 8:
        v = s * (255 // ((1 << depth) - 1))
    else:
        v = s
    if color_type in (0, 4):
        v = np.repeat(v[..., :1], 3, axis=-1)
    else:
        v = v[..., :3]
    return v.astype(np.uint8)


def pillow_rgb(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow suggests RGBA for palette+tRNS; we want convert("RGB")
        with Image.open(path(name)) as im:
            return np.asarray(im.convert("RGB"))


def add_decode_case(name, fmt, expected, oracle, pillow_max_difference=0):
    h, w = expected.shape[:2]
    raw = name.rsplit(".", 1)[0] + ".rgb"
    write_bytes(raw, np.ascontiguousarray(expected, dtype=np.uint8).tobytes())
    manifest["decode"].append({
        "file": name, "format": fmt, "width": int(w), "height": int(h), "expected": raw,
        "oracle": oracle, "pillowMaxDifference": int(pillow_max_difference),
    })


def add_png(name, samples, color_type, depth, **kwargs):
    write_bytes(name, png_bytes(samples, color_type, depth, **kwargs))
    model = model_rgb(samples, color_type, depth, kwargs.get("palette"))
    pil = pillow_rgb(name)
    difference = int(np.abs(pil.astype(np.int64) - model.astype(np.int64)).max())
    if depth == 16:
        add_decode_case(name, "png", model, "samples (Pillow truncates 16-bit)", difference)
    else:
        assert difference == 0, f"{name}: Pillow disagrees with the sample model by {difference}"
        add_decode_case(name, "png", pil, "pillow")


def palette_samples(h, w, entries):
    return rng.integers(0, entries, size=(h, w, 1))


def random_palette(entries):
    return rng.integers(0, 256, size=(entries, 3))


def make_pngs():
    h, w = 23, 37
    for depth in (1, 2, 4, 8, 16):
        add_png(f"png_gray{depth}_37x23.png", pattern(h, w, 1, (1 << depth) - 1), 0, depth)
    add_png("png_gray8_trns_37x23.png", pattern(h, w, 1), 0, 8, trns=struct.pack(">H", 128))
    add_png("png_gray1_interlaced_37x23.png", pattern(h, w, 1, 1), 0, 1, interlace=True)
    add_png("png_gray16_interlaced_37x23.png", pattern(h, w, 1, 65535), 0, 16, interlace=True)
    add_png("png_graya8_37x23.png", pattern(h, w, 2), 4, 8)
    add_png("png_graya16_37x23.png", pattern(h, w, 2, 65535), 4, 16)
    add_png("png_graya8_interlaced_37x23.png", pattern(h, w, 2), 4, 8, interlace=True)
    for depth in (1, 2, 4, 8):
        entries = min(1 << depth, 200)
        add_png(f"png_palette{depth}_37x23.png", palette_samples(h, w, entries), 3, depth,
                palette=random_palette(entries))
    add_png("png_palette8_trns_37x23.png", palette_samples(h, w, 50), 3, 8,
            palette=random_palette(50), trns=bytes(rng.integers(0, 256, size=20).astype(np.uint8)))
    add_png("png_palette4_trns_interlaced_37x23.png", palette_samples(h, w, 16), 3, 4,
            palette=random_palette(16), trns=bytes([0, 255, 17]), interlace=True)
    add_png("png_rgb8_37x23.png", pattern(h, w, 3), 2, 8,
            extra=[(b"gAMA", struct.pack(">I", 45455)), (b"tEXt", b"Comment\x00ignored by the decoder")])
    add_png("png_rgb8_trns_37x23.png", pattern(h, w, 3), 2, 8, trns=struct.pack(">HHH", 10, 20, 30))
    add_png("png_rgb16_37x23.png", pattern(h, w, 3, 65535), 2, 16)
    add_png("png_rgb8_interlaced_37x23.png", pattern(h, w, 3), 2, 8, interlace=True)
    add_png("png_rgb16_interlaced_37x23.png", pattern(h, w, 3, 65535), 2, 16, interlace=True)
    add_png("png_rgba8_37x23.png", pattern(h, w, 4), 6, 8)
    add_png("png_rgba16_37x23.png", pattern(h, w, 4, 65535), 6, 16)
    add_png("png_rgba8_interlaced_37x23.png", pattern(h, w, 4), 6, 8, interlace=True)
    # Odd shapes: a single pixel (interlaced: six of the seven passes are empty), a tiny interlaced
    # image, a long thin strip.
    add_png("png_rgb8_16x16.png", pattern(16, 16, 3), 2, 8)
    add_png("png_rgb8_1x1.png", pattern(1, 1, 3), 2, 8)
    add_png("png_gray1_interlaced_1x1.png", np.array([[[1]]]), 0, 1, interlace=True)
    add_png("png_rgb8_interlaced_3x2.png", pattern(2, 3, 3), 2, 8, interlace=True)
    add_png("png_rgb8_500x17.png", pattern(17, 500, 3), 2, 8)
    add_png("png_rgb8_20x90.png", pattern(90, 20, 3), 2, 8)
    add_png("png_rgb8_17x500.png", pattern(500, 17, 3), 2, 8)
    # Every 16-bit value once (row-major 0..65535): the Swift test checks round(v*255/65535) for all.
    ramp = np.arange(65536, dtype=np.int64).reshape(256, 256, 1)
    write_bytes("png_gray16_all_values_256x256.png", png_bytes(ramp, 0, 16))

    # Written by Pillow's own encoder, as real uploads might be.
    for name, array, mode in [
        ("pillow_rgb_300x200.png", pattern(200, 300, 3, noise=0.05), "RGB"),
        ("pillow_rgba_64x48.png", pattern(48, 64, 4), "RGBA"),
        ("pillow_gray_64x48.png", pattern(48, 64, 1)[..., 0], "L"),
    ]:
        Image.fromarray(array.astype(np.uint8), mode).save(path(name))
        add_decode_case(name, "png", pillow_rgb(name), "pillow")
    indices = Image.fromarray(palette_samples(48, 64, 64)[..., 0].astype(np.uint8), "P")
    indices.putpalette(random_palette(64).astype(np.uint8).tobytes())
    indices.save(path("pillow_palette_trns_64x48.png"), transparency=3)
    add_decode_case("pillow_palette_trns_64x48.png", "png", pillow_rgb("pillow_palette_trns_64x48.png"), "pillow")


def make_jpegs():
    smooth = lambda h, w: pattern(h, w, 3, noise=0.1).astype(np.uint8)
    cases = [
        ("jpeg_baseline420_64x48.jpg", smooth(48, 64), "RGB", {"quality": 90}),
        ("jpeg_baseline444_37x23.jpg", smooth(23, 37), "RGB", {"quality": 90, "subsampling": 0}),
        ("jpeg_baseline422_37x23.jpg", smooth(23, 37), "RGB", {"quality": 75, "subsampling": 1}),
        ("jpeg_progressive_64x48.jpg", smooth(48, 64), "RGB", {"quality": 85, "progressive": True}),
        ("jpeg_progressive420_37x23.jpg", smooth(23, 37), "RGB", {"quality": 60, "progressive": True}),
        ("jpeg_gray_37x23.jpg", smooth(23, 37)[..., 0], "L", {"quality": 90}),
        ("jpeg_gray_progressive_64x48.jpg", smooth(48, 64)[..., 1], "L", {"progressive": True}),
        ("jpeg_optimized_300x200.jpg", smooth(200, 300), "RGB", {"quality": 85, "optimize": True}),
        ("jpeg_1x1.jpg", smooth(1, 1), "RGB", {}),
        ("jpeg_500x17.jpg", smooth(17, 500), "RGB", {"quality": 95}),
        ("jpeg_restart_64x48.jpg", smooth(48, 64), "RGB", {"restart_marker_rows": 1}),
    ]
    for name, array, mode, options in cases:
        Image.fromarray(array, mode).save(path(name), "JPEG", **options)
        add_decode_case(name, "jpeg", pillow_rgb(name), "pillow")
    cmyk = pattern(23, 37, 4).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(path("jpeg_cmyk_37x23.jpg"), "JPEG")


# ---------------------------------------------------------------------------------------------
# Broken files (the Swift tests hold the expected error of each)
# ---------------------------------------------------------------------------------------------

def first_chunk_offset(data, tag):
    offset = 8
    while offset < len(data):
        length = struct.unpack(">I", data[offset:offset + 4])[0]
        if data[offset + 4:offset + 8] == tag:
            return offset, length
        offset += 12 + length
    raise ValueError(tag)


def make_broken():
    good = png_bytes(pattern(48, 64, 3, noise=1.0), 2, 8)  # noise: the data does not compress
    write_bytes("broken_png_truncated.png", good[:int(len(good) * 0.6)])
    write_bytes("broken_png_missing_iend.png", good[:-12])
    write_bytes("broken_png_bad_magic.png", b"\x89PNX" + good[4:])
    offset, length = first_chunk_offset(good, b"IDAT")
    crc_at = offset + 8 + length
    write_bytes("broken_png_bad_crc_idat.png", good[:crc_at] + bytes([good[crc_at] ^ 0xFF]) + good[crc_at + 1:])
    write_bytes("broken_png_bad_crc_ihdr.png", good[:29] + bytes([good[29] ^ 0xFF]) + good[30:])
    # Valid CRC, but the zlib stream header is wrong.
    body = bytearray(good[offset + 8:offset + 8 + length])
    body[0] ^= 0x0F
    write_bytes("broken_png_bad_zlib.png", good[:offset] + chunk(b"IDAT", bytes(body)) + good[crc_at + 4:])

    def header_only(width, height, depth=8, color_type=2):
        ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
        idat = zlib.compress(b"\x00" * 64)
        return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")

    write_bytes("broken_png_huge_100000x100000.png", header_only(100000, 100000))
    write_bytes("broken_png_huge_width.png", header_only(0x7FFFFFFF, 1))
    write_bytes("broken_png_zero_width.png", header_only(0, 23))
    write_bytes("broken_png_bad_depth.png", header_only(37, 23, depth=4, color_type=2))
    write_bytes("broken_empty.bin", b"")
    write_bytes("broken_text.bin", b"hello, not an image\n")

    with open(path("jpeg_baseline420_64x48.jpg"), "rb") as f:
        jpeg = f.read()
    write_bytes("broken_jpeg_truncated.jpg", jpeg[:int(len(jpeg) * 0.6)])
    write_bytes("broken_jpeg_no_scan.jpg", jpeg[:jpeg.index(b"\xff\xda")])
    sof = jpeg.index(b"\xff\xc0")
    write_bytes("broken_jpeg_lossless.jpg", jpeg[:sof + 1] + b"\xc3" + jpeg[sof + 2:])
    write_bytes("broken_jpeg_zero_height.jpg", jpeg[:sof + 5] + b"\x00\x00" + jpeg[sof + 7:])


# ---------------------------------------------------------------------------------------------
# Preprocessing: torchvision Resize(int) → CenterCrop → ToTensor → Normalize, on PIL images
# ---------------------------------------------------------------------------------------------

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
FULL_LIMIT_BYTES = 40_000  # larger outputs are stored as row hashes / sampled values


def resize_output_size(w, h, size):
    """torchvision `_compute_resized_output_size` for an int size: the long side is truncated."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


def center_crop(arr, crop):
    """torchvision F.center_crop on a PIL image: zero padding when too small, then round() offsets."""
    h, w = arr.shape[:2]
    if crop > w or crop > h:
        pad_l = (crop - w) // 2 if crop > w else 0
        pad_t = (crop - h) // 2 if crop > h else 0
        pad_r = (crop - w + 1) // 2 if crop > w else 0
        pad_b = (crop - h + 1) // 2 if crop > h else 0
        arr = np.pad(arr, ((pad_t, pad_b), (pad_l, pad_r), (0, 0)))
        h, w = arr.shape[:2]
    top = int(round((h - crop) / 2.0))
    left = int(round((w - crop) / 2.0))
    return arr[top:top + crop, left:left + crop]


def fnv1a64_rows(arr):
    """FNV-1a 64-bit hash of each row's bytes (vectorised over rows)."""
    rows = arr.reshape(arr.shape[0], -1).astype(np.uint64)
    h = np.full(rows.shape[0], 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for j in range(rows.shape[1]):
            h = (h ^ rows[:, j]) * prime
    return [f"{int(v):016x}" for v in h]


def pillow_version_order():
    major = int(PIL.__version__.split(".")[0])
    return "pillow13" if major >= 13 else "horizontalFirst"


def vertical_first(order, w, h, new_w, new_h):
    """Pillow 13's ImagingResampleInner rule; Pillow <= 12 always went horizontal first."""
    return order == "pillow13" and (h - new_h) > 0 and (h - new_h) > (w - new_w) * 2


def pillow_resize(image, new_w, new_h, order):
    """Image.resize(BILINEAR) with the given pass order, as two one-axis Pillow resizes."""
    w, h = image.size
    if (new_w, new_h) == (w, h):
        return image  # torchvision returns the image itself when the size is unchanged
    if new_w == w or new_h == h:
        return image.resize((new_w, new_h), Image.Resampling.BILINEAR)  # a single pass either way
    if vertical_first(order, w, h, new_w, new_h):
        middle = image.resize((w, new_h), Image.Resampling.BILINEAR)
    else:
        middle = image.resize((new_w, h), Image.Resampling.BILINEAR)
    two_step = middle.resize((new_w, new_h), Image.Resampling.BILINEAR)
    if order == pillow_version_order():
        one_call = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
        assert np.array_equal(np.asarray(one_call), np.asarray(two_step)), "pass-order emulation is off"
    return two_step


def add_preprocess_case(name, source_name, resize, crop, normalization, order="pillow13"):
    entry = next(e for e in manifest["decode"] if e["file"] == source_name)
    w, h = entry["width"], entry["height"]
    with open(path(entry["expected"]), "rb") as f:
        source = np.frombuffer(f.read(), dtype=np.uint8).reshape(h, w, 3)
    new_w, new_h = resize_output_size(w, h, resize)
    resized = np.asarray(pillow_resize(Image.fromarray(source, "RGB"), new_w, new_h, order))
    cropped = center_crop(resized, crop)
    if normalization == "imageNet":
        x = cropped.astype(np.float32) / np.float32(255)  # ToTensor
        x = (x - IMAGENET_MEAN) / IMAGENET_STD  # Normalize
    else:
        x = (cropped.astype(np.float32) - np.float32(127)) / np.float32(128)
    tensor = np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)  # (3, crop, crop)
    assert tensor.dtype == np.float32 and tensor.shape == (3, crop, crop)

    case = {"name": name, "source": entry["expected"], "sourceWidth": w, "sourceHeight": h,
            "resize": resize, "crop": crop, "normalization": normalization, "passOrder": order,
            "verticalFirst": vertical_first(order, w, h, new_w, new_h),
            "resizedWidth": new_w, "resizedHeight": new_h}
    if resized.nbytes <= FULL_LIMIT_BYTES:
        case["resized"] = f"pre_{name}.resized.rgb"
        write_bytes(case["resized"], resized.tobytes())
    else:
        case["resizedRowHashes"] = fnv1a64_rows(resized)
    if tensor.nbytes <= FULL_LIMIT_BYTES:
        case["tensor"] = f"pre_{name}.tensor.f32"
        write_bytes(case["tensor"], tensor.astype("<f4").tobytes())
    else:
        flat = tensor.reshape(-1)
        stride = 397  # prime, so the samples walk across channels, rows and columns
        case["tensorSampleStride"] = stride
        case["tensorSamples"] = [float(v) for v in flat[::stride]]
        case["tensorSum"] = float(flat.astype(np.float64).sum())
    manifest["preprocess"].append(case)


def make_preprocess():
    add_preprocess_case("down_64x48_r32_c28", "pillow_rgba_64x48.png", 32, 28, "imageNet")
    add_preprocess_case("up_16_r32_c32_lite", "png_rgb8_16x16.png", 32, 32, "efficientNetLite")
    add_preprocess_case("up_300x200_r256_c224", "pillow_rgb_300x200.png", 256, 224, "imageNet")
    add_preprocess_case("up_300x200_r448_c392", "jpeg_optimized_300x200.jpg", 448, 392, "imageNet")
    add_preprocess_case("down_300x200_r100_c90_lite", "pillow_rgb_300x200.png", 100, 90, "efficientNetLite")
    add_preprocess_case("down_300x200_r37_c37", "jpeg_optimized_300x200.jpg", 37, 37, "imageNet")
    add_preprocess_case("strip_500x17_r256_c224", "png_rgb8_500x17.png", 256, 224, "imageNet")
    add_preprocess_case("strip_500x17_r9_c9", "jpeg_500x17.jpg", 9, 9, "imageNet")
    add_preprocess_case("same_37x23_r23_c20", "png_rgb8_37x23.png", 23, 20, "imageNet")
    add_preprocess_case("pad_37x23_r20_c24", "png_rgba8_37x23.png", 20, 24, "imageNet")
    add_preprocess_case("pixel_1x1_r4_c4", "png_rgb8_1x1.png", 4, 4, "efficientNetLite")
    add_preprocess_case("down_64x48_r17_c15", "jpeg_progressive_64x48.jpg", 17, 15, "imageNet")
    # Portrait downscales: Pillow 13 runs the vertical pass first here, Pillow <= 12 did not.
    add_preprocess_case("tall_20x90_r8_c8", "png_rgb8_20x90.png", 8, 8, "imageNet")
    add_preprocess_case("tall_20x90_r8_c8_h_first", "png_rgb8_20x90.png", 8, 8, "imageNet", "horizontalFirst")
    add_preprocess_case("tall_20x90_r13_c11", "png_rgb8_20x90.png", 13, 11, "efficientNetLite")
    add_preprocess_case("tall_20x90_r13_c11_h_first", "png_rgb8_20x90.png", 13, 11, "efficientNetLite",
                        "horizontalFirst")
    add_preprocess_case("tall_500x17_t_r9_c9", "png_rgb8_17x500.png", 9, 9, "imageNet")
    add_preprocess_case("tall_500x17_t_r9_c9_h_first", "png_rgb8_17x500.png", 9, 9, "imageNet", "horizontalFirst")
    # Wide images are resized horizontal-first by every Pillow version.
    add_preprocess_case("strip_500x17_r9_c9_h_first", "jpeg_500x17.jpg", 9, 9, "imageNet", "horizontalFirst")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name != "README.md":
            os.remove(path(name))
    make_pngs()
    make_jpegs()
    make_broken()
    make_preprocess()
    manifest["versions"] = {
        "numpy": np.__version__, "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"), "zlib": features.version("zlib"),
        "seed": SEED,
    }
    with open(path("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(path(n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
