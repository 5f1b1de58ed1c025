// Row-wise softmax for attention scores: subtract the row maximum, exponentiate, divide by the sum (torch.softmax
// and ONNX Softmax along the last axis compute the same, up to rounding). Attention uses the two halves apart:
// `exponentiate` leaves exp(x − max) and the row sums, and the division is applied to P·V (N×d values) instead
// of P (N×N). Maximum, exponent and sum are separate loops so that the exponent loop, free of a loop-carried
// sum, vectorises (a fused exponent-and-sum loop measured 10 % slower on the whole DINOv2 pass). Runs on the
// calling thread: attention already splits its rows between the cores. On AVX-512 CPUs the first half runs in
// CKernels (`ac_softmax_exponentiate_avx512`: the same exponentials, sums in another order, and the sum taken in
// the exponent's pass — not measured against separate passes there).
import CKernels

/// Softmax over each row of a row-major matrix.
enum Softmax {
    /// x (R, C) ← exp(x − max of its row), and sums (R) ← each row's sum of those exponentials.
    /// Rows are `stride` floats apart (stride ≥ C). `avx512` picks the kernel (VectorKernels.swift).
    static func exponentiate(
        _ x: UnsafeMutablePointer<Float>, rows: Int, columns c: Int, stride: Int, sums: UnsafeMutablePointer<Float>,
        avx512: Bool = VectorKernels.avx512
    ) {
        precondition(c >= 1 && stride >= c, "Softmax: bad shape")
        if avx512 {
            ac_softmax_exponentiate_avx512(x, Int64(rows), Int64(c), Int64(stride), sums)
            return
        }
        for r in 0..<rows {
            let row = x + r * stride
            let m = rowMax(row, c)
            for j in 0..<c { row[j] = fastExp(row[j] - m) }
            sums[r] = rowSum(row, c)
        }
    }

    /// x (R, C) ← softmax of each row. `sums` is scratch of R floats.
    static func forward(
        _ x: UnsafeMutablePointer<Float>, rows: Int, columns c: Int, stride: Int, sums: UnsafeMutablePointer<Float>
    ) {
        exponentiate(x, rows: rows, columns: c, stride: stride, sums: sums)
        for r in 0..<rows {
            let row = x + r * stride, inv = 1 / sums[r]
            for j in 0..<c { row[j] *= inv }
        }
    }
}
