// The token embeddings a ViT returns for one requested block: the residual stream after that block, before
// the final norm, for every image of a batch. Token 0 of each image is CLS; the rest are patch tokens in
// row-major grid order, ready to be reshaped to a (gridHeight, gridWidth, D) feature map.

/// Tokens of B images after one transformer block: `values` is (B, N, D) row-major, N = 1 + gridHeight·gridWidth.
public struct TransformerTokens: Sendable {
    /// The 0-based block this stream follows.
    public let block: Int
    public let batch: Int
    /// N = 1 + gridHeight·gridWidth (one CLS token in front).
    public let tokens: Int
    /// D
    public let dimensions: Int
    public let gridHeight: Int
    public let gridWidth: Int
    /// (B, N, D)
    public var values: [Float]

    /// The patch tokens of image `b` without CLS: (gridHeight·gridWidth, D) row-major.
    public func patchTokens(image b: Int) -> ArraySlice<Float> {
        precondition(b >= 0 && b < batch, "image \(b) out of range 0..<\(batch)")
        let start = (b * tokens + 1) * dimensions
        return values[start..<(start + (tokens - 1) * dimensions)]
    }
}
