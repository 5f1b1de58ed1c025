// The CNN layers against straightforward double-precision loops: im2col and Winograd convolutions,
// depthwise convolution, max pooling and the TF-SAME geometry, on odd sizes, several batches, both
// padding rules and the residual-accumulate path. Layouts are the layers' own (C, B, H, W).
// Tolerance 1e-4·max|ref|: float32 sums of ≤ 300 terms against a double reference.
@testable import Engine
import XCTest

final class ConvLayerTests: XCTestCase {
    /// Direct convolution in Double: out (Cout, B, OH, OW) for input (Cin, B, H, W), weights (Cout, Cin·k·k)
    /// or, when `depthwise`, (C, k·k) with Cout = Cin.
    static func naiveConvolution(
        _ input: [Float], weights: [Float], bias: [Float], channels cin: Int, outChannels cout: Int, batch: Int,
        height: Int, width: Int, kernel k: Int, stride: Int, padding: ConvPadding, depthwise: Bool = false
    ) -> (values: [Double], height: Int, width: Int) {
        let g = ConvGeometry(height: height, width: width, kernel: k, stride: stride, padding: padding)
        var out = [Double](repeating: 0, count: cout * batch * g.outHeight * g.outWidth)
        for co in 0..<cout {
            for b in 0..<batch {
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        var sum = Double(bias[co])
                        for ci in (depthwise ? co..<(co + 1) : 0..<cin) {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let iy = oy * stride - g.padTop + ky, ix = ox * stride - g.padLeft + kx
                                    guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                    let w = depthwise ? weights[co * k * k + ky * k + kx] : weights[((co * cin + ci) * k + ky) * k + kx]
                                    sum += Double(w) * Double(input[((ci * batch + b) * height + iy) * width + ix])
                                }
                            }
                        }
                        out[((co * batch + b) * g.outHeight + oy) * g.outWidth + ox] = sum
                    }
                }
            }
        }
        return (out, g.outHeight, g.outWidth)
    }

    static func activate(_ x: Double, _ a: Activation) -> Double {
        switch a {
        case .identity: x
        case .relu: max(x, 0)
        case .relu6: min(max(x, 0), 6)
        }
    }

    private func assertClose(_ got: [Float], _ want: [Double], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, label, file: file, line: line)
        let scale = max(1, want.map(abs).max() ?? 0)
        var worst = 0, diff = 0.0
        for i in 0..<min(got.count, want.count) where !(abs(Double(got[i]) - want[i]) <= diff) {
            (worst, diff) = (i, abs(Double(got[i]) - want[i]))
        }
        XCTAssert(diff <= 1e-4 * scale, "\(label): index \(worst) got \(got[worst]) want \(want[worst]) (|Δ| \(diff), scale \(scale))", file: file, line: line)
    }

    private func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        CNNTestSupport.deterministicValues(count: count, seed: seed, scale: scale)
    }

    func testTFSamePaddingGeometry() {
        // (input, kernel, stride) → (output, pad before); the pad after is the rest of the total.
        let cases: [(Int, Int, Int, Int, Int)] = [
            (224, 3, 2, 112, 0), (225, 3, 2, 113, 1), (112, 5, 2, 56, 1), (113, 5, 2, 57, 2),
            (56, 3, 1, 56, 1), (14, 5, 1, 14, 2), (1, 3, 2, 1, 1), (2, 5, 2, 1, 1),
        ]
        for (size, k, s, out, before) in cases {
            let g = ConvGeometry(height: size, width: size, kernel: k, stride: s, padding: .tfSame)
            XCTAssertEqual(g.outHeight, out, "in \(size) k \(k) s \(s)")
            XCTAssertEqual(g.padTop, before, "in \(size) k \(k) s \(s)")
        }
        let torch = ConvGeometry(height: 224, width: 224, kernel: 7, stride: 2, padding: .symmetric(3))
        XCTAssertEqual([torch.outHeight, torch.padTop], [112, 3])
    }

    func testConvolutionMatchesDirectLoops() {
        let cases: [(cin: Int, cout: Int, k: Int, s: Int, pad: ConvPadding, h: Int, w: Int, act: Activation)] = [
            (3, 8, 3, 2, .tfSame, 15, 12, .relu6), (5, 7, 7, 2, .symmetric(3), 17, 13, .relu),
            (6, 4, 1, 1, .symmetric(0), 5, 9, .identity), (6, 4, 1, 2, .symmetric(0), 9, 6, .identity),
            (4, 6, 3, 1, .symmetric(1), 7, 5, .relu), (3, 5, 3, 2, .symmetric(1), 8, 11, .relu),
            (4, 3, 5, 1, .tfSame, 6, 7, .relu6), (3, 5, 3, 1, .symmetric(1), 6, 8, .relu),
        ]
        for (n, c) in cases.enumerated() {
            for allowWinograd in [false, true] {
                for budget in [8 << 20, 37] {  // whole matrix at once, and one output row per chunk
                    let batch = 2
                    let input = random(c.cin * batch * c.h * c.w, seed: UInt64(n))
                    let weights = random(c.cout * c.cin * c.k * c.k, seed: UInt64(100 + n), scale: 0.5)
                    let bias = random(c.cout, seed: UInt64(200 + n), scale: 0.3)
                    let conv = Conv2D(
                        inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.pad,
                        activation: c.act, weights: weights, bias: bias, allowWinograd: allowWinograd)
                    let ref = Self.naiveConvolution(
                        input, weights: weights, bias: bias, channels: c.cin, outChannels: c.cout, batch: batch,
                        height: c.h, width: c.w, kernel: c.k, stride: c.s, padding: c.pad)
                    // Plain, then accumulating onto a residual already in `out`.
                    let residual = random(ref.values.count, seed: UInt64(300 + n))
                    for accumulate in [false, true] {
                        var out = accumulate ? residual : [Float](repeating: .nan, count: ref.values.count)
                        input.withUnsafeBufferPointer { x in
                            out.withUnsafeMutableBufferPointer { o in
                                conv.forward(o.baseAddress!, x.baseAddress!, batch: batch, height: c.h, width: c.w,
                                             accumulate: accumulate, workspace: ConvWorkspace(maxColumnFloats: budget))
                            }
                        }
                        let want = ref.values.enumerated().map { i, v in Self.activate(v + (accumulate ? Double(residual[i]) : 0), c.act) }
                        assertClose(out, want, "case \(n) winograd \(conv.usesWinograd) budget \(budget) accumulate \(accumulate)")
                    }
                }
            }
        }
    }

    func testWinogradIsUsedOnlyWhereEligible() {
        func conv(_ k: Int, _ s: Int, _ p: ConvPadding) -> Conv2D {
            Conv2D(inChannels: 2, outChannels: 2, kernel: k, stride: s, padding: p, activation: .relu,
                   weights: .init(repeating: 0, count: 4 * k * k), bias: [0, 0])
        }
        XCTAssertTrue(conv(3, 1, .symmetric(1)).usesWinograd)
        XCTAssertFalse(conv(3, 2, .symmetric(1)).usesWinograd)
        XCTAssertFalse(conv(3, 1, .tfSame).usesWinograd)
        XCTAssertFalse(conv(1, 1, .symmetric(0)).usesWinograd)
    }

    func testDepthwiseMatchesDirectLoops() {
        let cases: [(k: Int, s: Int, pad: ConvPadding, h: Int, w: Int)] = [
            (3, 1, .tfSame, 9, 7), (3, 2, .tfSame, 9, 8), (5, 1, .tfSame, 6, 11), (5, 2, .tfSame, 13, 10),
            (5, 2, .tfSame, 2, 3), (3, 2, .symmetric(1), 7, 7), (3, 1, .symmetric(0), 5, 6),
        ]
        for (n, c) in cases.enumerated() {
            let (channels, batch) = (5, 3)
            let input = random(channels * batch * c.h * c.w, seed: UInt64(n))
            let weights = random(channels * c.k * c.k, seed: UInt64(50 + n))
            let bias = random(channels, seed: UInt64(90 + n), scale: 0.5)
            let layer = DepthwiseConv2D(channels: channels, kernel: c.k, stride: c.s, padding: c.pad, activation: .relu6, weights: weights, bias: bias)
            let ref = Self.naiveConvolution(
                input, weights: weights, bias: bias, channels: channels, outChannels: channels, batch: batch,
                height: c.h, width: c.w, kernel: c.k, stride: c.s, padding: c.pad, depthwise: true)
            var out = [Float](repeating: .nan, count: ref.values.count)
            input.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { o in
                    layer.forward(o.baseAddress!, x.baseAddress!, batch: batch, height: c.h, width: c.w, workspace: ConvWorkspace())
                }
            }
            assertClose(out, ref.values.map { Self.activate($0, .relu6) }, "depthwise case \(n)")
        }
    }

    func testMaxPoolMatchesDirectLoops() {
        let (planes, h, w) = (4, 9, 8)
        let input = random(planes * h * w, seed: 5)
        let pool = MaxPool2D(kernel: 3, stride: 2, padding: .symmetric(1))
        let g = pool.geometry(height: h, width: w)
        var out = [Float](repeating: .nan, count: planes * g.outHeight * g.outWidth)
        input.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { pool.forward($0.baseAddress!, x.baseAddress!, planes: planes, height: h, width: w) }
        }
        var want = [Double]()
        for p in 0..<planes {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    var m = -Double.infinity
                    for iy in (oy * 2 - 1)...(oy * 2 + 1) where iy >= 0 && iy < h {
                        for ix in (ox * 2 - 1)...(ox * 2 + 1) where ix >= 0 && ix < w { m = max(m, Double(input[(p * h + iy) * w + ix])) }
                    }
                    want.append(m)
                }
            }
        }
        assertClose(out, want, "maxpool")
    }
}
