// The pointwise activations our CNNs use, applied together with the per-channel bias that BatchNorm
// folding leaves behind, in one pass over a convolution's output (the "epilogue" after the GEMM).

/// Activation applied after a convolution's bias.
public enum Activation: Sendable, Equatable {
    case identity
    case relu
    /// min(max(x, 0), 6) — EfficientNet-Lite's only activation.
    case relu6

    /// The code CKernels' kernels take (AC_IDENTITY, AC_RELU, AC_RELU6 in CKernels.h).
    var code: Int32 {
        switch self {
        case .identity: 0
        case .relu: 1
        case .relu6: 2
        }
    }

    /// `row[i] = act(row[i] + bias)` for `i` in `0..<count`.
    @inline(__always)
    func apply(_ row: UnsafeMutablePointer<Float>, count: Int, bias: Float) {
        switch self {
        case .identity:
            for i in 0..<count { row[i] += bias }
        case .relu:
            for i in 0..<count { row[i] = max(row[i] + bias, 0) }
        case .relu6:
            for i in 0..<count { row[i] = min(max(row[i] + bias, 0), 6) }
        }
    }
}
