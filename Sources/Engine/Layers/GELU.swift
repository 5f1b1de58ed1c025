// GELU in its exact form, x·Φ(x) = ½·x·(1 + erf(x/√2)), as DINO, DINOv2 and the ONNX graph's Erf node
// compute it (not the tanh approximation). Applied in place to the MLP's hidden activations, on the calling
// thread: the ViT block already runs it inside its per-core row blocks. On AVX-512 CPUs `ac_gelu_avx512`
// (CKernels) computes the same values, bit for bit, sixteen at a time.
import CKernels

/// The exact (erf) Gaussian error linear unit.
enum GELU {
    /// x ← ½·x·(1 + erf(x/√2)) for `count` contiguous values.
    /// For x < 0, 1 + erf(x/√2) = erfc(|x|/√2), computed directly so negative tails keep their precision.
    /// Absolute error below 1.5·10⁻⁷·|x| against the double-precision function. `avx512` picks the kernel.
    static func forward(_ x: UnsafeMutablePointer<Float>, count: Int, avx512: Bool = VectorKernels.avx512) {
        if avx512 {
            ac_gelu_avx512(x, Int64(count))
            return
        }
        for i in 0..<count {
            let v = x[i]
            let e = fastErfcNonNegative((v < 0 ? -v : v) * 0.707_106_781_2)  // erfc(|x|/√2)
            x[i] = 0.5 * v * (v < 0 ? e : 2 - e)
        }
    }
}
