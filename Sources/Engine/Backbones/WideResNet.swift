// torchvision's Wide-ResNet-50-2 as a feature extractor, up to layer3: conv1 7×7 stride 2 (+BN, ReLU),
// max-pool 3×3 stride 2, then Bottleneck stages layer1 (3 blocks), layer2 (4, stride 2), layer3 (6, stride 2).
// Bottleneck width = int(planes·width_per_group/64)·groups with width_per_group 128 — twice ResNet-50's.
// BatchNorm (eps 1e-5) is folded at load. The architecture comes from the weights file's metadata, so a
// small random-weight instance used by the tests runs through exactly this code. Input: ImageNet mean/std.
import Foundation

/// A torchvision Bottleneck ResNet (Wide-ResNet-50-2 by default) up to the last requested stage.
public struct WideResNet: Sendable {
    /// The shape of the network; written by `tools/convert_wide_resnet50.py` as safetensors metadata.
    public struct Configuration: Sendable, Equatable {
        /// conv1's output channels (`stem_channels`).
        public var stemChannels: Int
        /// `planes` of layer1, layer2, layer3; a block outputs planes·4 channels.
        public var planes: [Int]
        /// Bottlenecks per stage (`layers`).
        public var blocks: [Int]
        /// torchvision's `width_per_group` (its Bottleneck calls it `base_width`).
        public var widthPerGroup: Int

        public static let expansion = 4

        public static let wideResNet50_2 = Configuration(stemChannels: 64, planes: [64, 128, 256], blocks: [3, 4, 6], widthPerGroup: 128)

        public init(stemChannels: Int, planes: [Int], blocks: [Int], widthPerGroup: Int) {
            (self.stemChannels, self.planes, self.blocks, self.widthPerGroup) = (stemChannels, planes, blocks, widthPerGroup)
        }

        /// The inner width of stage `s` (0-based): int(planes·width_per_group/64), groups = 1.
        public func width(stage s: Int) -> Int { planes[s] * widthPerGroup / 64 }

        /// Reads and checks the converter's metadata.
        init(metadata m: [String: String], source: String) throws(WeightsError) {
            func fail(_ what: String) -> WeightsError {
                .wrongArchitecture("\(source): \(what) ---> HINT: convert with tools/convert_wide_resnet50.py")
            }
            guard m["architecture"] == "wide_resnet50_2" else {
                throw fail("architecture is '\(m["architecture"] ?? "<none>")', expected 'wide_resnet50_2'")
            }
            func integers(_ key: String) throws(WeightsError) -> [Int] {
                guard let text = m[key] else { throw fail("metadata '\(key)' is missing") }
                let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 1 << 16 }) else {
                    throw fail("metadata '\(key)' = '\(text)' is not a list of positive integers")
                }
                return parts.map { $0! }
            }
            guard try integers("groups") == [1] else { throw fail("only groups = 1 is supported") }
            guard try integers("expansion") == [Self.expansion] else { throw fail("only expansion = 4 is supported") }
            let stem = try integers("stem_channels"), wpg = try integers("width_per_group")
            let planes = try integers("planes"), blocks = try integers("layers")
            guard stem.count == 1, wpg.count == 1, planes.count == 3, blocks.count == 3 else {
                throw fail("expected one stem_channels, one width_per_group and three planes and layers")
            }
            self.init(stemChannels: stem[0], planes: planes, blocks: blocks, widthPerGroup: wpg[0])
        }
    }

    /// torchvision's BatchNorm2d default.
    public static let batchNormEpsilon = 1e-5
    /// The PatchCore taps: layer2 and layer3 (1-based stage numbers as in torchvision's names).
    public static let defaultTaps = [2, 3]

    public let configuration: Configuration
    /// Stage numbers (1…3, strictly increasing) whose outputs `forward` returns.
    public let taps: [Int]
    /// `conv1` + `bn1`: 3 → stem, 7×7 stride 2 padding 3, ReLU.
    let stem: Conv2D
    /// `maxpool`: 3×3 stride 2 padding 1.
    let pool = MaxPool2D(kernel: 3, stride: 2, padding: .symmetric(1))
    /// `layer1` … `layer3`, blocks in order.
    let stages: [[Bottleneck]]

    /// Loads a file written by `tools/convert_wide_resnet50.py`; every tensor is checked, none may be left over.
    public init(weights file: SafeTensorsFile, taps: [Int] = Self.defaultTaps) throws(WeightsError) {
        precondition(!taps.isEmpty && taps == taps.sorted() && Set(taps).count == taps.count, "taps must be strictly increasing")
        precondition(taps.allSatisfy { (1...3).contains($0) }, "taps must lie in 1...3")
        let config = try Configuration(metadata: file.metadata, source: file.source)
        var reader = WeightsReader(file)
        let eps = Self.batchNormEpsilon
        stem = try Conv2D(
            &reader, weight: "conv1.weight", batchNorm: "bn1", epsilon: eps,
            inChannels: 3, outChannels: config.stemChannels, kernel: 7, stride: 2, padding: .symmetric(3), activation: .relu)
        var stages = [[Bottleneck]]()
        var channels = config.stemChannels
        for s in 0..<3 {
            var blocks = [Bottleneck]()
            for j in 0..<config.blocks[s] {
                let block = try Bottleneck(
                    &reader, prefix: "layer\(s + 1).\(j)", inChannels: channels, width: config.width(stage: s),
                    outChannels: config.planes[s] * Configuration.expansion, stride: j == 0 && s > 0 ? 2 : 1, epsilon: eps)
                blocks.append(block)
                channels = block.outChannels
            }
            stages.append(blocks)
        }
        try reader.finish()
        self.configuration = config
        self.stages = stages
        self.taps = taps
    }

    /// Loads `url` (see `init(weights:taps:)`).
    public init(contentsOf url: URL, taps: [Int] = Self.defaultTaps) throws(WeightsError) {
        try self.init(weights: SafeTensorsFile(contentsOf: url), taps: taps)
    }

    /// Height and width after conv1 and the max-pool.
    private func stemSize(height: Int, width: Int) -> (conv: ConvGeometry, pool: ConvGeometry) {
        let g = stem.geometry(height: height, width: width)
        return (g, pool.geometry(height: g.outHeight, width: g.outWidth))
    }

    /// (channels, height, width) of each tap for an input of `height`×`width`.
    public func tapShapes(height: Int, width: Int) -> [FeatureShape] {
        let p = stemSize(height: height, width: width).pool
        var (h, w) = (p.outHeight, p.outWidth)
        var shapes = [FeatureShape]()
        for s in 0..<taps.last! {
            for block in stages[s] { (h, w) = block.outputSize(height: h, width: w) }
            if taps.contains(s + 1) { shapes.append(FeatureShape(channels: stages[s].last!.outChannels, height: h, width: w)) }
        }
        return shapes
    }

    /// Feature maps of the tapped stages: `result[image][tap]`, each (C, H', W'), taps in `taps` order —
    /// one image's list is what `PatchEmbedder.embed` takes.
    ///
    /// - Parameters:
    ///   - images: (batch, 3, height, width), RGB normalised with ImageNet mean/std.
    ///   - workspace: scratch buffers; pass the same one across calls to allocate only once per batch shape.
    public func forward(
        _ images: [Float], batch: Int, height: Int, width: Int, workspace: ConvWorkspace = ConvWorkspace()
    ) -> [[FeatureMap]] {
        let x = channelMajorInput(images, batch: batch, height: height, width: width, workspace: workspace)  // (3, B, H, W)
        // conv1 + bn1 + relu, maxpool
        let (g, p) = stemSize(height: height, width: width)
        let c = stem.outChannels
        let s1 = workspace.buffer(.inner1, count: c * batch * g.outHeight * g.outWidth)  // (stem, B, H/2, W/2)
        stem.forward(s1, x, batch: batch, height: height, width: width, workspace: workspace)
        var current = workspace.buffer(.stageA, count: c * batch * p.outHeight * p.outWidth)  // (stem, B, H/4, W/4)
        pool.forward(current, s1, planes: c * batch, height: g.outHeight, width: g.outWidth)
        var (h, w) = (p.outHeight, p.outWidth)
        // layer1 … layer(last tap)
        var features = [[FeatureMap]](repeating: [], count: batch)
        var nextSlot = ConvWorkspace.Slot.stageB
        for s in 0..<taps.last! {
            for block in stages[s] {
                let (oh, ow) = block.outputSize(height: h, width: w)
                let out = workspace.buffer(nextSlot, count: block.outChannels * batch * oh * ow)  // (out, B, OH, OW)
                block.forward(out, current, batch: batch, height: h, width: w, workspace: workspace)
                (current, h, w) = (out, oh, ow)
                nextSlot = nextSlot == .stageA ? .stageB : .stageA
            }
            if taps.contains(s + 1) {
                let shape = FeatureShape(channels: stages[s].last!.outChannels, height: h, width: w)
                let maps = featureMaps(channelMajor: current, batch: batch, shape: shape)
                for b in 0..<batch { features[b].append(maps[b]) }
            }
        }
        return features
    }

    /// Multiply-adds ×2 of the convolutions up to the last tap, one image of `height`×`width`.
    public func flops(height: Int, width: Int) -> Double {
        func conv(_ c: Conv2D, _ h: Int, _ w: Int) -> Double {
            let g = c.geometry(height: h, width: w)
            return 2.0 * Double(c.outChannels * c.inChannels * c.kernel * c.kernel * g.outHeight * g.outWidth)
        }
        let p = stemSize(height: height, width: width).pool
        var total = conv(stem, height, width)
        var (h, w) = (p.outHeight, p.outWidth)
        for s in 0..<taps.last! {
            for b in stages[s] {
                let (oh, ow) = b.outputSize(height: h, width: w)
                total += conv(b.conv1, h, w) + conv(b.conv2, h, w) + conv(b.conv3, oh, ow)
                if let d = b.downsample { total += conv(d, h, w) }
                (h, w) = (oh, ow)
            }
        }
        return total
    }
}
