// One pre-norm transformer block, as DINO's `Block` and DINOv2's `NestedTensorBlock` compute it:
//   x ← x + γ₁ ⊙ Attention(LayerNorm₁(x))
//   x ← x + γ₂ ⊙ MLP(LayerNorm₂(x)),   MLP = fc2(GELU(fc1(·)))
// γ is DINOv2's LayerScale; DINO has none (γ = 1). Tensor names are the converters' canonical ViT names.

/// A pre-norm ViT block with optional LayerScale.
struct VisionTransformerBlock {
    /// `blocks.i.norm1`
    let norm1: LayerNorm
    /// `blocks.i.attn.qkv`, `blocks.i.attn.proj`
    let attention: MultiHeadAttention
    /// γ₁ (D) — `blocks.i.ls1.gamma`; nil without LayerScale
    let layerScale1: [Float]?
    /// `blocks.i.norm2`
    let norm2: LayerNorm
    /// (M, D) — `blocks.i.mlp.fc1`
    let fc1: Linear
    /// (D, M) — `blocks.i.mlp.fc2`
    let fc2: Linear
    /// γ₂ (D) — `blocks.i.ls2.gamma`; nil without LayerScale
    let layerScale2: [Float]?

    /// Reads block `index` through `reader`, with every shape derived from `config`.
    init(index: Int, config: VisionTransformerConfig, reader: inout WeightsReader) throws(WeightsError) {
        let d = config.embedDim, m = config.mlpHidden, eps = config.layerNormEps
        let b = "blocks.\(index)"
        norm1 = LayerNorm(weight: try reader.take("\(b).norm1.weight", [d]), bias: try reader.take("\(b).norm1.bias", [d]), eps: eps)
        let qkv = Linear(
            weight: try reader.take("\(b).attn.qkv.weight", [3 * d, d]), bias: try reader.take("\(b).attn.qkv.bias", [3 * d]),
            inFeatures: d, outFeatures: 3 * d)
        let proj = Linear(
            weight: try reader.take("\(b).attn.proj.weight", [d, d]), bias: try reader.take("\(b).attn.proj.bias", [d]),
            inFeatures: d, outFeatures: d)
        attention = MultiHeadAttention(qkv: qkv, proj: proj, heads: config.numHeads)
        layerScale1 = config.layerScale ? try reader.take("\(b).ls1.gamma", [d]) : nil
        norm2 = LayerNorm(weight: try reader.take("\(b).norm2.weight", [d]), bias: try reader.take("\(b).norm2.bias", [d]), eps: eps)
        fc1 = Linear(
            weight: try reader.take("\(b).mlp.fc1.weight", [m, d]), bias: try reader.take("\(b).mlp.fc1.bias", [m]),
            inFeatures: d, outFeatures: m)
        fc2 = Linear(
            weight: try reader.take("\(b).mlp.fc2.weight", [d, m]), bias: try reader.take("\(b).mlp.fc2.bias", [d]),
            inFeatures: m, outFeatures: d)
        layerScale2 = config.layerScale ? try reader.take("\(b).ls2.gamma", [d]) : nil
    }

    /// x (B, N, D) ← block(x), in place, using the scratch buffers of `a` sized for this batch shape.
    ///
    /// Everything but the attention proper is row-local, so it runs in blocks of token rows, each core taking
    /// every other block from LayerNorm through the GEMMs to the residual add with single-threaded GEMMs: the
    /// elementwise steps run on both cores and no OpenBLAS thread waits through them. Measured against
    /// layer-by-layer passes with two-thread GEMMs (docs/BENCHMARKS.md): the serial LayerNorm, bias, GELU and
    /// residual passes left the second core idling in OpenBLAS's sched_yield for 15 % of the time.
    func forward(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int, scratch a: VisionTransformerActivations) {
        let rows = batch * n
        let d = attention.dim, m = fc1.outFeatures
        let workers = parallelWorkerCount
        // Equal blocks, a multiple of the worker count, of ≤ 1024 rows: OpenBLAS packs the whole weight matrix
        // once per GEMM call, so few large blocks (one per core for one image) keep that repacking small.
        let blocks = workers * max(1, (rows + workers * 1024 - 1) / (workers * 1024))
        BLAS.withThreads(1) {
            // self-attention: LayerNorm₁ and the fused qkv projection per row block, then attention per head
            parallelTasks(blocks, workers: workers) { block, _ in
                let r = rowBlock(block, of: blocks, rows: rows)
                norm1.forward(a.normed + r.lowerBound * d, x + r.lowerBound * d, rows: r.count)
                attention.qkv.forward(a.qkv + r.lowerBound * 3 * d, a.normed + r.lowerBound * d, rows: r.count)
            }
            attention.attend(context: a.context, qkvBuffer: a.qkv, batch: batch, tokens: n, scores: a.scores, rowSums: a.rowSums)
            // output projection, residual, then the whole MLP branch per row block
            parallelTasks(blocks, workers: workers) { block, _ in
                let r = rowBlock(block, of: blocks, rows: rows)
                let xr = x + r.lowerBound * d, normed = a.normed + r.lowerBound * d
                let branch = a.branch + r.lowerBound * d, hidden = a.hidden + r.lowerBound * m
                attention.proj.forward(branch, a.context + r.lowerBound * d, rows: r.count)
                Self.addResidual(xr, branch, scale: layerScale1, rows: r.count, dim: d)
                norm2.forward(normed, xr, rows: r.count)
                fc1.forward(hidden, normed, rows: r.count)
                GELU.forward(hidden, count: r.count * m)
                fc2.forward(branch, hidden, rows: r.count)
                Self.addResidual(xr, branch, scale: layerScale2, rows: r.count, dim: d)
            }
        }
    }

    /// x (R, D) ← x + γ ⊙ y, or x + y when γ is nil.
    static func addResidual(
        _ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, scale: [Float]?, rows: Int, dim d: Int
    ) {
        guard let scale else {
            for i in 0..<(rows * d) { x[i] += y[i] }
            return
        }
        scale.withUnsafeBufferPointer { g in
            for r in 0..<rows {
                let xr = x + r * d, yr = y + r * d
                for j in 0..<d { xr[j] += g[j] * yr[j] }
            }
        }
    }
}
