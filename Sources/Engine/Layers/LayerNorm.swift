// Layer normalisation over the last dimension: y = (x − mean)/√(var + eps)·γ + β per row, with the biased
// variance as torch.nn.LayerNorm and the ONNX graph's ReduceMean/Pow/Sqrt chain compute it. Each row is
// read from cache three times (mean, variance, output): two-pass variance, no E[x²] − E[x]² cancellation.
// On AVX-512 CPUs `ac_layer_norm_avx512` (CKernels) runs the same three passes with 16-lane sums.
import CKernels

/// LayerNorm with learned scale and shift.
struct LayerNorm {
    /// γ, (C)  — `*.norm1.weight`, `*.norm2.weight`, `norm.weight`
    let weight: [Float]
    /// β, (C)  — `*.norm1.bias`, `*.norm2.bias`, `norm.bias`
    let bias: [Float]
    let eps: Float

    var channels: Int { weight.count }

    init(weight: [Float], bias: [Float], eps: Float) {
        precondition(weight.count == bias.count && !weight.isEmpty, "LayerNorm: weight and bias sizes differ")
        (self.weight, self.bias, self.eps) = (weight, bias, eps)
    }

    /// out (R, C) ← LayerNorm(inp (R, C)). `out` may equal `inp`. `avx512` picks the kernel.
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, avx512: Bool = VectorKernels.avx512) {
        let c = channels
        if avx512 {
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    ac_layer_norm_avx512(out, inp, Int64(rows), Int64(c), w.baseAddress!, b.baseAddress!, eps)
                }
            }
            return
        }
        let invC = 1 / Float(c)
        weight.withUnsafeBufferPointer { wb in
            bias.withUnsafeBufferPointer { bb in
                let w = wb.baseAddress!, b = bb.baseAddress!
                for r in 0..<rows {
                    let x = inp + r * c, y = out + r * c
                    let mean = rowSum(x, c) * invC
                    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                    var j = 0
                    while j + 4 <= c {
                        let d0 = x[j] - mean, d1 = x[j + 1] - mean, d2 = x[j + 2] - mean, d3 = x[j + 3] - mean
                        s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
                        j += 4
                    }
                    while j < c { let d = x[j] - mean; s0 += d * d; j += 1 }
                    let rstd = 1 / (((s0 + s1) + (s2 + s3)) * invC + eps).squareRoot()
                    for j in 0..<c { y[j] = (x[j] - mean) * rstd * w[j] + b[j] }
                }
            }
        }
    }
}
