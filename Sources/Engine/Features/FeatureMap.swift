// One backbone layer's output for one image: C channels on an H×W grid, one contiguous Float buffer.
// CNN layers arrive in this (C, H, W) layout already; ViT layers arrive as tokens (1 + H·W, C) and are
// converted by `fromTokens`, which drops the CLS token and moves channels first (ALGORITHM.md §2).

/// The extent of a feature map: channels C on a grid of height H and width W.
public struct FeatureShape: Sendable, Hashable, CustomStringConvertible {
    public let channels: Int
    public let height: Int
    public let width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var description: String { "\(channels)×\(height)×\(width)" }

    /// C·H·W, or nil when a dimension is below 1 or the product overflows.
    var valueCount: Int? {
        guard channels >= 1, height >= 1, width >= 1 else { return nil }
        let (hw, o1) = height.multipliedReportingOverflow(by: width)
        let (chw, o2) = hw.multipliedReportingOverflow(by: channels)
        return o1 || o2 ? nil : chw
    }
}

/// One layer's feature map of one image. `values` is (C, H, W) row-major: value (c, y, x) sits at
/// `(c·H + y)·W + x`.
public struct FeatureMap: Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// (C, H, W) row-major.
    public var values: [Float]

    public var shape: FeatureShape { FeatureShape(channels: channels, height: height, width: width) }

    /// Checks that every dimension is at least 1 and that `values` holds exactly C·H·W values.
    public init(channels: Int, height: Int, width: Int, values: [Float]) throws(FeatureError) {
        let shape = FeatureShape(channels: channels, height: height, width: width)
        guard let count = shape.valueCount else {
            throw .invalidShape("feature map shape \(shape): every dimension must be at least 1")
        }
        guard values.count == count else {
            throw .countMismatch("feature map \(shape) needs \(count) values, got \(values.count)")
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    /// Converts a ViT layer output to a (C, H, W) map.
    ///
    /// - Parameters:
    ///   - tokens: (tokenCount, C) row-major: `prefixTokens` leading tokens (the CLS token; register
    ///     tokens would be more), then the H·W patch tokens in row-major grid order.
    ///   - prefixTokens: tokens before the patch grid; DINO and DINOv2 without registers have exactly one.
    /// Patch token `prefixTokens + y·W + x` becomes column (y, x) of the map, as the reference's
    /// `reshape(H, W, C).permute(2, 0, 1)` does.
    public static func fromTokens(
        _ tokens: UnsafeBufferPointer<Float>, tokenCount: Int, channels: Int, height: Int, width: Int,
        prefixTokens: Int = 1
    ) throws(FeatureError) -> FeatureMap {
        let shape = FeatureShape(channels: channels, height: height, width: width)
        guard let count = shape.valueCount, prefixTokens >= 0 else {
            throw .invalidShape("token grid \(shape) with \(prefixTokens) prefix tokens: dimensions must be at least 1")
        }
        let grid = height * width
        // Written as a difference so that no input can overflow the arithmetic.
        guard prefixTokens <= tokenCount, tokenCount - prefixTokens == grid else {
            throw .countMismatch("\(tokenCount) tokens do not form \(prefixTokens) prefix tokens + a \(height)×\(width) grid")
        }
        let (needed, overflow) = tokenCount.multipliedReportingOverflow(by: channels)
        guard !overflow, tokens.count == needed else {
            throw .countMismatch("\(tokenCount) tokens of \(channels) channels do not fill a buffer of \(tokens.count) values")
        }
        guard let source = tokens.baseAddress.map({ $0 + prefixTokens * channels }) else {
            throw .countMismatch("token buffer is empty")
        }
        // Transpose the patch tokens (grid, C) → (C, grid) in square tiles so that both the reads and
        // the writes stay within a few cache lines per tile.
        let tile = 32
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            let destination = out.baseAddress!
            for p0 in stride(from: 0, to: grid, by: tile) {
                let p1 = min(p0 + tile, grid)
                for c0 in stride(from: 0, to: channels, by: tile) {
                    let c1 = min(c0 + tile, channels)
                    for p in p0..<p1 {
                        for c in c0..<c1 { destination[c * grid + p] = source[p * channels + c] }
                    }
                }
            }
            initialized = count
        }
        return FeatureMap(unchecked: shape, values)
    }

    /// `fromTokens` for tokens held in an array; `tokens.count` must be tokenCount·C.
    public static func fromTokens(
        _ tokens: [Float], tokenCount: Int, channels: Int, height: Int, width: Int, prefixTokens: Int = 1
    ) throws(FeatureError) -> FeatureMap {
        let result: Result<FeatureMap, FeatureError> = tokens.withUnsafeBufferPointer { buffer in
            Result { () throws(FeatureError) -> FeatureMap in
                try fromTokens(buffer, tokenCount: tokenCount, channels: channels, height: height, width: width,
                               prefixTokens: prefixTokens)
            }
        }
        return try result.get()
    }

    /// For maps the engine built itself with a checked shape.
    init(unchecked shape: FeatureShape, _ values: [Float]) {
        precondition(shape.valueCount == values.count)
        (channels, height, width, self.values) = (shape.channels, shape.height, shape.width, values)
    }
}
