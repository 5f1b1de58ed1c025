// EfficientNet-Lite0 as a feature extractor (WEIGHTS.md): stem 3×3 stride 2 → 32 channels, then 16 MBConv
// blocks in 7 stages, TensorFlow "SAME" padding, BatchNorm eps 1e-3 folded at load, ReLU6 throughout.
// The input must already be scaled the model's own way, (v − 127)/128 for v in 0…255 — not ImageNet
// mean/std. `forward` returns the outputs of the requested blocks (default 4 and 10: 40×28×28 and
// 112×14×14 at 224) and stops after the last one.
import Foundation

/// EfficientNet-Lite0 up to the last requested block, batch-first in and out.
public struct EfficientNetLite: Sendable {
    /// One stage of the architecture table: `repeats` blocks, the stride on the first.
    public struct Stage: Sendable, Equatable {
        public let repeats: Int, kernel: Int, stride: Int, expansion: Int, outChannels: Int
    }

    /// EfficientNet-Lite0's stages (WEIGHTS.md), 16 blocks in all.
    public static let lite0Stages: [Stage] = [
        Stage(repeats: 1, kernel: 3, stride: 1, expansion: 1, outChannels: 16),
        Stage(repeats: 2, kernel: 3, stride: 2, expansion: 6, outChannels: 24),
        Stage(repeats: 2, kernel: 5, stride: 2, expansion: 6, outChannels: 40),
        Stage(repeats: 3, kernel: 3, stride: 2, expansion: 6, outChannels: 80),
        Stage(repeats: 3, kernel: 5, stride: 1, expansion: 6, outChannels: 112),
        Stage(repeats: 4, kernel: 5, stride: 2, expansion: 6, outChannels: 192),
        Stage(repeats: 1, kernel: 3, stride: 1, expansion: 6, outChannels: 320),
    ]
    public static let stemChannels = 32
    public static let headChannels = 1280
    public static let classes = 1000
    /// The reference's `batch_norm_epsilon`.
    public static let batchNormEpsilon = 1e-3
    /// The PatchCore taps: ends of the stride-8 and stride-16 stages.
    public static let defaultTaps = [4, 10]

    /// Block indices (0-based, strictly increasing) whose outputs `forward` returns.
    public let taps: [Int]
    /// `_conv_stem` + `_bn0`, 3 → 32, 3×3 stride 2, ReLU6.
    let stem: Conv2D
    /// `_blocks.0` … `_blocks.15`.
    let blocks: [MBConvBlock]

    /// Loads a file written by `tools/convert_efficientnet_lite0.py`. Every tensor is checked; the head
    /// (`_conv_head`, `_bn1`, `_fc`) is validated and discarded, since features stop at a block.
    public init(weights file: SafeTensorsFile, taps: [Int] = Self.defaultTaps) throws(WeightsError) {
        let blockCount = Self.lite0Stages.reduce(0) { $0 + $1.repeats }
        precondition(!taps.isEmpty && taps == taps.sorted() && Set(taps).count == taps.count, "taps must be strictly increasing")
        precondition(taps.allSatisfy { (0..<blockCount).contains($0) }, "taps must lie in 0..<\(blockCount)")
        guard file.metadata["architecture"] == "efficientnet_lite0" else {
            throw .wrongArchitecture(
                "\(file.source): architecture is '\(file.metadata["architecture"] ?? "<none>")', expected 'efficientnet_lite0' ---> HINT: convert with tools/convert_efficientnet_lite0.py")
        }
        var reader = WeightsReader(file)
        let eps = Self.batchNormEpsilon
        stem = try Conv2D(
            &reader, weight: "_conv_stem.weight", batchNorm: "_bn0", epsilon: eps,
            inChannels: 3, outChannels: Self.stemChannels, kernel: 3, stride: 2, padding: .tfSame, activation: .relu6)
        var blocks = [MBConvBlock]()
        var channels = Self.stemChannels
        for stage in Self.lite0Stages {
            for r in 0..<stage.repeats {
                blocks.append(try MBConvBlock(
                    &reader, index: blocks.count, inChannels: channels, outChannels: stage.outChannels,
                    kernel: stage.kernel, stride: r == 0 ? stage.stride : 1, expansion: stage.expansion, epsilon: eps))
                channels = stage.outChannels
            }
        }
        // Head: checked so a truncated or foreign file is caught, then dropped.
        _ = try reader.take("_conv_head.weight", [Self.headChannels, channels, 1, 1])
        _ = try BatchNormFolding(&reader, prefix: "_bn1", channels: Self.headChannels, epsilon: eps)
        _ = try reader.take("_fc.weight", [Self.classes, Self.headChannels])
        _ = try reader.take("_fc.bias", [Self.classes])
        try reader.finish()
        self.blocks = blocks
        self.taps = taps
    }

    /// Loads `url` (see `init(weights:taps:)`).
    public init(contentsOf url: URL, taps: [Int] = Self.defaultTaps) throws(WeightsError) {
        try self.init(weights: SafeTensorsFile(contentsOf: url), taps: taps)
    }

    /// (channels, height, width) of each tap for an input of `height`×`width`.
    public func tapShapes(height: Int, width: Int) -> [FeatureShape] {
        let g = stem.geometry(height: height, width: width)
        var (h, w) = (g.outHeight, g.outWidth)
        var shapes = [FeatureShape]()
        for (i, block) in blocks.enumerated() where i <= taps.last! {
            (h, w) = block.outputSize(height: h, width: w)
            if taps.contains(i) { shapes.append(FeatureShape(channels: block.outChannels, height: h, width: w)) }
        }
        return shapes
    }

    /// Feature maps of the tapped blocks: `result[image][tap]`, each (C, H', W'), taps in `taps` order —
    /// one image's list is what `PatchEmbedder.embed` takes.
    ///
    /// - Parameters:
    ///   - images: (batch, 3, height, width), RGB already scaled by (v − 127)/128.
    ///   - workspace: scratch buffers; pass the same one across calls to allocate only once per batch shape.
    public func forward(
        _ images: [Float], batch: Int, height: Int, width: Int, workspace: ConvWorkspace = ConvWorkspace()
    ) -> [[FeatureMap]] {
        let x = channelMajorInput(images, batch: batch, height: height, width: width, workspace: workspace)  // (3, B, H, W)
        // stem
        let g = stem.geometry(height: height, width: width)
        var (h, w) = (g.outHeight, g.outWidth)
        var current = workspace.buffer(.stageA, count: stem.outChannels * batch * h * w)  // (32, B, H/2, W/2)
        stem.forward(current, x, batch: batch, height: height, width: width, workspace: workspace)
        // blocks
        var features = [[FeatureMap]](repeating: [], count: batch)
        var nextSlot = ConvWorkspace.Slot.stageB
        for (i, block) in blocks.enumerated() where i <= taps.last! {
            let (oh, ow) = block.outputSize(height: h, width: w)
            let out = workspace.buffer(nextSlot, count: block.outChannels * batch * oh * ow)  // (Cout, B, OH, OW)
            block.forward(out, current, batch: batch, height: h, width: w, workspace: workspace)
            (current, h, w) = (out, oh, ow)
            nextSlot = nextSlot == .stageA ? .stageB : .stageA
            if taps.contains(i) {
                let maps = featureMaps(channelMajor: current, batch: batch, shape: FeatureShape(channels: block.outChannels, height: h, width: w))
                for b in 0..<batch { features[b].append(maps[b]) }
            }
        }
        return features
    }

    /// Multiply-add count ×2 of the layers up to the last tap, for an input of `height`×`width` (one image).
    public func flops(height: Int, width: Int) -> Double {
        var total = 0.0
        let g = stem.geometry(height: height, width: width)
        total += 2.0 * Double(stem.outChannels * 27 * g.outHeight * g.outWidth)
        var (h, w) = (g.outHeight, g.outWidth)
        for (i, block) in blocks.enumerated() where i <= taps.last! {
            let mid = block.depthwise.channels
            let (oh, ow) = block.outputSize(height: h, width: w)
            if block.expand != nil { total += 2.0 * Double(block.inChannels * mid * h * w) }
            total += 2.0 * Double(mid * block.depthwise.kernel * block.depthwise.kernel * oh * ow)
            total += 2.0 * Double(mid * block.outChannels * oh * ow)
            (h, w) = (oh, ow)
        }
        return total
    }
}
