// Tests for FeatureMap and PatchEmbedder (ALGORITHM.md §2–4): PyTorch goldens written by
// tools/make_feature_goldens.py into Tests/Fixtures/features (the patchcore-inspection aggregation plus
// the seed's per-layer standardisation), the fast path against the Double reference on seeded random
// shapes, the standardisation and identity properties, PyTorch's pooling windows and bilinear taps, and
// one table row per way the shapes can be inconsistent.

@testable import Engine
import Foundation
import XCTest

/// Tests/Fixtures/features, found from this file's path.
private let featureFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // EngineTests
    .deletingLastPathComponent()  // Tests
    .appendingPathComponent("Fixtures/features", isDirectory: true)

private func readFixture(_ name: String) throws -> NPYArray {
    try NPYArray.read(from: featureFixtures.appendingPathComponent(name))
}

/// A (C, H, W) fixture as a feature map.
private func readMap(_ name: String) throws -> FeatureMap {
    let array = try readFixture(name)
    XCTAssertEqual(array.shape.count, 3, name)
    return try FeatureMap(channels: array.shape[0], height: array.shape[1], width: array.shape[2], values: array.values)
}

/// Asserts max|actual − expected| ≤ relative·max|expected|; a failure names the worst index and both values.
private func assertClose(_ actual: [Float], _ expected: [Float], relative: Float = 1e-5, _ label: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(label): count", file: file, line: line)
    guard actual.count == expected.count else { return }
    let scale = expected.map { abs($0) }.max() ?? 0
    let tolerance = relative * scale
    var worst = 0
    var worstDifference: Float = -1
    for i in 0..<actual.count where abs(actual[i] - expected[i]) > worstDifference || actual[i].isNaN {
        worst = i
        worstDifference = actual[i].isNaN ? .infinity : abs(actual[i] - expected[i])
    }
    // Printed on success too, as llm.c's test_gpt2 does, so a drift towards the tolerance is visible.
    print("\(label): max |Δ| \(worstDifference) at index \(worst), tolerance \(tolerance) — \(worstDifference <= tolerance ? "OK" : "NOT OK")")
    XCTAssertLessThanOrEqual(
        worstDifference, tolerance,
        "\(label): index \(worst) got \(actual[worst]), expected \(expected[worst]); max |Δ| \(worstDifference) > tolerance \(tolerance) (\(relative)·max|ref| \(scale))",
        file: file, line: line)
}

final class PatchEmbedderTests: XCTestCase {
    // MARK: - Goldens (PyTorch 2.13, tools/make_feature_goldens.py)
    //
    // Tolerance 1e-5·max|Z|: the reference's own float32 result differs from a float64 run of the same
    // ops by ≤ 1e-7·max|Z| (manifest.json, float32VsFloat64RelativeError), and our order of summation
    // differs from PyTorch's (pooling before resizing), so 1e-5 leaves a 100× margin for rounding while
    // any wrong window, tap or flattening order moves values by O(max|Z|).

    private func runGolden(_ name: String, layers: Int, pretrain: Int, target: Int,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let maps = try (0..<layers).map { try readMap("\(name)_layer\($0).npy") }
        let embedder = try PatchEmbedder(layerShapes: maps.map(\.shape), pretrainDimension: pretrain, targetDimension: target)
        let expected = try readFixture("\(name)_z.npy")
        XCTAssertEqual(expected.shape, [embedder.patches, target], file: file, line: line)
        assertClose(try embedder.embed(maps), expected.values, name, file: file, line: line)
    }

    func testGoldenTwoLayersMatchesPatchCore() throws {
        try runGolden("two_layers", layers: 2, pretrain: 20, target: 32)  // 8×6×6, 12×3×3
    }

    func testGoldenVectorsShorterThanDpMatchPatchCore() throws {
        // L = 45 and 63 < Dp = 64: overlapping windows repeat inputs, as adaptive_avg_pool1d does.
        try runGolden("short_vectors", layers: 2, pretrain: 64, target: 96)  // 5×4×4, 7×2×2
    }

    func testGoldenThreeLayersMatchesPatchCore() throws {
        // 6×8×8, 9×5×5 (a non-integer scale 5 → 8), 11×3×3; Dt = 50 pools 90 values unevenly.
        try runGolden("three_layers", layers: 3, pretrain: 30, target: 50)
    }

    func testGoldenViTTokensMatchPatchCore() throws {
        // Two 16×5×5 layers given as tokens (1 + 25, 16) with a large CLS token that must be dropped;
        // 2·Dp = Dt makes the aggregation a copy.
        let maps = try (0..<2).map { layer -> FeatureMap in
            let tokens = try readFixture("vit_tokens_tokens\(layer).npy")
            XCTAssertEqual(tokens.shape, [26, 16])
            return try FeatureMap.fromTokens(tokens.values, tokenCount: 26, channels: 16, height: 5, width: 5)
        }
        let embedder = try PatchEmbedder(layerShapes: maps.map(\.shape), pretrainDimension: 48, targetDimension: 96)
        assertClose(try embedder.embed(maps), try readFixture("vit_tokens_z.npy").values, "vit_tokens")
    }

    func testGoldenEfficientNetLite0ShapesMatchPatchCore() throws {
        // 40×28×28 + 112×14×14 → (784, 2048). The fixture keeps 64 seeded rows of Z (first and last
        // included) plus sum, sum of squares and max |z| of the full Z.
        let maps = try (0..<2).map { try readMap("efficientnet_lite0_layer\($0).npy") }
        let embedder = try PatchEmbedder(layerShapes: maps.map(\.shape), pretrainDimension: 1024, targetDimension: 2048)
        let z = try embedder.embed(maps)
        XCTAssertEqual(z.count, 784 * 2048)
        let rows = try readFixture("efficientnet_lite0_rows.npy").values.map { Int($0) }
        let expected = try readFixture("efficientnet_lite0_z_rows.npy")
        XCTAssertEqual(expected.shape, [rows.count, 2048])
        var kept = [Float]()
        kept.reserveCapacity(rows.count * 2048)
        for row in rows { kept.append(contentsOf: z[(row * 2048)..<((row + 1) * 2048)]) }
        assertClose(kept, expected.values, "efficientnet_lite0 rows")

        // Whole-Z statistics, relative 1e-5: a sum over 1.6 M values of either sign can cancel, so its
        // tolerance is scaled by Σ|z|-sized quantities (√count·max|z| bounds the rounding of random signs).
        let summary = try readFixture("efficientnet_lite0_z_summary.npy").values
        let sum = z.reduce(0.0) { $0 + Double($1) }
        let squares = z.reduce(0.0) { $0 + Double($1) * Double($1) }
        let maxAbs = z.map { abs($0) }.max()!
        XCTAssertEqual(sum, Double(summary[0]), accuracy: 1e-5 * Double(z.count).squareRoot() * Double(maxAbs))
        XCTAssertEqual(squares, Double(summary[1]), accuracy: 1e-5 * Double(summary[1]))
        XCTAssertEqual(maxAbs, summary[2], accuracy: 1e-5 * summary[2])
    }

    // MARK: - Fast path against the Double reference

    func testMatchesDoubleReferenceOnRandomShapes() throws {
        // (layer shapes, Dp, Dt): coarser, finer and equal grids, non-integer scales, 1×1 grids,
        // L < Dp, L = Dp, Dt above and below layers·Dp.
        let cases: [([FeatureShape], Int, Int)] = [
            ([.init(channels: 3, height: 7, width: 5), .init(channels: 5, height: 3, width: 2)], 11, 17),
            ([.init(channels: 2, height: 4, width: 6), .init(channels: 4, height: 9, width: 7)], 13, 26),
            ([.init(channels: 1, height: 1, width: 1), .init(channels: 2, height: 1, width: 1)], 9, 5),
            ([.init(channels: 6, height: 6, width: 6), .init(channels: 3, height: 1, width: 1)], 54, 200),
            ([.init(channels: 4, height: 5, width: 3), .init(channels: 7, height: 2, width: 4),
              .init(channels: 2, height: 3, width: 3)], 25, 75),
            ([.init(channels: 10, height: 2, width: 9)], 7, 3),
        ]
        let seed: UInt64 = 7_301
        var random = SeededRandom(seed: seed)
        for (index, (shapes, pretrain, target)) in cases.enumerated() {
            let maps = try shapes.map { shape in
                try FeatureMap(channels: shape.channels, height: shape.height, width: shape.width,
                               values: random.normals(shape.valueCount!, scale: 3).map { $0 + 2 })
            }
            let embedder = try PatchEmbedder(layerShapes: shapes, pretrainDimension: pretrain, targetDimension: target)
            let reference = embedder.referenceEmbed(maps).map { Float($0) }
            assertClose(try embedder.embed(maps), reference, "seed \(seed), case \(index) \(shapes) Dp \(pretrain) Dt \(target)")
        }
    }

    func testEmbedIntoBufferMatchesReturnedArray() throws {
        var random = SeededRandom(seed: 11)
        let shapes = [FeatureShape(channels: 4, height: 6, width: 6), FeatureShape(channels: 6, height: 3, width: 3)]
        let maps = try shapes.map { try FeatureMap(channels: $0.channels, height: $0.height, width: $0.width,
                                                   values: random.normals($0.valueCount!)) }
        let embedder = try PatchEmbedder(layerShapes: shapes, pretrainDimension: 16, targetDimension: 32)
        // Two images written into their slices of one (N, P, Dt) buffer.
        var batch = [Float](repeating: .nan, count: 2 * embedder.patches * 32)
        try batch.withUnsafeMutableBufferPointer { buffer throws(FeatureError) in
            let stride = embedder.patches * 32
            try embedder.embed(maps, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<stride]))
            try embedder.embed(maps, into: UnsafeMutableBufferPointer(rebasing: buffer[stride..<(2 * stride)]))
        }
        let single = try embedder.embed(maps)
        XCTAssertEqual(Array(batch[0..<single.count]), single)
        XCTAssertEqual(Array(batch[single.count...]), single)
    }

    // MARK: - Properties

    func testStandardizedLayerHasZeroMeanAndUnitVariance() throws {
        var random = SeededRandom(seed: 5)
        let layer = try FeatureMap(channels: 7, height: 9, width: 11, values: random.normals(7 * 9 * 11, scale: 40).map { $0 + 1000 })
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: 7 * 11 * 13)  // (C, H+2, W+2)
        defer { padded.deallocate() }
        try PatchEmbedder.standardize(layer, layerIndex: 0, intoPadded: padded)
        var interior = [Double](), border = [Float]()
        for c in 0..<7 {
            for y in 0..<11 {
                for x in 0..<13 {
                    let value = padded[(c * 11 + y) * 13 + x]
                    if y == 0 || y == 10 || x == 0 || x == 12 { border.append(value) } else { interior.append(Double(value)) }
                }
            }
        }
        let mean = interior.reduce(0, +) / Double(interior.count)
        let variance = interior.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(interior.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-6)
        // Biased variance σ² of the input becomes σ²/(σ² + 1e-5): 1 to within 1e-8 for σ ≈ 40.
        XCTAssertEqual(variance, 1, accuracy: 1e-5)
        XCTAssertEqual(border, [Float](repeating: 0, count: border.count), "unfold padding must be zero")
    }

    func testConstantLayerStandardizesToZero() throws {
        // Variance 0: (x − mean)/sqrt(0 + 1e-5) = 0 everywhere, no division by zero.
        let layer = try FeatureMap(channels: 2, height: 3, width: 3, values: [Float](repeating: 4.5, count: 18))
        let embedder = try PatchEmbedder(layerShapes: [layer.shape], pretrainDimension: 18, targetDimension: 18)
        XCTAssertEqual(try embedder.embed([layer]), [Float](repeating: 0, count: 9 * 18))
    }

    func testOneLayerWithNineCEqualToDpAndDtIsTheUnfoldItself() throws {
        // 9C = Dp = Dt: both poolings are copies, so Z is the standardised 3×3 unfold, channel-major.
        let C = 4, H = 5, W = 6
        var random = SeededRandom(seed: 3)
        let layer = try FeatureMap(channels: C, height: H, width: W, values: random.normals(C * H * W, scale: 2))
        let embedder = try PatchEmbedder(layerShapes: [layer.shape], pretrainDimension: 9 * C, targetDimension: 9 * C)
        let z = try embedder.embed([layer])  // (H·W, 9C)
        let x = layer.values.map(Double.init)
        let mean = x.reduce(0, +) / Double(x.count)
        let sd = (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count) + 1e-5).squareRoot()
        for y in 0..<H {
            for col in 0..<W {
                for c in 0..<C {
                    for ky in 0..<3 {
                        for kx in 0..<3 {
                            let sy = y + ky - 1, sx = col + kx - 1
                            let inside = sy >= 0 && sy < H && sx >= 0 && sx < W
                            let expected = inside ? (x[(c * H + sy) * W + sx] - mean) / sd : 0
                            XCTAssertEqual(Double(z[(y * W + col) * 9 * C + c * 9 + ky * 3 + kx]), expected, accuracy: 1e-6,
                                           "patch (\(y), \(col)), entry (\(c), \(ky), \(kx))")
                        }
                    }
                }
            }
        }
    }

    func testPoolingWindowsAreAdaptiveAvgPool1dWindows() {
        // floor(i·L/O) ..< ceil((i+1)·L/O), worked out by hand: L > O (windows overlap at fractions),
        // L < O (inputs repeat), L = O (copy).
        XCTAssertEqual(AdaptiveAveragePooling(inputLength: 10, outputLength: 4).windows, [0..<3, 2..<5, 5..<8, 7..<10])
        XCTAssertEqual(AdaptiveAveragePooling(inputLength: 3, outputLength: 5).windows, [0..<1, 0..<2, 1..<2, 1..<3, 2..<3])
        XCTAssertEqual(AdaptiveAveragePooling(inputLength: 9, outputLength: 3).windows, [0..<3, 3..<6, 6..<9])
        XCTAssertEqual(AdaptiveAveragePooling(inputLength: 4, outputLength: 4).windows, [0..<1, 1..<2, 2..<3, 3..<4])
    }

    func testBilinearTapsFollowAlignCornersFalse() {
        // 14 → 28 (WRN layer3 → layer2 grid): s = (o + 0.5)/2 − 0.5; clamp at 0; the last index repeats.
        let up = BilinearTaps(inputSize: 14, outputSize: 28).taps
        XCTAssertEqual([up[0].lower, up[0].upper], [0, 1]); XCTAssertEqual(up[0].upperWeight, 0)
        XCTAssertEqual([up[1].lower, up[1].upper], [0, 1]); XCTAssertEqual(up[1].upperWeight, 0.25)
        XCTAssertEqual([up[2].lower, up[2].upper], [0, 1]); XCTAssertEqual(up[2].upperWeight, 0.75)
        XCTAssertEqual([up[27].lower, up[27].upper], [13, 13]); XCTAssertEqual(up[27].lowerWeight + up[27].upperWeight, 1)
        // 4 → 2 (downsampling, no antialias): s = 2(o + 0.5) − 0.5 = 0.5, 2.5.
        let down = BilinearTaps(inputSize: 4, outputSize: 2).taps
        XCTAssertEqual(down.map(\.lower), [0, 2]); XCTAssertEqual(down.map(\.upperWeight), [0.5, 0.5])
    }

    func testTransposeHandlesEveryRemainder() {
        // The 4×4 block kernel plus its scalar edges, for every remainder of rows and columns modulo 4.
        for rows in [1, 3, 4, 5, 8, 66, 67] {
            for columns in [1, 2, 4, 7, 12, 33] {
                let source = (0..<(rows * columns)).map(Float.init)
                var destination = [Float](repeating: .nan, count: rows * columns)
                source.withUnsafeBufferPointer { s in
                    destination.withUnsafeMutableBufferPointer { d in
                        PatchEmbedder.transpose(s.baseAddress!, rows: rows, columns: columns, into: d.baseAddress!)
                    }
                }
                let expected = (0..<(rows * columns)).map { Float(($0 % rows) * columns + $0 / rows) }
                XCTAssertEqual(destination, expected, "transpose (\(rows), \(columns))")
            }
        }
    }

    // MARK: - FeatureMap.fromTokens

    func testFromTokensDropsPrefixAndMovesChannelsFirst() throws {
        // Tokens (prefix + H·W, C) with value 100·token + channel: map (c, y, x) must hold
        // 100·(prefix + y·W + x) + c.
        for prefix in [0, 1, 4] {
            let C = 3, H = 2, W = 5, T = prefix + H * W
            let tokens = (0..<(T * C)).map { Float(100 * ($0 / C) + $0 % C) }
            let map = try FeatureMap.fromTokens(tokens, tokenCount: T, channels: C, height: H, width: W, prefixTokens: prefix)
            XCTAssertEqual(map.shape, FeatureShape(channels: C, height: H, width: W))
            for c in 0..<C {
                for y in 0..<H {
                    for x in 0..<W {
                        XCTAssertEqual(map.values[(c * H + y) * W + x], Float(100 * (prefix + y * W + x) + c))
                    }
                }
            }
        }
    }

    // MARK: - Inconsistent shapes

    func testRejectsInconsistentShapes() throws {
        let good = [FeatureShape(channels: 4, height: 4, width: 4), FeatureShape(channels: 8, height: 2, width: 2)]
        let embedderCases: [(String, [FeatureShape], Int, Int)] = [
            ("no layers", [], 8, 8),
            ("zero channels", [FeatureShape(channels: 0, height: 4, width: 4)], 8, 8),
            ("negative height", [FeatureShape(channels: 2, height: -1, width: 4)], 8, 8),
            ("too many channels", [FeatureShape(channels: PatchEmbedder.maxChannels + 1, height: 1, width: 1)], 8, 8),
            ("zero Dp", good, 0, 8),
            ("zero Dt", good, 8, 0),
            ("Dt over the limit", good, 8, PatchEmbedder.maxEmbeddingDimension + 1),
        ]
        for (name, shapes, pretrain, target) in embedderCases {
            XCTAssertThrowsError(try PatchEmbedder(layerShapes: shapes, pretrainDimension: pretrain, targetDimension: target), name) {
                guard case .invalidShape = $0 as? FeatureError else { return XCTFail("\(name): \($0)") }
            }
        }

        let embedder = try PatchEmbedder(layerShapes: good, pretrainDimension: 8, targetDimension: 16)
        func map(_ c: Int, _ h: Int, _ w: Int) throws -> FeatureMap {
            try FeatureMap(channels: c, height: h, width: w, values: [Float](repeating: 1, count: c * h * w))
        }
        var shortValues = try map(4, 4, 4)
        shortValues.values.removeLast()
        var nanValues = try map(8, 2, 2)
        nanValues.values[5] = .nan
        let embedCases: [(String, [FeatureMap], FeatureError)] = [
            ("one layer missing", [try map(4, 4, 4)], .layerMismatch("")),
            ("layers swapped", [try map(8, 2, 2), try map(4, 4, 4)], .layerMismatch("")),
            ("wrong channels", [try map(4, 4, 4), try map(7, 2, 2)], .layerMismatch("")),
            ("wrong grid", [try map(4, 4, 4), try map(8, 2, 3)], .layerMismatch("")),
            ("values edited after init", [shortValues, try map(8, 2, 2)], .countMismatch("")),
            ("NaN in a layer", [try map(4, 4, 4), nanValues], .nonFinite("")),
        ]
        for (name, maps, expected) in embedCases {
            XCTAssertThrowsError(try embedder.embed(maps), name) { error in
                XCTAssertEqual(Self.kind(error), Self.kind(expected), "\(name): \(error)")
            }
        }
        var tooSmall = [Float](repeating: 0, count: embedder.patches * 16 - 1)
        XCTAssertThrowsError(try tooSmall.withUnsafeMutableBufferPointer { buffer throws(FeatureError) in
            try embedder.embed([try! map(4, 4, 4), try! map(8, 2, 2)], into: buffer)
        }) { XCTAssertEqual(Self.kind($0), "countMismatch", "\($0)") }
    }

    func testFeatureMapRejectsInconsistentBuffers() {
        let cases: [(String, () throws -> FeatureMap, String)] = [
            ("values short of C·H·W", { try FeatureMap(channels: 2, height: 3, width: 3, values: [Float](repeating: 0, count: 17)) }, "countMismatch"),
            ("zero width", { try FeatureMap(channels: 2, height: 3, width: 0, values: []) }, "invalidShape"),
            ("tokens missing the CLS token", { try FeatureMap.fromTokens([Float](repeating: 0, count: 4 * 3), tokenCount: 4, channels: 3, height: 2, width: 2) }, "countMismatch"),
            ("token buffer too long", { try FeatureMap.fromTokens([Float](repeating: 0, count: 5 * 3 + 1), tokenCount: 5, channels: 3, height: 2, width: 2) }, "countMismatch"),
            ("prefix longer than the tokens", { try FeatureMap.fromTokens([Float](repeating: 0, count: 3), tokenCount: 1, channels: 3, height: 1, width: 1, prefixTokens: 2) }, "countMismatch"),
            ("negative prefix", { try FeatureMap.fromTokens([Float](repeating: 0, count: 3), tokenCount: 1, channels: 3, height: 1, width: 1, prefixTokens: -1) }, "invalidShape"),
        ]
        for (name, make, expected) in cases {
            XCTAssertThrowsError(try make(), name) { XCTAssertEqual(Self.kind($0), expected, "\(name): \($0)") }
        }
    }

    /// The case name of a FeatureError, so tables can ignore message text.
    private static func kind(_ error: Error) -> String {
        guard let error = error as? FeatureError else { return "not a FeatureError: \(error)" }
        switch error {
        case .invalidShape: return "invalidShape"
        case .countMismatch: return "countMismatch"
        case .layerMismatch: return "layerMismatch"
        case .nonFinite: return "nonFinite"
        }
    }
}
