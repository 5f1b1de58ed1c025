// Every activation of one ViT forward pass, in one allocation sized for a (batch, height, width) shape and
// reused until the shape changes (llm.c's `malloc_and_point_activations`). The named pointers are views into
// that block; the shapes beside them use B = batch, N = 1 + T tokens, T = (H/p)·(W/p), D, M = MLP width.

/// Scratch and stream buffers of a forward pass. Owned by one `VisionTransformer`; not thread-safe.
final class VisionTransformerActivations {
    let batch: Int
    let height: Int
    let width: Int
    /// Tokens per image, 1 + T.
    let tokens: Int

    /// (B, N, D) the residual stream
    let stream: UnsafeMutablePointer<Float>
    /// (B, N, D) LayerNorm output feeding attention or the MLP
    let normed: UnsafeMutablePointer<Float>
    /// (B, N, 3D) fused q, k, v
    let qkv: UnsafeMutablePointer<Float>
    /// (N, N) attention scores, then their exponentials, of one (image, head)
    let scores: UnsafeMutablePointer<Float>
    /// (N) row sums of those exponentials
    let rowSums: UnsafeMutablePointer<Float>
    /// (B, N, D) attention output before the projection, heads side by side
    let context: UnsafeMutablePointer<Float>
    /// (B, N, D) output of a residual branch (attention projection or fc2) before LayerScale
    let branch: UnsafeMutablePointer<Float>
    /// (B, N, M) MLP hidden layer
    let hidden: UnsafeMutablePointer<Float>
    /// (T, 3·p·p) im2col patches of one image
    let columns: UnsafeMutablePointer<Float>
    /// (N, D) position embeddings resized to this grid
    let positions: UnsafeMutablePointer<Float>

    private let memory: UnsafeMutableBufferPointer<Float>

    /// Floats needed for a batch shape: B·N·(7D + M) + N² + N + T·3p² + N·D.
    static func floatCount(config c: VisionTransformerConfig, batch: Int, height: Int, width: Int) -> Int {
        let t = (height / c.patchSize) * (width / c.patchSize), n = 1 + t, d = c.embedDim
        return batch * n * (7 * d + c.mlpHidden) + n * n + n + t * 3 * c.patchSize * c.patchSize + n * d
    }

    init(config c: VisionTransformerConfig, batch: Int, height: Int, width: Int) {
        let t = (height / c.patchSize) * (width / c.patchSize), n = 1 + t, d = c.embedDim
        (self.batch, self.height, self.width, self.tokens) = (batch, height, width, n)
        memory = .allocate(capacity: Self.floatCount(config: c, batch: batch, height: height, width: width))
        memory.initialize(repeating: 0)
        var next = memory.baseAddress!
        func carve(_ count: Int) -> UnsafeMutablePointer<Float> {
            defer { next += count }
            return next
        }
        stream = carve(batch * n * d)
        normed = carve(batch * n * d)
        qkv = carve(batch * n * 3 * d)
        scores = carve(n * n)
        rowSums = carve(n)
        context = carve(batch * n * d)
        branch = carve(batch * n * d)
        hidden = carve(batch * n * c.mlpHidden)
        columns = carve(t * 3 * c.patchSize * c.patchSize)
        positions = carve(n * d)
        precondition(next == memory.baseAddress! + memory.count, "activation layout does not fill its block")
    }

    deinit { memory.deallocate() }
}
