// Tests for Preprocessing against the goldens in Tests/Fixtures/images (made by
// tools/make_image_goldens.py with Pillow's resize and torchvision's size and crop rules):
// resized uint8 images equal Pillow's byte for byte, tensors equal torchvision's within 1e-6,
// and computing only the crop window gives the same numbers as resizing everything first.

import Engine
import Foundation
import XCTest

final class PreprocessingTests: XCTestCase {
    /// Largest accepted difference between our tensor values and the float32 numpy oracle. Both do
    /// the same float32 operations in the same order, so they agree exactly on these fixtures;
    /// 1e-6 is about four float32 ulps at the largest magnitude (≈2.6), slack for a compiler
    /// that reassociates.
    static let tensorTolerance: Float = 1e-6

    func testResizedImagesEqualPillowByteForByte() throws {
        let manifest = try ImageGoldenManifest.load()
        for golden in manifest.preprocess {
            let source = try sourceImage(golden)
            let settings = try preprocessing(for: golden)
            let size = settings.resizedSize(width: golden.sourceWidth, height: golden.sourceHeight)
            XCTAssertEqual(size.width, golden.resizedWidth, golden.name)
            XCTAssertEqual(size.height, golden.resizedHeight, golden.name)
            let resized = try settings.resized(source)
            XCTAssertEqual(resized.width, golden.resizedWidth, golden.name)
            XCTAssertEqual(resized.height, golden.resizedHeight, golden.name)
            let rowBytes = resized.width * 3
            if let file = golden.resized {
                let expected = try imageFixtureBytes(file)
                XCTAssertEqual(resized.pixels.count, expected.count, golden.name)
                if let i = resized.pixels.indices.first(where: { $0 < expected.count && resized.pixels[$0] != expected[$0] }) {
                    XCTFail("""
                        \(golden.name): first difference at x \(i % rowBytes / 3), y \(i / rowBytes), \
                        channel \(i % 3): got \(resized.pixels[i]), Pillow \(expected[i])
                        """)
                }
            } else if let hashes = golden.resizedRowHashes {
                XCTAssertEqual(hashes.count, resized.height, golden.name)
                for (y, expected) in hashes.enumerated() where y < resized.height {
                    let row = resized.pixels[(y * rowBytes)..<((y + 1) * rowBytes)]
                    if fnv1a64Hex(row) != expected {
                        XCTFail("\(golden.name): row \(y) differs from Pillow's (FNV-1a \(fnv1a64Hex(row)) ≠ \(expected))")
                        break
                    }
                }
            } else {
                XCTFail("\(golden.name): manifest has neither resized bytes nor row hashes")
            }
        }
    }

    func testTensorsMatchTorchvision() throws {
        let manifest = try ImageGoldenManifest.load()
        var largest: Float = 0
        for golden in manifest.preprocess {
            let settings = try preprocessing(for: golden)
            let tensor = settings.apply(try sourceImage(golden))
            XCTAssertEqual(tensor.count, 3 * golden.crop * golden.crop, golden.name)
            let expected: [(index: Int, value: Float)]
            if let file = golden.tensor {
                let bytes = try imageFixtureBytes(file)
                expected = stride(from: 0, to: bytes.count, by: 4).map { offset in
                    let bits = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
                        | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
                    return (offset / 4, Float(bitPattern: bits))
                }
                XCTAssertEqual(expected.count, tensor.count, golden.name)
            } else if let samples = golden.tensorSamples, let step = golden.tensorSampleStride, let sum = golden.tensorSum {
                expected = samples.enumerated().map { ($0.offset * step, Float($0.element)) }
                let ourSum = tensor.reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(ourSum, sum, accuracy: Double(Self.tensorTolerance) * Double(tensor.count), golden.name)
            } else {
                XCTFail("\(golden.name): manifest has neither a tensor nor samples")
                continue
            }
            for (index, value) in expected where index < tensor.count {
                let difference = abs(tensor[index] - value)
                largest = max(largest, difference)
                if difference > Self.tensorTolerance {
                    let plane = golden.crop * golden.crop
                    XCTFail("""
                        \(golden.name): channel \(index / plane), y \(index % plane / golden.crop), \
                        x \(index % golden.crop): got \(tensor[index]), expected \(value), tolerance \(Self.tensorTolerance)
                        """)
                    break
                }
            }
        }
        print("PreprocessingTests: largest tensor difference from the oracle: \(largest)")
    }

    /// torchvision's `_compute_resized_output_size`: shorter side to `resize`, longer truncated.
    func testResizedSizeFollowsTorchvision() throws {
        let cases: [(width: Int, height: Int, resize: Int, expected: (Int, Int))] = [
            (300, 200, 256, (384, 256)),
            (200, 300, 256, (256, 384)),
            (500, 17, 256, (7529, 256)),  // 256 · 500 / 17 = 7529.4
            (17, 500, 448, (448, 13176)),  // 448 · 500 / 17 = 13176.5
            (640, 480, 448, (597, 448)),  // 597.33
            (37, 23, 23, (37, 23)),  // unchanged: torchvision returns the image itself
            (1, 1, 4, (4, 4)),
            (100, 100, 7, (7, 7)),
        ]
        for c in cases {
            let size = try Preprocessing(resize: c.resize, crop: 1).resizedSize(width: c.width, height: c.height)
            XCTAssertEqual(size.width, c.expected.0, "\(c)")
            XCTAssertEqual(size.height, c.expected.1, "\(c)")
        }
    }

    /// Centre-crop offsets: Python's round() goes to the even neighbour at .5; a crop larger than
    /// the image zero-pads (crop − length) // 2 before. (The goldens `same_37x23_r23_c20`, offsets
    /// 8.5 → 8 and 1.5 → 2, and `pad_37x23_r20_c24` check the same through `apply`.)
    func testCentreCropOffsetsRoundHalfToEven() throws {
        let cases: [(length: Int, crop: Int, offset: Int)] = [
            (256, 224, 16), (257, 224, 16), (259, 224, 18), (258, 224, 17), (225, 224, 0), (227, 224, 2),
            (224, 224, 0), (20, 24, -2), (21, 24, -1), (23, 24, 0), (1, 4, -1),
        ]
        for c in cases {
            XCTAssertEqual(Preprocessing.cropOffset(length: c.length, crop: c.crop), c.offset, "\(c)")
        }
    }

    func testSettingsAreValidated() {
        XCTAssertThrowsError(try Preprocessing(resize: 0, crop: 224)) { error in
            XCTAssertEqual(error as? PreprocessingError, .invalidSize(name: "resize", value: 0, limit: Preprocessing.maxSize))
        }
        XCTAssertThrowsError(try Preprocessing(resize: 256, crop: Preprocessing.maxSize + 1)) { error in
            XCTAssertEqual(
                error as? PreprocessingError,
                .invalidSize(name: "crop", value: Preprocessing.maxSize + 1, limit: Preprocessing.maxSize))
        }
        XCTAssertNoThrow(try Preprocessing(resize: Preprocessing.maxSize, crop: Preprocessing.maxSize))
    }

    /// `apply` computes only the crop window; it must equal cropping and normalising the full
    /// resize. Seeded random sizes, including crops larger than the resized image and images more
    /// than twice as tall as wide (vertical pass first under `.pillow13`).
    func testCropWindowEqualsCroppedFullResize() throws {
        let seed: UInt64 = 0xC0FF_EE11
        var random = SeededRandom(seed: seed)
        for trial in 0..<60 {
            let width = 1 + random.below(trial % 3 == 0 ? 30 : 90)
            let height = 1 + random.below(90)
            let pixels = (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let image = try RGBImage(width: width, height: height, pixels: pixels)
            let resize = 1 + random.below(70)
            let crop = 1 + random.below(80)
            let settings = try Preprocessing(
                resize: resize, crop: crop, normalization: trial % 2 == 0 ? .imageNet : .efficientNetLite,
                passOrder: trial % 4 < 2 ? .pillow13 : .horizontalFirst)
            let full = try settings.resized(image)
            let expected = referenceTensor(full, crop: crop, normalization: settings.normalization)
            let tensor = settings.apply(image)
            if tensor != expected {
                XCTFail("seed \(seed) trial \(trial): \(width)×\(height), resize \(resize), crop \(crop), \(settings.passOrder): window differs")
            }
        }
    }

    /// A 20 000 × 1 strip resized to a shorter side of 256 is 5 120 000 × 256 pixels; `apply` only
    /// computes the 224 × 224 crop, while `resized` refuses to materialise it.
    func testExtremeAspectRatioCostsOnlyTheCrop() throws {
        let image = try RGBImage(width: 20_000, height: 1, pixels: (0..<60_000).map { UInt8($0 % 251) })
        let settings = try Preprocessing(resize: 256, crop: 224)
        XCTAssertEqual(settings.apply(image).count, 3 * 224 * 224)
        XCTAssertThrowsError(try settings.resized(image)) { error in
            XCTAssertEqual(
                error as? PreprocessingError,
                .outputTooLarge(width: 5_120_000, height: 256, limit: ImageDecoder.defaultMaxPixels))
        }
    }

    func testUniformImageStaysUniform() throws {
        let image = try RGBImage(width: 300, height: 200, pixels: [UInt8](repeating: 0, count: 300 * 200 * 3).enumerated().map {
            [UInt8(200), 17, 255][$0.offset % 3]
        })
        let tensor = try Preprocessing(resize: 100, crop: 90, normalization: .efficientNetLite).apply(image)
        let plane = 90 * 90
        for (c, v) in [200, 17, 255].enumerated() {
            let expected = (Float(v) - 127) / 128
            XCTAssertTrue(tensor[(c * plane)..<((c + 1) * plane)].allSatisfy { $0 == expected }, "channel \(c)")
        }
    }

    // MARK: - Helpers

    private func sourceImage(_ golden: ImageGoldenManifest.PreprocessCase) throws -> RGBImage {
        try RGBImage(width: golden.sourceWidth, height: golden.sourceHeight, pixels: imageFixtureBytes(golden.source))
    }

    private func preprocessing(for golden: ImageGoldenManifest.PreprocessCase) throws -> Preprocessing {
        try Preprocessing(
            resize: golden.resize, crop: golden.crop,
            normalization: golden.normalization == "imageNet" ? .imageNet : .efficientNetLite,
            passOrder: golden.passOrder == "pillow13" ? .pillow13 : .horizontalFirst)
    }

    /// Straightforward crop (zero padding outside) and normalisation of a fully resized image,
    /// written independently of `apply`, with torchvision's crop offsets spelled out via Double.
    private func referenceTensor(_ image: RGBImage, crop: Int, normalization: Normalization) -> [Float] {
        func offset(_ length: Int) -> Int {
            if crop > length { return -((crop - length) / 2) }
            return Int((Double(length - crop) / 2).rounded(.toNearestOrEven))
        }
        let top = offset(image.height)
        let left = offset(image.width)
        let mean: [Float] = [0.485, 0.456, 0.406].map { Float($0 as Double) }
        let std: [Float] = [0.229, 0.224, 0.225].map { Float($0 as Double) }
        var tensor = [Float](repeating: 0, count: 3 * crop * crop)
        for c in 0..<3 {
            for y in 0..<crop {
                for x in 0..<crop {
                    let sy = y + top
                    let sx = x + left
                    let inside = sy >= 0 && sy < image.height && sx >= 0 && sx < image.width
                    let v = inside ? Float(image.pixels[(sy * image.width + sx) * 3 + c]) : 0
                    tensor[(c * crop + y) * crop + x] = normalization == .imageNet
                        ? (v / 255 - mean[c]) / std[c]
                        : (v - 127) / 128
                }
            }
        }
        return tensor
    }

    /// FNV-1a 64-bit of some bytes, as lowercase 16-digit hex (what make_image_goldens.py writes).
    private func fnv1a64Hex(_ bytes: ArraySlice<UInt8>) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
