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

    /// context (B, N, D) ← concatₕ softmax(Qₕ·Kₕᵀ/√d)·Vₕ from the fused projections `qkvBuffer` (B, N, 3D)
    /// (`qkv` applied to the normalised stream). Scratch: `scores` (N, N), `rowSums` (N). The caller applies
    /// `proj`; call it with OpenBLAS on one thread (`BLAS.withThreads(1)`).
    ///
    /// The attention proper is split into tasks of (image, head, block of query rows); each core takes every
    /// other task and runs its two GEMMs single-threaded with the softmax in between, on its own slice of
    /// `scores` (a block of rows × N stays in cache between the three steps). Measured against one (N, N)
    /// GEMM pair per (image, head) on both OpenBLAS threads: the per-call thread hand-offs cost more than
    /// these GEMMs (K = 64) gain from two threads.
    func attend(
        context: UnsafeMutablePointer<Float>, qkvBuffer: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int,
        scores: UnsafeMutablePointer<Float>, rowSums: UnsafeMutablePointer<Float>
    ) {
        let workers = max(1, min(parallelWorkerCount, n))
        let rowBlock = max(1, min(128, n / workers))  // workers · rowBlock ≤ N: the slices fit in `scores`, `rowSums`
        let blocksPerHead = (n + rowBlock - 1) / rowBlock
        parallelTasks(batch * heads * blocksPerHead, workers: workers) { task, worker in
            let (imageHead, block) = task.quotientAndRemainder(dividingBy: blocksPerHead)
            let (b, h) = imageHead.quotientAndRemainder(dividingBy: heads)
            let first = block * rowBlock
            attend(b: b, h: h, rows: first..<min(first + rowBlock, n), tokens: n, qkvBuffer: qkvBuffer,
                   context: context, scores: scores + worker * rowBlock * n, rowSums: rowSums + worker * rowBlock)
        }
    }

    /// context[b, rows, h·d..<(h+1)·d] = softmax(Q[rows]·Kᵀ/√d)·V for image b, head h.
    /// `scores` holds rows.count × N floats, `rowSums` rows.count.
    private func attend(
        b: Int, h: Int, rows: Range<Int>, tokens n: Int, qkvBuffer: UnsafeMutablePointer<Float>,
        context: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, rowSums: UnsafeMutablePointer<Float>
    ) {
        let d = dim, hd = headDim, m = rows.count
        let base = qkvBuffer + b * n * 3 * d  // (N, 3D) of image b
        let q = base + rows.lowerBound * 3 * d + h * hd  // (m, d), row stride 3D
        let k = base + d + h * hd                        // (N, d), row stride 3D
        let v = base + 2 * d + h * hd                    // (N, d), row stride 3D
        // scores (m, N) = Q·Kᵀ/√d
        BLAS.sgemm(
            transA: false, transB: true, m: m, n: n, k: hd,
            alpha: 1 / Float(hd).squareRoot(), a: q, lda: 3 * d, b: k, ldb: 3 * d, beta: 0, c: scores, ldc: n)
        // E = exp(scores − row max), rowSums = Σ E per row; softmax = E / rowSums
        Softmax.exponentiate(scores, rows: m, columns: n, stride: n, sums: rowSums)
        // context rows (m, d), row stride D = (E·V) / rowSums = softmax·V
        let c = context + (b * n + rows.lowerBound) * d + h * hd
        BLAS.sgemm(
            transA: false, transB: false, m: m, n: hd, k: n,
            alpha: 1, a: scores, lda: n, b: v, ldb: 3 * d, beta: 0, c: c, ldc: d)
        for r in 0..<m {
            let row = c + r * d, inv = 1 / rowSums[r]
            for j in 0..<hd { row[j] *= inv }
        }
    }
}
