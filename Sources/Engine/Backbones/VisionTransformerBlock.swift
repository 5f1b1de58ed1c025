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
    func forward(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int, scratch a: VisionTransformerActivations) {
        let rows = batch * n
        let d = attention.dim
        // self-attention
        norm1.forward(a.normed, x, rows: rows)  // (B, N, D)
        attention.forward(
            a.branch, a.normed, batch: batch, tokens: n,
            qkvBuffer: a.qkv, context: a.context, scores: a.scores, rowSums: a.rowSums)  // (B, N, D)
        Self.addResidual(x, a.branch, scale: layerScale1, rows: rows, dim: d)
        // MLP
        norm2.forward(a.normed, x, rows: rows)  // (B, N, D)
        fc1.forward(a.hidden, a.normed, rows: rows)  // (B, N, M)
        GELU.forward(a.hidden, count: rows * fc1.outFeatures)
        fc2.forward(a.branch, a.hidden, rows: rows)  // (B, N, D)
        Self.addResidual(x, a.branch, scale: layerScale2, rows: rows, dim: d)
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
