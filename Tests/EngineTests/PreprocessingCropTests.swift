// Tests for Preprocessing.cropped, the RGB view the α heat map is drawn on: `apply` is exactly that
// view normalised through the same table, and the view is the centre crop of the fully resized
// image with byte-0 padding where the crop is larger (computed here the slow way, independently).

@testable import Engine
import XCTest

final class PreprocessingCropTests: XCTestCase {
    /// (width, height, resize, crop): an ordinary crop, odd sizes, a crop wider than the resized
    /// image, a crop larger than both sides, a crop equal to the resized image, and an upscale.
    static let cases = [
        (300, 200, 256, 224), (37, 91, 20, 32), (91, 37, 20, 32), (5, 5, 3, 8), (64, 48, 48, 48),
        (13, 9, 40, 31), (1, 1, 7, 9),
    ]

    func testApplyIsTheCroppedViewNormalised() throws {
        var random = SeededRandom(seed: 0xC0_9911)
        for (width, height, resize, crop) in Self.cases {
            let image = try randomImage(width: width, height: height, &random)
            for normalization in [Normalization.imageNet, .efficientNetLite] {
                let settings = try Preprocessing(resize: resize, crop: crop, normalization: normalization)
                let view = settings.cropped(image)
                XCTAssertEqual(view.width, crop)
                XCTAssertEqual(view.height, crop)
                let table = settings.normalizationTable()
                let plane = crop * crop
                var expected = [Float](repeating: 0, count: 3 * plane)
                for i in 0..<plane {
                    for c in 0..<3 { expected[c * plane + i] = table[c * 256 + Int(view.pixels[3 * i + c])] }
                }
                let tensor = settings.apply(image)
                // Bit patterns, so that even -0 versus 0 would count as a difference.
                XCTAssertEqual(tensor.map(\.bitPattern), expected.map(\.bitPattern), "\(width)×\(height) → \(resize)/\(crop)")
            }
        }
    }

    func testCroppedIsTheCentreCropOfTheFullResizeWithZeroPadding() throws {
        var random = SeededRandom(seed: 0xC0_9912)
        for (width, height, resize, crop) in Self.cases {
            let image = try randomImage(width: width, height: height, &random)
            for order in [ResizePassOrder.pillow13, .horizontalFirst] {
                let settings = try Preprocessing(resize: resize, crop: crop, passOrder: order)
                let full = try settings.resized(image)
                let left = Preprocessing.cropOffset(length: full.width, crop: crop)
                let top = Preprocessing.cropOffset(length: full.height, crop: crop)
                var expected = [UInt8](repeating: 0, count: crop * crop * 3)
                for y in 0..<crop {
                    for x in 0..<crop {
                        let sy = y + top, sx = x + left
                        guard (0..<full.height).contains(sy), (0..<full.width).contains(sx) else { continue }
                        for c in 0..<3 { expected[(y * crop + x) * 3 + c] = full.pixels[(sy * full.width + sx) * 3 + c] }
                    }
                }
                XCTAssertEqual(settings.cropped(image).pixels, expected, "\(width)×\(height) → \(resize)/\(crop), \(order)")
            }
        }
    }

    private func randomImage(width: Int, height: Int, _ random: inout SeededRandom) throws -> RGBImage {
        try RGBImage(
            width: width, height: height,
            pixels: (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
    }
}
