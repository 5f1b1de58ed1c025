// The windows of PyTorch's 1-D adaptive average pooling (`F.adaptive_avg_pool1d`), which PatchCore uses
// twice: each layer's unfolded vector (L = 9·C) → Dp, then the concatenated layers → Dt. Output i
// averages inputs floor(i·L/O) ..< ceil((i+1)·L/O). When L < O the windows overlap and inputs repeat;
// the same formula covers both cases, exactly as PyTorch's `start_index`/`end_index` integer helpers.

/// Precomputed adaptive-average-pooling windows from `inputLength` values to `outputLength` values.
struct AdaptiveAveragePooling: Sendable {
    let inputLength: Int
    let outputLength: Int
    /// The inputs averaged into each output; (outputLength,), never empty.
    let windows: [Range<Int>]

    /// Both lengths must be at least 1 (checked by the caller, which reports the layer).
    init(inputLength: Int, outputLength: Int) {
        precondition(inputLength >= 1 && outputLength >= 1, "adaptive pooling \(inputLength) → \(outputLength)")
        self.inputLength = inputLength
        self.outputLength = outputLength
        // floor(i·L/O) and ceil((i+1)·L/O) in integers; PatchEmbedder's limits keep L·O below 2^40.
        windows = (0..<outputLength).map { i in
            (i * inputLength) / outputLength ..< ((i + 1) * inputLength + outputLength - 1) / outputLength
        }
    }

    /// True when every window holds exactly its own input (L = O): pooling is a copy.
    var isIdentity: Bool { inputLength == outputLength }
}
