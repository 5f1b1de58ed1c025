// The ViT patch embedding: a p×p convolution with stride p over a (3, H, W) image, i.e. one linear map of
// each non-overlapping patch. Written as im2col (one row of 3·p·p values per patch, flattened (c, ky, kx) to
// match torch's conv weight [D, 3, p, p]) followed by one GEMM, as ggml's conv_2d does.

/// Conv p×p, stride p, 3 → D channels, producing patch tokens in row-major grid order.
struct PatchEmbedding {
    /// weight (D, 3·p·p), flattened from [D, 3, p, p] — `patch_embed.weight`; bias (D) — `patch_embed.bias`
    let projection: Linear
    let patchSize: Int

    var dim: Int { projection.outFeatures }

    init(weight: [Float], bias: [Float], patchSize: Int, dim: Int) {
        projection = Linear(weight: weight, bias: bias, inFeatures: 3 * patchSize * patchSize, outFeatures: dim)
        self.patchSize = patchSize
    }

    /// out (T, D) ← conv(image) with T = (H/p)·(W/p) tokens, token index gy·(W/p) + gx.
    /// `image` is (3, H, W); `columns` is scratch of (T, 3·p·p) floats.
    func forward(
        _ out: UnsafeMutablePointer<Float>, image: UnsafePointer<Float>, height: Int, width: Int,
        columns: UnsafeMutablePointer<Float>
    ) {
        let p = patchSize
        precondition(height % p == 0 && width % p == 0, "PatchEmbedding: \(height)×\(width) is not a multiple of \(p)")
        let gh = height / p, gw = width / p, k = 3 * p * p, tokens = gh * gw
        // One block of token rows per core, im2col and GEMM together, the GEMM on one OpenBLAS thread: a
        // two-thread OpenBLAS call here would wake its idle pool thread, which then spins (sched_yield) for
        // ~0.1 s through the transformer blocks that follow and takes cycles from our workers (3–4 % of the
        // DINOv2 pass in `perf`).
        let workers = parallelWorkerCount
        BLAS.withThreads(1) {
            parallelTasks(workers, workers: workers) { block, _ in
                let r = rowBlock(block, of: workers, rows: tokens)
                // im2col: columns[t, (c·p + ky)·p + kx] = image[c, gy·p + ky, gx·p + kx], t = gy·gw + gx
                for t in r {
                    let (gy, gx) = t.quotientAndRemainder(dividingBy: gw)
                    let row = columns + t * k
                    for c in 0..<3 {
                        for ky in 0..<p {
                            let src = image + (c * height + gy * p + ky) * width + gx * p
                            (row + (c * p + ky) * p).update(from: src, count: p)
                        }
                    }
                }
                projection.forward(out + r.lowerBound * dim, columns + r.lowerBound * k, rows: r.count)  // (T, D)
            }
        }
    }
}
