// Tests for AlphaHeatMap: the output is the crop; one-hot α peaks inside its patch's cell and
// leaves pixels more than a cell away as the image under inferno's coldest colour; uniform α is
// that everywhere; the bilinear upsampling matches values worked out by hand; bad α is refused.

@testable import Engine
import XCTest

final class AlphaHeatMapTests: XCTestCase {
    func testOutputIsTheCropSize() throws {
        let image = try randomImage(width: 300, height: 200, seed: 1)
        for (resize, crop) in [(256, 224), (448, 392), (20, 32)] {
            let settings = try Preprocessing(resize: resize, crop: crop)
            let map = try AlphaHeatMap.render(
                image, alpha: [Float](repeating: 1, count: 28 * 28), gridHeight: 28, gridWidth: 28, preprocessing: settings)
            XCTAssertEqual(map.width, crop)
            XCTAssertEqual(map.height, crop)
        }
    }

    /// One-hot α on (r, c): on a black image the output colour is inferno's scaled by 0.55, so the
    /// colormap entry of each pixel can be read back; the largest must lie inside the cell. Pixels
    /// whose grid coordinate is at least one cell from r or c get exactly zero weight.
    func testOneHotAlphaPeaksInItsCellAndLeavesFarPixelsCold() throws {
        let blend = blendedColormapEntries()
        // (grid height, grid width, crop): DINOv2-S/14 at 392, EfficientNet at 224, uneven cells.
        for (gridHeight, gridWidth, crop) in [(28, 28, 392), (28, 28, 224), (7, 5, 64)] {
            let settings = try Preprocessing(resize: crop + crop / 7, crop: crop)
            let black = try RGBImage(width: 300, height: 200, pixels: [UInt8](repeating: 0, count: 300 * 200 * 3))
            let image = try randomImage(width: 300, height: 200, seed: UInt64(crop))
            let view = settings.cropped(image)
            for (r, c) in [(0, 0), (gridHeight - 1, gridWidth - 1), (gridHeight / 2, 1), (2, gridWidth - 2)] {
                var alpha = [Float](repeating: 0.001, count: gridHeight * gridWidth)
                alpha[r * gridWidth + c] = 0.9
                let label = "grid \(gridHeight)×\(gridWidth), crop \(crop), cell (\(r), \(c))"

                let onBlack = try AlphaHeatMap.render(
                    black, alpha: alpha, gridHeight: gridHeight, gridWidth: gridWidth, preprocessing: settings)
                var entries = [Int](repeating: 0, count: crop * crop)
                for i in 0..<(crop * crop) {
                    let colour = Array(onBlack.pixels[(3 * i)..<(3 * i + 3)])
                    guard let entry = blend[colour] else { return XCTFail("\(label): pixel \(i) is not a colormap colour") }
                    entries[i] = entry
                }
                let hottest = entries.max()!
                XCTAssertGreaterThan(hottest, 200, label)
                let rowCell = Double(crop) / Double(gridHeight), columnCell = Double(crop) / Double(gridWidth)
                for i in 0..<(crop * crop) where entries[i] == hottest {
                    let y = Double(i / crop) + 0.5, x = Double(i % crop) + 0.5  // pixel centre
                    XCTAssertTrue(
                        y >= Double(r) * rowCell && y <= Double(r + 1) * rowCell
                            && x >= Double(c) * columnCell && x <= Double(c + 1) * columnCell,
                        "\(label): hottest pixel (\(i / crop), \(i % crop)) is outside the cell")
                }

                let map = try AlphaHeatMap.render(
                    image, alpha: alpha, gridHeight: gridHeight, gridWidth: gridWidth, preprocessing: settings)
                var far = 0
                for y in 0..<crop {
                    for x in 0..<crop {
                        // Grid coordinate of the pixel centre (align_corners = False).
                        let gy = (Double(y) + 0.5) / rowCell - 0.5, gx = (Double(x) + 0.5) / columnCell - 0.5
                        guard abs(gy - Double(r)) >= 1.01 || abs(gx - Double(c)) >= 1.01 else { continue }
                        far += 1
                        let i = 3 * (y * crop + x)
                        let expected = blended(Array(view.pixels[i..<(i + 3)]), entry: 0)
                        if Array(map.pixels[i..<(i + 3)]) != expected {
                            return XCTFail("\(label): far pixel (\(y), \(x)) is \(map.pixels[i..<(i + 3)]), not \(expected)")
                        }
                    }
                }
                XCTAssertGreaterThan(far, crop * crop / 2, label)
            }
        }
    }

    func testUniformAlphaIsTheImageUnderTheColdestColour() throws {
        let image = try randomImage(width: 123, height: 77, seed: 2)
        let settings = try Preprocessing(resize: 64, crop: 56)
        let view = settings.cropped(image)
        let expected = (0..<(56 * 56)).flatMap { i in blended(Array(view.pixels[(3 * i)..<(3 * i + 3)]), entry: 0) }
        for alpha in [[Float](repeating: 1 / 784, count: 784), [Float](repeating: 0, count: 784)] {
            let map = try AlphaHeatMap.render(image, alpha: alpha, gridHeight: 28, gridWidth: 28, preprocessing: settings)
            XCTAssertEqual(map.pixels, expected)
        }
    }

    /// 2 → 4 with align_corners = False: output o reads source (o + 0.5)/2 − 0.5 = −0.25, 0.25,
    /// 0.75, 1.25, clamped to the edge values at both ends, so along each axis the weights of
    /// (first, second) are (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1). For the grid [[0, 1], [2, 3]]
    /// that makes output (y, x) = h[x] + 2·h[y] with h = (0, 0.25, 0.75, 1).
    func testBilinearUpsamplingOfATwoByTwoGridMatchesHandValues() {
        let expected: [Float] = [
            0.0, 0.25, 0.75, 1.0,
            0.5, 0.75, 1.25, 1.5,
            1.5, 1.75, 2.25, 2.5,
            2.0, 2.25, 2.75, 3.0,
        ]
        XCTAssertEqual(AlphaHeatMap.upsample([0, 1, 2, 3], gridHeight: 2, gridWidth: 2, size: 4), expected)
    }

    /// The same grid end to end: a 4 × 4 image at resize 4, crop 4 is its own view; α is scaled to
    /// (0, 1/3, 2/3, 1) by min–max, so pixel (y, x) gets entry round(255 · hand[y][x] / 3).
    func testRenderOfATwoByTwoGridMatchesHandValues() throws {
        let image = try randomImage(width: 4, height: 4, seed: 3)
        let settings = try Preprocessing(resize: 4, crop: 4)
        XCTAssertEqual(settings.cropped(image), image)
        let hand: [Double] = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]
        let map = try AlphaHeatMap.render(image, alpha: [10, 11, 12, 13], gridHeight: 2, gridWidth: 2, preprocessing: settings)
        for i in 0..<16 {
            let entry = Int((255 * hand[i] / 3).rounded())
            XCTAssertEqual(Array(map.pixels[(3 * i)..<(3 * i + 3)]), blended(Array(image.pixels[(3 * i)..<(3 * i + 3)]), entry: entry), "pixel \(i)")
        }
    }

    func testBadAlphaIsRefused() throws {
        let image = try randomImage(width: 8, height: 8, seed: 4)
        let settings = try Preprocessing(resize: 8, crop: 8)
        let cases: [([Float], Int, Int, AlphaHeatMapError)] = [
            ([], 0, 4, .emptyGrid(height: 0, width: 4)),
            ([1], 1, -1, .emptyGrid(height: 1, width: -1)),
            ([1, 2, 3], 2, 2, .countMismatch(count: 3, gridHeight: 2, gridWidth: 2)),
            ([1, 2, 3, 4, 5], 2, 2, .countMismatch(count: 5, gridHeight: 2, gridWidth: 2)),
            ([1, 2], Int.max, 2, .countMismatch(count: 2, gridHeight: Int.max, gridWidth: 2)),
            ([1, .nan, 3, 4], 2, 2, .nonFinite(index: 1)),
            ([1, 2, 3, -.infinity], 2, 2, .nonFinite(index: 3)),
        ]
        for (alpha, gridHeight, gridWidth, expected) in cases {
            XCTAssertThrowsError(
                try AlphaHeatMap.render(image, alpha: alpha, gridHeight: gridHeight, gridWidth: gridWidth, preprocessing: settings)
            ) { error in
                XCTAssertEqual(error as? AlphaHeatMapError, expected)
            }
        }
        XCTAssertEqual(
            AlphaHeatMapError.countMismatch(count: 3, gridHeight: 2, gridWidth: 2).description,
            "α has 3 values, but a 2×2 grid needs 2·2")
        XCTAssertEqual(AlphaHeatMapError.nonFinite(index: 1).description, "α[1] is not a finite number")
    }

    func testColormapIsInfernoFromBlackToPaleYellow() {
        XCTAssertEqual(InfernoColormap.rgb.count, 256 * 3)
        XCTAssertEqual(Array(InfernoColormap.rgb.prefix(3)), [0, 0, 3])
        XCTAssertEqual(Array(InfernoColormap.rgb.suffix(3)), [252, 254, 164])
    }

    // MARK: - Helpers

    /// round(0.45 · pixel + 0.55 · inferno[entry]), channel by channel.
    private func blended(_ pixel: [UInt8], entry: Int) -> [UInt8] {
        (0..<3).map { c in
            let sum: Int = 45 * Int(pixel[c]) + 55 * Int(InfernoColormap.rgb[3 * entry + c]) + 50
            return UInt8(sum / 100)
        }
    }

    /// Colour of each entry blended over black → the largest entry with that colour.
    private func blendedColormapEntries() -> [[UInt8]: Int] {
        var entries: [[UInt8]: Int] = [:]
        for entry in 0..<256 { entries[blended([0, 0, 0], entry: entry)] = entry }
        return entries
    }

    private func randomImage(width: Int, height: Int, seed: UInt64) throws -> RGBImage {
        var random = SeededRandom(seed: seed)
        return try RGBImage(
            width: width, height: height,
            pixels: (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
    }
}
