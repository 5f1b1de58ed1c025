// Each AVX-512 kernel (Sources/CKernels) against its Swift twin on random inputs, at lengths that leave
// every tail size: elementwise kernels must agree bit for bit, the reductions (softmax sums, LayerNorm) to
// the rounding of a different summation order. Where CPUID reports no AVX-512 the tests are skipped, and say so.
import XCTest
@testable import Engine

final class AVX512KernelTests: XCTestCase {
    override func setUpWithError() throws {
        guard VectorKernels.cpuHasAVX512 else {
            print("*** AVX512KernelTests SKIPPED: this CPU has no AVX-512 (CPUID); the AVX-512 kernels were not run ***")
            throw XCTSkip("no AVX-512 on this CPU: the AVX-512 kernels were not tested")
        }
    }

    private let lengths = [1, 7, 15, 16, 17, 31, 33, 100, 385, 784]

    /// Values of mixed sign and scale, with exact zeros.
    private func values(_ n: Int, seed: UInt64, scale: Double = 4) -> [Float] {
        var random = SeededRandom(seed: seed)
        var v = random.normals(n, scale: scale)
        for i in stride(from: 0, to: n, by: 13) { v[i] = 0 }
        return v
    }

    private func assertIdentical(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where !(x == y || (x.isNaN && y.isNaN)) {
            XCTFail("\(what): element \(i) differs, \(x) vs \(y)", file: file, line: line)
            return
        }
    }

    func testSoftmaxExponentials() {
        for c in lengths {
            let rows = 3, stride = c + 5
            let x = values(rows * stride, seed: UInt64(c), scale: 20)
            var a = x, b = x
            var sa = [Float](repeating: 0, count: rows), sb = sa
            Softmax.exponentiate(&a, rows: rows, columns: c, stride: stride, sums: &sa, avx512: true)
            Softmax.exponentiate(&b, rows: rows, columns: c, stride: stride, sums: &sb, avx512: false)
            assertIdentical(a, b, "exp, C = \(c)")  // also: the gaps between rows untouched by both
            for r in 0..<rows { XCTAssertEqual(sa[r], sb[r], accuracy: 1e-6 * sb[r], "sum, C = \(c), row \(r)") }
        }
    }

    func testGELU() {
        for n in lengths {
            var a = values(n, seed: 100 + UInt64(n)), b = a
            GELU.forward(&a, count: n, avx512: true)
            GELU.forward(&b, count: n, avx512: false)
            assertIdentical(a, b, "GELU, n = \(n)")
        }
    }

    func testLayerNorm() {
        for c in lengths where c > 1 {
            let rows = 5
            let norm = LayerNorm(weight: values(c, seed: 7), bias: values(c, seed: 8), eps: 1e-6)
            let x = values(rows * c, seed: 200 + UInt64(c))
            var a = [Float](repeating: 0, count: rows * c), b = a
            norm.forward(&a, x, rows: rows, avx512: true)
            norm.forward(&b, x, rows: rows, avx512: false)
            let scale = b.map { abs($0) }.max()!
            for i in 0..<(rows * c) { XCTAssertEqual(a[i], b[i], accuracy: 2e-6 * scale, "LayerNorm C = \(c), \(i)") }
        }
    }

    func testDistanceMinima() {
        for p in lengths {
            let ldt = p + 3
            let tile = values(p * ldt, seed: 300 + UInt64(p), scale: 50)
            let rowNorms = values(p, seed: 1).map { $0 * $0 + 60 }, columnNorms = values(p, seed: 2).map { $0 * $0 + 60 }
            var rowA = [Double](repeating: 1, count: p), colA = rowA, rowB = rowA, colB = rowA
            var scratch = [Float](repeating: 0, count: p)
            NearestPatchDistances.reducePair(
                tile: tile, ldt: ldt, patches: p, rowNorms: rowNorms, columnNorms: columnNorms,
                rowSums: &rowA, columnSums: &colA, columnMinima: &scratch, avx512: true)
            NearestPatchDistances.reducePair(
                tile: tile, ldt: ldt, patches: p, rowNorms: rowNorms, columnNorms: columnNorms,
                rowSums: &rowB, columnSums: &colB, columnMinima: &scratch, avx512: false)
            XCTAssertEqual(rowA, rowB, "row sums, P = \(p)")
            XCTAssertEqual(colA, colB, "column sums, P = \(p)")
            XCTAssertEqual(
                NearestPatchDistances.rowMinimum(tile, plus: columnNorms, count: p, avx512: true),
                NearestPatchDistances.rowMinimum(tile, plus: columnNorms, count: p, avx512: false), "row minimum, n = \(p)")
        }
    }

    func testDepthwiseTaps() {
        for n in lengths {
            for tapCount in 1...5 {
                let q = values(n + 4, seed: 400 + UInt64(n))
                let w = values(5, seed: UInt64(tapCount))
                let taps = (w[0], w[1], w[2], w[3], w[4])
                var a = values(n, seed: 9), b = a
                DepthwiseConv2D.accumulate(&a, q, count: n, taps: taps, tapCount: tapCount, avx512: true)
                DepthwiseConv2D.accumulate(&b, q, count: n, taps: taps, tapCount: tapCount, avx512: false)
                assertIdentical(a, b, "depthwise, n = \(n), \(tapCount) taps")
            }
        }
    }

    /// Both Winograd transforms on odd and even sizes, every activation, with and without accumulation.
    func testWinogradTransforms() {
        for (height, width) in [(7, 7), (14, 14), (5, 9), (28, 28), (3, 34)] {
            let channels = 3, batch = 2
            let tilesH = (height + 1) / 2, tw = (width + 1) / 2, rows = 0..<(batch * tilesH)
            let t = rows.count * tw
            let input = values(channels * batch * height * width, seed: UInt64(height * 100 + width))
            let scratchPer = WinogradF2x3.scratchFloats(tilesW: tw)
            var scratch = [Float](repeating: 0, count: 2 * scratchPer)
            var va = [Float](repeating: 0, count: 16 * channels * t), vb = va
            WinogradF2x3.inputTransform(&va, input, channels: channels, batch: batch, height: height, width: width,
                                        tileRows: rows, scratch: &scratch, scratchPerThread: scratchPer, avx512: true)
            WinogradF2x3.inputTransform(&vb, input, channels: channels, batch: batch, height: height, width: width,
                                        tileRows: rows, scratch: &scratch, scratchPerThread: scratchPer, avx512: false)
            assertIdentical(va, vb, "input transform \(height)×\(width)")
            let m = values(16 * channels * t, seed: 5)
            let bias = values(channels, seed: 6)
            for activation in [Activation.identity, .relu, .relu6] {
                for accumulate in [false, true] {
                    let start = values(channels * batch * height * width, seed: 11)
                    var oa = start, ob = start
                    WinogradF2x3.outputTransform(
                        &oa, m, bias: bias, activation: activation, accumulate: accumulate, channels: channels, batch: batch,
                        height: height, width: width, tileRows: rows, scratch: &scratch, scratchPerThread: scratchPer, avx512: true)
                    WinogradF2x3.outputTransform(
                        &ob, m, bias: bias, activation: activation, accumulate: accumulate, channels: channels, batch: batch,
                        height: height, width: width, tileRows: rows, scratch: &scratch, scratchPerThread: scratchPer, avx512: false)
                    assertIdentical(oa, ob, "output transform \(height)×\(width) \(activation) accumulate \(accumulate)")
                }
            }
        }
    }
}
