// Helpers for the CNN backbone tests: fixture and weights paths, the deterministic input that
// tools/make_cnn_goldens.py also generates, a relative-tolerance comparison that prints its largest
// difference, and a small safetensors writer for building test weight files in a temporary directory.
import Engine
import Foundation
import XCTest

enum CNNTestSupport {
    /// The package root (…/Tests/EngineTests/ → …).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures/cnn/<name>`.
    static func fixture(_ name: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures/cnn").appendingPathComponent(name)
    }

    /// `weights/<name>` (git-ignored; written by the converters).
    static func weights(_ name: String) -> URL {
        packageRoot.appendingPathComponent("weights").appendingPathComponent(name)
    }

    /// x[b, c, h, w] = Float(sin(0.013·(h+1)·(c+2)) + 0.5·cos(0.021·(w+1)) + 0.1·b), in Double then rounded
    /// once — the formula of `deterministic_input` in tools/make_cnn_goldens.py. (B, 3, H, W).
    static func deterministicImages(batch: Int, height: Int, width: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(batch * 3 * height * width)
        for b in 0..<batch {
            for c in 0..<3 {
                for h in 0..<height {
                    for w in 0..<width {
                        let v = sin(0.013 * Double((h + 1) * (c + 2))) + 0.5 * cos(0.021 * Double(w + 1)) + 0.1 * Double(b)
                        out.append(Float(v))
                    }
                }
            }
        }
        return out
    }

    /// Checks tap `tap` of every image (`features[image][tap]`, stacked to (B, C, H, W)) against the golden
    /// `.npy` with max|Δ| ≤ tolerance·max|ref|, printing the largest difference; a failure names the flat
    /// index and both values.
    static func assertMatches(
        _ features: [[FeatureMap]], tap: Int, golden name: String, relativeTolerance: Float = 1e-3,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let ref = try NPYArray.read(from: fixture(name))
        let maps = features.map { $0[tap] }
        let shape = [maps.count, maps[0].channels, maps[0].height, maps[0].width]
        let got = (values: maps.flatMap(\.values), shape: shape)
        XCTAssertEqual(got.shape, ref.shape, "\(name): shape", file: file, line: line)
        guard got.shape == ref.shape, got.values.count == ref.values.count else { return }
        var worst = 0, maxDiff: Float = 0, maxRef: Float = 0
        for i in 0..<ref.values.count {
            maxRef = max(maxRef, abs(ref.values[i]))
            let d = abs(got.values[i] - ref.values[i])
            if !(d <= maxDiff) { (maxDiff, worst) = (d, i) }  // also catches NaN
        }
        let limit = relativeTolerance * maxRef
        print("\(name): max |Δ| = \(maxDiff) at \(worst) (max |ref| = \(maxRef), relative \(maxDiff / maxRef), limit \(limit))")
        XCTAssert(maxDiff <= limit, "\(name): index \(worst) got \(got.values[worst]) expected \(ref.values[worst]); max |Δ| \(maxDiff) > \(limit)", file: file, line: line)
    }

    /// A named tensor to write.
    struct Tensor {
        var shape: [Int]
        var values: [Float]
    }

    /// Writes F32 tensors as a safetensors file (`SafeTensorsFile.encode`).
    static func writeSafeTensors(_ tensors: [String: Tensor], metadata: [String: String], to url: URL) throws {
        try SafeTensorsFile.encode(tensors.mapValues { ($0.shape, $0.values) }, metadata: metadata).write(to: url)
    }

    /// Every tensor of a safetensors file, for rewriting it with a change.
    static func readAll(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = try SafeTensorsFile(contentsOf: url)
        var tensors = [String: Tensor]()
        for (name, info) in file.tensors {
            tensors[name] = Tensor(shape: info.shape, values: try file.floats(name, shape: info.shape))
        }
        return (tensors, file.metadata)
    }

    /// A fresh temporary directory, removed by the test's teardown.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnn-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Deterministic pseudo-random values in [−scale, scale) (a 64-bit LCG; no global state).
    static func deterministicValues(count: Int, seed: UInt64, scale: Float) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    /// Shapes of a BatchNorm's four tensors under `prefix`.
    static func batchNormShapes(_ prefix: String, _ channels: Int) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: ["weight", "bias", "running_mean", "running_var"].map { ("\(prefix).\($0)", [channels]) })
    }

    /// Random tensors for the given shapes: convolution weights scaled by √(2/fan-in), BatchNorm weights
    /// and variances near 1, biases and means near 0 — activations stay in a sane range through deep nets.
    static func randomTensors(_ shapes: [String: [Int]], seed: UInt64) -> [String: Tensor] {
        var out = [String: Tensor]()
        for (i, (name, shape)) in shapes.sorted(by: { $0.key < $1.key }).enumerated() {
            let count = shape.reduce(1, *)
            let s = seed &+ UInt64(i)
            let values: [Float]
            if name.hasSuffix(".running_var") || (name.hasSuffix(".weight") && shape.count == 1) {
                values = deterministicValues(count: count, seed: s, scale: 0.25).map { 1 + $0 }
            } else if shape.count == 1 {
                values = deterministicValues(count: count, seed: s, scale: 0.1)
            } else {
                let fanIn = shape.dropFirst().reduce(1, *)
                values = deterministicValues(count: count, seed: s, scale: (6 / Float(fanIn)).squareRoot())
            }
            out[name] = Tensor(shape: shape, values: values)
        }
        return out
    }
}
