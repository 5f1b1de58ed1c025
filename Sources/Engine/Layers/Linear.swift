// A fully connected layer y = x·Wᵀ + b with torch's [out, in] weight layout, as one row-major GEMM over
// all rows of a batch (B·N tokens at once). The bias is written into the destination first and the GEMM
// accumulates onto it (beta = 1): the bias needs no pass of its own after the GEMM (with beta = 0 OpenBLAS
// would clear the destination first anyway).

/// Linear layer, weight (out, in) as torch.nn.Linear stores it.
struct Linear {
    /// W, (out, in)
    let weight: [Float]
    /// b, (out)
    let bias: [Float]
    let inFeatures: Int
    let outFeatures: Int

    init(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures, "Linear: weight or bias size")
        (self.weight, self.bias, self.inFeatures, self.outFeatures) = (weight, bias, inFeatures, outFeatures)
    }

    /// out (R, out) ← inp (R, in)·Wᵀ + b. `out` must not overlap `inp`.
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        let n = outFeatures
        bias.withUnsafeBufferPointer { b in
            for r in 0..<rows { (out + r * n).update(from: b.baseAddress!, count: n) }
        }
        weight.withUnsafeBufferPointer { w in
            BLAS.sgemm(
                transA: false, transB: true, m: rows, n: n, k: inFeatures,
                alpha: 1, a: inp, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                beta: 1, c: out, ldc: n)
        }
    }
}
