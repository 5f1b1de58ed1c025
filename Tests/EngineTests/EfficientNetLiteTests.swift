// EfficientNet-Lite0: the real ImageNet weights against the plain-PyTorch reference of
// tools/make_cnn_goldens.py (blocks 4 and 10), and the loader's checks on synthetic weight files.
// Tolerance 1e-3·max|ref|: float32 GEMMs in a different summation order (OpenBLAS vs oneDNN) through
// 11 blocks differ by ~1e-5 relative; a wrong padding, fold or residual shows up as ≥ 1e-2.
import Engine
import Foundation
import XCTest

final class EfficientNetLiteTests: XCTestCase {
    /// The converted real weights, or a skip naming how to make them.
    private func realWeights() throws -> URL {
        let url = CNNTestSupport.weights("efficientnet_lite0.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) missing ---> HINT: run tools/fetch_weights.sh (or tools/convert_efficientnet_lite0.py)")
        }
        return url
    }

    func testRealWeightsMatchPyTorchAt224() throws {
        let model = try EfficientNetLite(contentsOf: realWeights())
        let images = CNNTestSupport.deterministicImages(batch: 2, height: 224, width: 224)
        let features = model.forward(images, batch: 2, height: 224, width: 224)
        XCTAssertEqual(features.count, 2)
        try CNNTestSupport.assertMatches(features, tap: 0, golden: "efficientnet_lite0_224x224_block4.npy")
        try CNNTestSupport.assertMatches(features, tap: 1, golden: "efficientnet_lite0_224x224_block10.npy")
    }

    /// Odd, non-square input: TF-SAME padding is symmetric at some layers and asymmetric at others.
    func testRealWeightsMatchPyTorchAtOddSize() throws {
        let model = try EfficientNetLite(contentsOf: realWeights())
        let images = CNNTestSupport.deterministicImages(batch: 1, height: 203, width: 181)
        let features = model.forward(images, batch: 1, height: 203, width: 181)
        try CNNTestSupport.assertMatches(features, tap: 0, golden: "efficientnet_lite0_203x181_block4.npy")
        try CNNTestSupport.assertMatches(features, tap: 1, golden: "efficientnet_lite0_203x181_block10.npy")
    }

    func testRealWeightsFileIsTheConvertedPackage() throws {
        let file = try SafeTensorsFile(contentsOf: realWeights())
        XCTAssertEqual(file.metadata["architecture"], "efficientnet_lite0")
        XCTAssertEqual(
            file.metadata["source"],
            "efficientnet-lite0-57934424.pth sha256:579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db")
    }

    // MARK: synthetic weights (run everywhere)

    /// Every tensor name and shape of the converted file, written out independently of the model code.
    static func lite0Shapes() -> [String: [Int]] {
        var shapes: [String: [Int]] = ["_conv_stem.weight": [32, 3, 3, 3]]
        shapes.merge(CNNTestSupport.batchNormShapes("_bn0", 32)) { $1 }
        let stages = [(1, 3, 1, 16), (2, 3, 6, 24), (2, 5, 6, 40), (3, 3, 6, 80), (3, 5, 6, 112), (4, 5, 6, 192), (1, 3, 6, 320)]
        var cin = 32, i = 0
        for (repeats, k, e, cout) in stages {
            for _ in 0..<repeats {
                let p = "_blocks.\(i)", mid = cin * e
                if e != 1 {
                    shapes["\(p)._expand_conv.weight"] = [mid, cin, 1, 1]
                    shapes.merge(CNNTestSupport.batchNormShapes("\(p)._bn0", mid)) { $1 }
                }
                shapes["\(p)._depthwise_conv.weight"] = [mid, 1, k, k]
                shapes.merge(CNNTestSupport.batchNormShapes("\(p)._bn1", mid)) { $1 }
                shapes["\(p)._project_conv.weight"] = [cout, mid, 1, 1]
                shapes.merge(CNNTestSupport.batchNormShapes("\(p)._bn2", cout)) { $1 }
                (cin, i) = (cout, i + 1)
            }
        }
        shapes["_conv_head.weight"] = [1280, 320, 1, 1]
        shapes.merge(CNNTestSupport.batchNormShapes("_bn1", 1280)) { $1 }
        shapes["_fc.weight"] = [1000, 1280]
        shapes["_fc.bias"] = [1000]
        return shapes
    }

    /// Random Lite0 tensors, generated once for all tests of this class.
    private static let syntheticTensors = CNNTestSupport.randomTensors(lite0Shapes(), seed: 7)

    private func syntheticFile(
        _ edit: (inout [String: CNNTestSupport.Tensor], inout [String: String]) -> Void = { _, _ in }
    ) throws -> SafeTensorsFile {
        var tensors = Self.syntheticTensors
        var metadata = ["architecture": "efficientnet_lite0"]
        edit(&tensors, &metadata)
        let url = try CNNTestSupport.temporaryDirectory(self).appendingPathComponent("lite0.safetensors")
        try CNNTestSupport.writeSafeTensors(tensors, metadata: metadata, to: url)
        return try SafeTensorsFile(contentsOf: url)
    }

    func testTapShapesAndOutputShapesAgree() throws {
        let model = try EfficientNetLite(weights: syntheticFile(), taps: [1, 4, 10])
        let shapes = model.tapShapes(height: 224, width: 224)
        XCTAssertEqual(shapes, [.init(channels: 24, height: 56, width: 56), .init(channels: 40, height: 28, width: 28), .init(channels: 112, height: 14, width: 14)])
        let features = model.forward(CNNTestSupport.deterministicImages(batch: 1, height: 224, width: 224), batch: 1, height: 224, width: 224)
        XCTAssertEqual(features.count, 1)
        XCTAssertEqual(features[0].map(\.shape), shapes)
        XCTAssert(features[0].allSatisfy { $0.values.allSatisfy(\.isFinite) })
    }

    /// A batch gives each image exactly what it gets alone (the (C, B, H, W) layout mixes nothing).
    func testBatchEqualsSingleImages() throws {
        let model = try EfficientNetLite(weights: syntheticFile())
        let (h, w) = (67, 53)
        let images = CNNTestSupport.deterministicImages(batch: 3, height: h, width: w)
        let batched = model.forward(images, batch: 3, height: h, width: w)
        let workspace = ConvWorkspace()
        for b in 0..<3 {
            let one = Array(images[(b * 3 * h * w)..<((b + 1) * 3 * h * w)])
            let single = model.forward(one, batch: 1, height: h, width: w, workspace: workspace)
            for (tap, map) in single[0].enumerated() {
                let diff = zip(batched[b][tap].values, map.values).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(diff, 1e-4 * max(1, map.values.map(abs).max()!), "image \(b), tap \(tap)")
            }
        }
    }

    func testMissingTensorIsNamed() throws {
        let file = try syntheticFile { tensors, _ in tensors["_blocks.7._bn1.running_var"] = nil }
        XCTAssertThrowsError(try EfficientNetLite(weights: file)) { error in
            guard case WeightsError.missingTensor(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("_blocks.7._bn1.running_var"), m)
        }
    }

    func testMisshapedTensorIsNamed() throws {
        let file = try syntheticFile { tensors, _ in
            tensors["_blocks.3._depthwise_conv.weight"] = .init(shape: [144, 1, 3, 3], values: .init(repeating: 0, count: 144 * 9))
        }
        XCTAssertThrowsError(try EfficientNetLite(weights: file)) { error in
            guard case WeightsError.wrongShape(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("_blocks.3._depthwise_conv.weight") && m.contains("[144, 1, 5, 5]"), m)
        }
    }

    func testExtraTensorIsNamed() throws {
        let file = try syntheticFile { tensors, _ in tensors["_blocks.16._project_conv.weight"] = .init(shape: [1], values: [0]) }
        XCTAssertThrowsError(try EfficientNetLite(weights: file)) { error in
            guard case WeightsError.unexpectedTensor(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("_blocks.16._project_conv.weight"), m)
        }
    }

    func testWrongArchitectureIsRefused() throws {
        let file = try syntheticFile { _, metadata in metadata["architecture"] = "wide_resnet50_2" }
        XCTAssertThrowsError(try EfficientNetLite(weights: file)) { error in
            guard case WeightsError.wrongArchitecture(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("wide_resnet50_2"), m)
        }
    }
}
