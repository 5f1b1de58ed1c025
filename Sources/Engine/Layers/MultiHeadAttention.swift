// Multi-head self-attention as in timm/DINO's `Attention` (fused qkv projection, per-head scaled dot
// product, output projection) and Hugging Face's Dinov2SelfAttention (separate q, k, v, concatenated by
// the converter). The fused qkv GEMM runs over all B·N tokens; scores are one (N, N) sgemm per (image, head)
// reading Q and K in place from the qkv buffer through leading dimensions, so nothing is transposed or copied;
// the softmax's division is applied to the (N, d) result instead of the (N, N) probabilities.

/// Multi-head self-attention with a fused qkv projection.
struct MultiHeadAttention {
    /// (3D, D): output rows 0..<D are q, D..<2D k, 2D..<3D v; head h owns columns h·d..<(h+1)·d of each
    /// — `blocks.i.attn.qkv`
    let qkv: Linear
    /// (D, D) — `blocks.i.attn.proj`
    let proj: Linear
    let heads: Int

    var dim: Int { proj.outFeatures }
    var headDim: Int { dim / heads }

    init(qkv: Linear, proj: Linear, heads: Int) {
        let d = proj.outFeatures
        precondition(heads >= 1 && d % heads == 0, "MultiHeadAttention: \(d) channels in \(heads) heads")
        precondition(qkv.inFeatures == d && qkv.outFeatures == 3 * d && proj.inFeatures == d, "MultiHeadAttention: shapes")
        (self.qkv, self.proj, self.heads) = (qkv, proj, heads)
    }

    /// out (B, N, D) ← proj(concatₕ softmax(Qₕ·Kₕᵀ/√d)·Vₕ) for the normalised stream `inp` (B, N, D).
    /// Scratch: `qkvBuffer` (B, N, 3D), `context` (B, N, D), `scores` (N, N), `rowSums` (N).
    func forward(
        _ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, batch: Int, tokens n: Int,
        qkvBuffer: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>,
        scores: UnsafeMutablePointer<Float>, rowSums: UnsafeMutablePointer<Float>
    ) {
        let d = dim, hd = headDim
        qkv.forward(qkvBuffer, inp, rows: batch * n)  // (B, N, 3D)
        let scale = 1 / Float(hd).squareRoot()
        for b in 0..<batch {
            let base = qkvBuffer + b * n * 3 * d  // (N, 3D) of image b
            for h in 0..<heads {
                let q = base + h * hd          // (N, d), row stride 3D
                let k = base + d + h * hd      // (N, d), row stride 3D
                let v = base + 2 * d + h * hd  // (N, d), row stride 3D
                // scores (N, N) = Q·Kᵀ/√d
                BLAS.sgemm(
                    transA: false, transB: true, m: n, n: n, k: hd,
                    alpha: scale, a: q, lda: 3 * d, b: k, ldb: 3 * d, beta: 0, c: scores, ldc: n)
                // E = exp(scores − row max), rowSums = Σ E per row; softmax = E / rowSums
                Softmax.exponentiate(scores, rows: n, columns: n, stride: n, sums: rowSums)
                // context[b, :, h·d..<(h+1)·d] (N, d), row stride D = (E·V) / rowSums = softmax·V
                let c = context + b * n * d + h * hd
                BLAS.sgemm(
                    transA: false, transB: false, m: n, n: hd, k: n,
                    alpha: 1, a: scores, lda: n, b: v, ldb: 3 * d, beta: 0, c: c, ldc: d)
                for r in 0..<n {
                    let row = c + r * d, inv = 1 / rowSums[r]
                    for j in 0..<hd { row[j] *= inv }
                }
            }
        }
        proj.forward(out, context, rows: batch * n)  // (B, N, D)
    }
}
