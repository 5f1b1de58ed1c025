// Backbone feature maps of one image → its PatchCore patch embeddings Z (P, Dt), ALGORITHM.md §3–4:
// per-layer standardisation, 3×3 unfold (zero padding 1), coarser layers bilinearly brought to the first
// layer's grid, adaptive average pooling of each layer's 9·C values to Dp, concatenation, pooling to Dt.
// The reference materialises every step (patchcore `PatchCore._embed`); this file never materialises
// the unfold or its upsampling — see `embed(_:into:)` for the order of work and why it gives the same Z.

/// Turns one image's layer maps into its patch embeddings, as PatchCore's aggregation does.
///
/// Build one per backbone configuration; all pooling windows and interpolation taps are computed here
/// once. `embed` is reentrant (it allocates its own work buffers), so images may be embedded concurrently.
public struct PatchEmbedder: Sendable {
    /// Shapes of the layer maps `embed` expects, in order; the first defines the patch grid.
    public let layerShapes: [FeatureShape]
    /// Dp: length of each layer's pooled vector (the reference's `pretrain_embed_dimension`).
    public let pretrainDimension: Int
    /// Dt: length of each patch embedding (the reference's `target_embed_dimension`).
    public let targetDimension: Int

    /// Per layer: its unfolded vector (L = 9·C) → Dp.
    private let layerPooling: [AdaptiveAveragePooling]
    /// Per layer: bilinear taps from its grid to the first layer's, rows then columns; nil on the same grid.
    private let gridResize: [(rows: BilinearTaps, columns: BilinearTaps)?]
    /// The concatenated layers (layers·Dp) → Dt.
    private let aggregation: AdaptiveAveragePooling
    /// Sizes, in floats, of the work buffers `embed` carves from one allocation.
    private let work: WorkLayout

    /// Upper bounds that keep every index product far from Int overflow (a sanity check, not a memory budget).
    public static let maxLayers = 16
    public static let maxChannels = 1 << 16
    public static let maxGridSide = 1 << 12
    public static let maxEmbeddingDimension = 1 << 16

    /// Grid height H₀ of the first layer.
    public var gridHeight: Int { layerShapes[0].height }
    /// Grid width W₀ of the first layer.
    public var gridWidth: Int { layerShapes[0].width }
    /// P = H₀·W₀ patches per image; patch index = row·W₀ + column.
    public var patches: Int { gridHeight * gridWidth }

    /// - Parameters:
    ///   - layerShapes: one shape per backbone layer; the first defines the patch grid. Other layers may be
    ///     coarser (the usual case) or finer; either is resized bilinearly to the first layer's grid.
    ///   - pretrainDimension: Dp, the per-layer pooled length.
    ///   - targetDimension: Dt, the embedding length; layers·Dp = Dt makes the last pooling a copy.
    public init(layerShapes: [FeatureShape], pretrainDimension: Int, targetDimension: Int) throws(FeatureError) {
        guard !layerShapes.isEmpty, layerShapes.count <= Self.maxLayers else {
            throw .invalidShape("patch embedder needs 1 to \(Self.maxLayers) layers, got \(layerShapes.count)")
        }
        for (index, shape) in layerShapes.enumerated() {
            guard shape.valueCount != nil, shape.channels <= Self.maxChannels,
                shape.height <= Self.maxGridSide, shape.width <= Self.maxGridSide
            else {
                throw .invalidShape("layer \(index) has shape \(shape); channels must be in 1...\(Self.maxChannels), height and width in 1...\(Self.maxGridSide)")
            }
        }
        for (name, value) in [("pretrain dimension Dp", pretrainDimension), ("target dimension Dt", targetDimension)] {
            guard value >= 1, value <= Self.maxEmbeddingDimension else {
                throw .invalidShape("\(name) is \(value); it must be in 1...\(Self.maxEmbeddingDimension)")
            }
        }
        let grid = layerShapes[0]
        self.layerShapes = layerShapes
        self.pretrainDimension = pretrainDimension
        self.targetDimension = targetDimension
        layerPooling = layerShapes.map { AdaptiveAveragePooling(inputLength: 9 * $0.channels, outputLength: pretrainDimension) }
        gridResize = layerShapes.map { shape in
            shape.height == grid.height && shape.width == grid.width ? nil
                : (BilinearTaps(inputSize: shape.height, outputSize: grid.height),
                   BilinearTaps(inputSize: shape.width, outputSize: grid.width))
        }
        aggregation = AdaptiveAveragePooling(inputLength: layerShapes.count * pretrainDimension, outputLength: targetDimension)
        work = WorkLayout(layerShapes: layerShapes, resized: gridResize.map { $0 != nil },
                          pretrainDimension: pretrainDimension, targetDimension: targetDimension,
                          aggregationIsCopy: aggregation.isIdentity)
    }

    /// The patch embeddings of one image, (P, Dt) row-major.
    public func embed(_ layers: [FeatureMap]) throws(FeatureError) -> [Float] {
        var output = [Float](repeating: 0, count: patches * targetDimension)
        let result: Result<Void, FeatureError> = output.withUnsafeMutableBufferPointer { buffer in
            Result { () throws(FeatureError) in try embed(layers, into: buffer) }
        }
        try result.get()
        return output
    }

    /// Writes the patch embeddings of one image into `output`, (P, Dt) row-major — e.g. one image's slice
    /// of a `PatchEmbeddings` buffer.
    ///
    /// Order of work, per layer at its own resolution h×w (the unfolded vector of a position is never built):
    /// 1. standardise the map into a zero-bordered copy (C, h+2, w+2); the border is the unfold's padding;
    /// 2. pool: pooled output i of every position at once is the mean of the unfold entries j in its window,
    ///    and entry j = (c, ky, kx) over all positions is the padded channel c shifted by (ky, kx), so each
    ///    window is a sum of shifted planes, accumulated into row i of a (Dp, h·w) buffer with contiguous
    ///    adds. Cost ≈ (L + Dp)·h·w adds instead of materialising the (h·w, L) unfold;
    /// 3. resize the Dp pooled planes to H₀×W₀ when the layer is on another grid. The reference upsamples
    ///    the L unfolded planes and pools afterwards; pooling (over features) and bilinear resizing (over
    ///    positions) are both linear on different axes, so they commute: same result up to float rounding,
    ///    with L/Dp (≈ 9 for WRN layer3) times fewer planes to resize.
    /// Then the layers' rows, stacked (layers·Dp, P), are pooled to Dt rows and transposed to (P, Dt).
    ///
    /// We chose these sparse window sums over a GEMM with a dense (L, Dp) pooling matrix: the GEMM does
    /// 2·P·L·Dp flops (5.5 GFLOP for one DINOv2 layer) where the sums do ≈ P·(L + Dp) adds, and it would
    /// need the unfold materialised. Measured in release, one thread, 2-core x86-64 (Zen, shared with other
    /// builds; best of 31): DINOv2 384×28×28 ×2 → (784, 2048) with Dp 1024: 2.5–3 ms per image; WRN
    /// 512×28×28 + 1024×14×14, Dp 1024, Dt 2048: 3.1–3.5 ms (Dp 2048, Dt 4096: 6–7 ms). The dense-matrix
    /// GEMM alone, for one DINOv2 layer, took 60–70 ms with OpenBLAS on both cores.
    ///
    /// Work memory, one allocation per call, sized in `init` (`WorkLayout`): dominated by the stacked rows,
    /// layers·Dp·P floats, and the largest padded map; 9 MB for WRN 512×28×28 + 1024×14×14 with
    /// Dp = 1024, Dt = 2048.
    public func embed(_ layers: [FeatureMap], into output: UnsafeMutableBufferPointer<Float>) throws(FeatureError) {
        try checkInputs(layers, outputCount: output.count)
        let P = patches, Dp = pretrainDimension, Dt = targetDimension

        // One work block, carved into the buffers below (shapes beside each).
        let block = UnsafeMutablePointer<Float>.allocate(capacity: work.total)
        defer { block.deallocate() }
        let padded = block  // (C, h+2, w+2) of the current layer
        let windowSum = padded + work.padded  // (h, w+2): one pooling window's sum at the padded stride
        let coarse = windowSum + work.windowSum  // (Dp, h·w) of the current layer when it needs resizing
        let resizeScratch = coarse + work.coarse  // (h, W₀): one plane interpolated along x
        let stacked = resizeScratch + work.resizeScratch  // (layers·Dp, P): row ℓ·Dp + i is output i of layer ℓ
        let aggregated = stacked + work.stacked  // (Dt, P), unless the aggregation is a copy

        for (index, layer) in layers.enumerated() {
            let shape = layerShapes[index]
            try Self.standardize(layer, layerIndex: index, intoPadded: padded)
            let layerRows = stacked + index * Dp * P  // (Dp, P)
            if let resize = gridResize[index] {
                Self.pool(padded, shape: shape, layerPooling[index], scratch: windowSum, into: coarse)  // (Dp, h·w)
                Self.resize(coarse, planes: Dp, rows: resize.rows, columns: resize.columns, scratch: resizeScratch,
                            into: layerRows)  // (Dp, P)
            } else {
                Self.pool(padded, shape: shape, layerPooling[index], scratch: windowSum, into: layerRows)  // (Dp, P)
            }
        }

        if aggregation.isIdentity {
            Self.transpose(stacked, rows: Dt, columns: P, into: output.baseAddress!)  // (P, Dt)
        } else {
            Self.poolRows(stacked, rowLength: P, aggregation, into: aggregated)  // (Dt, P)
            Self.transpose(aggregated, rows: Dt, columns: P, into: output.baseAddress!)  // (P, Dt)
        }
    }

    /// Checks that `layers` match the shapes this embedder was built for and the output size.
    private func checkInputs(_ layers: [FeatureMap], outputCount: Int) throws(FeatureError) {
        guard layers.count == layerShapes.count else {
            throw .layerMismatch("patch embedder expects \(layerShapes.count) layer maps, got \(layers.count)")
        }
        for (index, layer) in layers.enumerated() {
            guard layer.shape == layerShapes[index] else {
                throw .layerMismatch("layer \(index) has shape \(layer.shape), expected \(layerShapes[index])")
            }
            guard layer.values.count == layerShapes[index].valueCount else {
                throw .countMismatch("layer \(index) (\(layer.shape)) holds \(layer.values.count) values")
            }
        }
        guard outputCount == patches * targetDimension else {
            throw .countMismatch("output buffer holds \(outputCount) values; (P, Dt) = (\(patches), \(targetDimension)) needs \(patches * targetDimension)")
        }
    }
}

/// Sizes, in floats, of `embed`'s work buffers: the maxima over layers, so one block serves every layer.
private struct WorkLayout: Sendable {
    /// C·(h+2)·(w+2): a standardised layer with its zero border.
    let padded: Int
    /// h·(w+2): one pooling window's running sum.
    let windowSum: Int
    /// Dp·h·w: a resized layer's pooled planes before resizing (0 when no layer is resized).
    let coarse: Int
    /// h·W₀: one plane interpolated along x (0 when no layer is resized).
    let resizeScratch: Int
    /// layers·Dp·P: every layer's pooled planes on the patch grid.
    let stacked: Int
    /// Dt·P: the aggregated planes (0 when layers·Dp = Dt and aggregation is a copy).
    let aggregated: Int

    var total: Int { padded + windowSum + coarse + resizeScratch + stacked + aggregated }

    init(layerShapes: [FeatureShape], resized: [Bool], pretrainDimension Dp: Int, targetDimension Dt: Int,
         aggregationIsCopy: Bool) {
        let P = layerShapes[0].height * layerShapes[0].width
        let resizedShapes = zip(layerShapes, resized).filter { $0.1 }.map { $0.0 }
        padded = layerShapes.map { $0.channels * ($0.height + 2) * ($0.width + 2) }.max()!
        windowSum = layerShapes.map { $0.height * ($0.width + 2) }.max()!
        coarse = resizedShapes.map { Dp * $0.height * $0.width }.max() ?? 0
        resizeScratch = resizedShapes.map { $0.height * layerShapes[0].width }.max() ?? 0
        stacked = layerShapes.count * Dp * P
        aggregated = aggregationIsCopy ? 0 : Dt * P
    }
}
