// A full-size WideResNet50-2 (to layer3) with seeded random weights of the real shapes, written as safetensors —
// the same construction as Tests/EngineTests/WideResNetTests.swift (`testFullSizeStateDictLoadsAndRuns`)
// and CNNTestSupport.swift, copied here because executables cannot import test helpers.
import Engine
import Foundation

enum RandomWideResNet {
    static let metadata = [
        "architecture": "wide_resnet50_2", "stem_channels": "64", "planes": "64,128,256", "layers": "3,4,6",
        "width_per_group": "128", "groups": "1", "expansion": "4",
    ]

    /// torchvision tensor names and shapes of conv1 … layer3 of wide_resnet50_2.
    static func shapes() -> [String: [Int]] {
        func batchNorm(_ prefix: String, _ c: Int) -> [String: [Int]] {
            Dictionary(uniqueKeysWithValues: ["weight", "bias", "running_mean", "running_var"].map { ("\(prefix).\($0)", [c]) })
        }
        var shapes: [String: [Int]] = ["conv1.weight": [64, 3, 7, 7]]
        shapes.merge(batchNorm("bn1", 64)) { $1 }
        var cin = 64
        for (s, (planes, blocks)) in [(64, 3), (128, 4), (256, 6)].enumerated() {
            let width = planes * 2, cout = planes * 4
            for j in 0..<blocks {
                let p = "layer\(s + 1).\(j)"
                shapes["\(p).conv1.weight"] = [width, cin, 1, 1]
                shapes["\(p).conv2.weight"] = [width, width, 3, 3]
                shapes["\(p).conv3.weight"] = [cout, width, 1, 1]
                for (bn, c) in [("bn1", width), ("bn2", width), ("bn3", cout)] { shapes.merge(batchNorm("\(p).\(bn)", c)) { $1 } }
                if j == 0 {
                    shapes["\(p).downsample.0.weight"] = [cout, cin, 1, 1]
                    shapes.merge(batchNorm("\(p).downsample.1", cout)) { $1 }
                }
                cin = cout
            }
        }
        return shapes
    }

    /// Deterministic pseudo-random values in [−scale, scale) (a 64-bit LCG).
    static func values(count: Int, seed: UInt64, scale: Float) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    /// Writes the random WRN50-2 to `url`: convolutions scaled by √(6/fan-in), BatchNorm weights/variances
    /// near 1, biases/means near 0 (activations stay sane through 13 bottlenecks).
    static func write(to url: URL, seed: UInt64 = 11) throws {
        var tensors = [String: (shape: [Int], values: [Float])]()
        for (i, (name, shape)) in shapes().sorted(by: { $0.key < $1.key }).enumerated() {
            let count = shape.reduce(1, *), s = seed &+ UInt64(i)
            let v: [Float]
            if name.hasSuffix(".running_var") || (name.hasSuffix(".weight") && shape.count == 1) {
                v = values(count: count, seed: s, scale: 0.25).map { 1 + $0 }
            } else if shape.count == 1 {
                v = values(count: count, seed: s, scale: 0.1)
            } else {
                v = values(count: count, seed: s, scale: (6 / Float(shape.dropFirst().reduce(1, *))).squareRoot())
            }
            tensors[name] = (shape, v)
        }
        try SafeTensorsFile.encode(tensors, metadata: metadata).write(to: url)
    }
}
