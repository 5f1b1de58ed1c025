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
        let gh = height / p, gw = width / p, k = 3 * p * p
        // im2col: columns[gy·gw + gx, (c·p + ky)·p + kx] = image[c, gy·p + ky, gx·p + kx]
        for gy in 0..<gh {
            for gx in 0..<gw {
                let row = columns + (gy * gw + gx) * k
                for c in 0..<3 {
                    for ky in 0..<p {
                        let src = image + (c * height + gy * p + ky) * width + gx * p
                        (row + (c * p + ky) * p).update(from: src, count: p)
                    }
                }
            }
        }
        projection.forward(out, columns, rows: gh * gw)  // (T, D)
    }
}
