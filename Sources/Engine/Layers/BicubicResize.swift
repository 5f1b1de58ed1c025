// Bicubic resize of a channels-last grid, exactly as ONNX Resize (mode cubic, cubic_coeff_a −0.75,
// coordinate_transformation_mode half_pixel, exclude_outside 0) computes it in onnxruntime, which the DINOv2
// graph uses to fit its 37×37 position table to the input's patch grid. Source coordinates and the four
// cubic weights are computed in Float as onnxruntime does; taps outside the grid are clamped to the border
// (torch's bicubic with align_corners=False gives the same numbers).

/// Separable 4×4 cubic convolution resize (Keys kernel with a = −0.75).
enum BicubicResize {
    static let a: Float = -0.75

    /// out (OH, OW, C) ← resize of inp (IH, IW, C).
    static func forward(
        _ out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
        _ inp: UnsafePointer<Float>, inHeight: Int, inWidth: Int, channels c: Int
    ) {
        let ys = taps(input: inHeight, output: outHeight)
        let xs = taps(input: inWidth, output: outWidth)
        for oy in 0..<outHeight {
            for ox in 0..<outWidth {
                let dst = out + (oy * outWidth + ox) * c
                dst.initialize(repeating: 0, count: c)
                for i in 0..<4 {
                    for j in 0..<4 {
                        let w = ys[oy].weights[i] * xs[ox].weights[j]
                        let src = inp + (ys[oy].indices[i] * inWidth + xs[ox].indices[j]) * c
                        for ch in 0..<c { dst[ch] += w * src[ch] }
                    }
                }
            }
        }
    }

    /// The four source indices (border-clamped) and weights of each output position along one axis.
    static func taps(input n: Int, output m: Int) -> [(indices: [Int], weights: [Float])] {
        let scale = Float(m) / Float(n)  // onnxruntime derives the scale from the sizes, in float
        return (0..<m).map { o in
            let x = (Float(o) + 0.5) / scale - 0.5
            let f = x.rounded(.down)
            let s = x - f
            let indices = (0..<4).map { k in min(max(Int(f) - 1 + k, 0), n - 1) }
            return (indices, weights(s))
        }
    }

    /// Keys' cubic convolution weights for taps at distances 1 + s, s, 1 − s, 2 − s.
    static func weights(_ s: Float) -> [Float] {
        let a = Self.a
        let s1 = s + 1, s2 = 1 - s, s3 = 2 - s
        return [
            ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a,
            ((a + 2) * s - (a + 3)) * s * s + 1,
            ((a + 2) * s2 - (a + 3)) * s2 * s2 + 1,
            ((a * s3 - 5 * a) * s3 + 8 * a) * s3 - 4 * a,
        ]
    }
}
