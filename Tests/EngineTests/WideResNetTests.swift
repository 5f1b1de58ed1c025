// Wide-ResNet: a small random-weight instance (torchvision names, saved by torch, converted by
// tools/convert_wide_resnet50.py) against PyTorch's layer2/layer3 outputs, a full-size WRN50-2 state dict
// with the real names and shapes built here (deterministic values) that must load and run at 224, and
// the loader's errors. Tolerance 1e-3·max|ref| as for EfficientNet (summation order only).
import Engine
import Foundation
import XCTest

final class WideResNetTests: XCTestCase {
    private let small = CNNTestSupport.fixture("wrn_small.safetensors")

    func testSmallInstanceConfigurationComesFromMetadata() throws {
        let model = try WideResNet(contentsOf: small)
        XCTAssertEqual(model.configuration, .init(stemChannels: 8, planes: [8, 16, 32], blocks: [1, 2, 2], widthPerGroup: 128))
        XCTAssertEqual(model.configuration.width(stage: 2), 64)
    }

    func testSmallInstanceMatchesPyTorch() throws {
        let model = try WideResNet(contentsOf: small)
        let images = CNNTestSupport.deterministicImages(batch: 2, height: 72, width: 60)
        let features = model.forward(images, batch: 2, height: 72, width: 60)
        XCTAssertEqual(model.tapShapes(height: 72, width: 60), [.init(channels: 64, height: 9, width: 8), .init(channels: 128, height: 5, width: 4)])
        try CNNTestSupport.assertMatches(features, tap: 0, golden: "wrn_small_72x60_layer2.npy")
        try CNNTestSupport.assertMatches(features, tap: 1, golden: "wrn_small_72x60_layer3.npy")
    }

    /// A tiny im2col budget forces every 3×3 and 7×7 convolution through the chunked path.
    func testChunkedIm2colMatchesPyTorch() throws {
        let model = try WideResNet(contentsOf: small)
        let images = CNNTestSupport.deterministicImages(batch: 2, height: 72, width: 60)
        let features = model.forward(images, batch: 2, height: 72, width: 60, workspace: ConvWorkspace(maxColumnFloats: 5000))
        try CNNTestSupport.assertMatches(features, tap: 0, golden: "wrn_small_72x60_layer2.npy")
        try CNNTestSupport.assertMatches(features, tap: 1, golden: "wrn_small_72x60_layer3.npy")
    }

    /// One workspace across batch shapes: a small input, then a larger batch (buffers grow), then the
    /// small one again — each result equals a fresh workspace's.
    func testWorkspaceIsReusedAcrossBatchShapes() throws {
        let model = try WideResNet(contentsOf: small)
        let shared = ConvWorkspace()
        for (batch, h, w) in [(1, 40, 36), (3, 72, 60), (1, 40, 36)] {
            let x = CNNTestSupport.deterministicImages(batch: batch, height: h, width: w)
            let reused = model.forward(x, batch: batch, height: h, width: w, workspace: shared)
            let fresh = model.forward(x, batch: batch, height: h, width: w)
            XCTAssertEqual(reused.map { $0.map(\.values) }, fresh.map { $0.map(\.values) }, "batch \(batch) at \(h)×\(w)")
        }
    }

    func testSingleTapStopsEarly() throws {
        let model = try WideResNet(contentsOf: small, taps: [2])
        let features = model.forward(CNNTestSupport.deterministicImages(batch: 2, height: 72, width: 60), batch: 2, height: 72, width: 60)
        XCTAssertEqual(features[0].count, 1)
        try CNNTestSupport.assertMatches(features, tap: 0, golden: "wrn_small_72x60_layer2.npy")
    }

    /// torchvision wide_resnet50_2 names and shapes up to layer3, as the converter keeps them.
    static func wideResNet50_2Shapes() -> [String: [Int]] {
        var shapes: [String: [Int]] = ["conv1.weight": [64, 3, 7, 7]]
        shapes.merge(CNNTestSupport.batchNormShapes("bn1", 64)) { $1 }
        var cin = 64
        for (s, (planes, blocks)) in [(64, 3), (128, 4), (256, 6)].enumerated() {
            let width = planes * 2, cout = planes * 4
            for j in 0..<blocks {
                let p = "layer\(s + 1).\(j)"
                shapes["\(p).conv1.weight"] = [width, cin, 1, 1]
                shapes["\(p).conv2.weight"] = [width, width, 3, 3]
                shapes["\(p).conv3.weight"] = [cout, width, 1, 1]
                for (bn, c) in [("bn1", width), ("bn2", width), ("bn3", cout)] {
                    shapes.merge(CNNTestSupport.batchNormShapes("\(p).\(bn)", c)) { $1 }
                }
                if j == 0 {
                    shapes["\(p).downsample.0.weight"] = [cout, cin, 1, 1]
                    shapes.merge(CNNTestSupport.batchNormShapes("\(p).downsample.1", cout)) { $1 }
                }
                cin = cout
            }
        }
        return shapes
    }

    static let wideResNet50_2Metadata = [
        "architecture": "wide_resnet50_2", "stem_channels": "64", "planes": "64,128,256", "layers": "3,4,6",
        "width_per_group": "128", "groups": "1", "expansion": "4",
    ]

    func testFullSizeStateDictLoadsAndRuns() throws {
        let url = try CNNTestSupport.temporaryDirectory(self).appendingPathComponent("wrn50_2.safetensors")
        try CNNTestSupport.writeSafeTensors(
            CNNTestSupport.randomTensors(Self.wideResNet50_2Shapes(), seed: 11), metadata: Self.wideResNet50_2Metadata, to: url)
        let model = try WideResNet(contentsOf: url)
        XCTAssertEqual(model.configuration, .wideResNet50_2)
        XCTAssertEqual(model.flops(height: 224, width: 224) / 1e9, 18.4, accuracy: 0.2)  // PEERS.md: 18.4 GFLOP/image
        let features = model.forward(CNNTestSupport.deterministicImages(batch: 1, height: 224, width: 224), batch: 1, height: 224, width: 224)
        XCTAssertEqual(features[0].map(\.shape), [.init(channels: 512, height: 28, width: 28), .init(channels: 1024, height: 14, width: 14)])
        for map in features[0] {
            XCTAssert(map.values.allSatisfy(\.isFinite))
            let positive = map.values.filter { $0 > 0 }.count
            XCTAssert(positive > map.values.count / 10, "ReLU output should not be almost all zero: \(positive) positive")
        }
    }

    // MARK: loader errors

    private func editedSmall(_ edit: (inout [String: CNNTestSupport.Tensor], inout [String: String]) -> Void) throws -> SafeTensorsFile {
        var (tensors, metadata) = try CNNTestSupport.readAll(small)
        edit(&tensors, &metadata)
        let url = try CNNTestSupport.temporaryDirectory(self).appendingPathComponent("edited.safetensors")
        try CNNTestSupport.writeSafeTensors(tensors, metadata: metadata, to: url)
        return try SafeTensorsFile(contentsOf: url)
    }

    func testMissingTensorIsNamed() throws {
        let file = try editedSmall { tensors, _ in tensors["layer2.0.downsample.1.running_var"] = nil }
        XCTAssertThrowsError(try WideResNet(weights: file)) { error in
            guard case WeightsError.missingTensor(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("layer2.0.downsample.1.running_var"), m)
        }
    }

    func testMisshapedTensorIsNamed() throws {
        let file = try editedSmall { tensors, _ in
            tensors["layer1.0.conv2.weight"] = .init(shape: [16, 16, 1, 1], values: .init(repeating: 0, count: 256))
        }
        XCTAssertThrowsError(try WideResNet(weights: file)) { error in
            guard case WeightsError.wrongShape(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("layer1.0.conv2.weight") && m.contains("[16, 16, 3, 3]"), m)
        }
    }

    func testExtraTensorIsNamed() throws {
        let file = try editedSmall { tensors, _ in tensors["layer4.0.conv1.weight"] = .init(shape: [2], values: [0, 0]) }
        XCTAssertThrowsError(try WideResNet(weights: file)) { error in
            guard case WeightsError.unexpectedTensor(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("layer4.0.conv1.weight"), m)
        }
    }

    func testMetadataDisagreeingWithTensorsIsRefused() throws {
        let file = try editedSmall { _, metadata in metadata["layers"] = "1,2,3" }  // layer3.2 does not exist
        XCTAssertThrowsError(try WideResNet(weights: file)) { error in
            guard case WeightsError.missingTensor(let m) = error else { return XCTFail("got \(error)") }
            XCTAssert(m.contains("layer3.2."), m)
        }
    }

    func testWrongOrMissingMetadataIsRefused() throws {
        for (key, value) in [("architecture", "efficientnet_lite0"), ("groups", "32"), ("planes", "8,x,32"), ("layers", nil)] as [(String, String?)] {
            let file = try editedSmall { _, metadata in metadata[key] = value }
            XCTAssertThrowsError(try WideResNet(weights: file), "\(key)=\(value ?? "nil")") { error in
                guard case WeightsError.wrongArchitecture(let m) = error else { return XCTFail("got \(error)") }
                XCTAssert(m.contains(key == "architecture" ? "efficientnet_lite0" : key), m)
            }
        }
    }
}
