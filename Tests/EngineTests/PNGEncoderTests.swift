// Tests for PNGEncoder: what it writes decodes, through our own ImageDecoder, to exactly the
// pixels it was given, for 1×1, thin, odd and ordinary sizes; output starts with the PNG
// signature; sizes past the decoder's limits are refused with an error, not a crash.

import Engine
import Foundation
import XCTest

final class PNGEncoderTests: XCTestCase {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    func testRoundTripThroughTheDecoderGivesIdenticalPixels() throws {
        var random = SeededRandom(seed: 0x504E_4745)
        let sizes = [(1, 1), (1, 7), (7, 1), (3, 5), (17, 13), (300, 200), (201, 299)]
        for (width, height) in sizes {
            let pixels = (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let image = try RGBImage(width: width, height: height, pixels: pixels)
            let encoded = try PNGEncoder.encode(image)
            XCTAssertEqual(Array(encoded.prefix(8)), Self.signature, "\(width)×\(height)")
            let decoded = try ImageDecoder.decode(Data(encoded))
            XCTAssertEqual(decoded.width, width)
            XCTAssertEqual(decoded.height, height)
            XCTAssertTrue(decoded.pixels == image.pixels, "\(width)×\(height): pixels differ after the round trip")
        }
    }

    /// A flat image compresses to a few hundred bytes, so the output is trimmed to what libpng
    /// wrote rather than left at the worst-case bound (≈ 180 KB here).
    func testOutputIsTrimmedToTheWrittenBytes() throws {
        let image = try RGBImage(width: 300, height: 200, pixels: [UInt8](repeating: 90, count: 300 * 200 * 3))
        let encoded = try PNGEncoder.encode(image)
        XCTAssertLessThan(encoded.count, 1_000)
        // Ends with the IEND chunk: length 0, "IEND", its CRC.
        XCTAssertEqual(Array(encoded.suffix(12)), [0, 0, 0, 0, 73, 69, 78, 68, 0xAE, 0x42, 0x60, 0x82])
        XCTAssertEqual(try ImageDecoder.decode(Data(encoded)), image)
    }

    func testSidesPastTheDecoderLimitAreRefused() throws {
        let width = ImageDecoder.maxSide + 1
        let image = try RGBImage(width: width, height: 1, pixels: [UInt8](repeating: 0, count: width * 3))
        XCTAssertThrowsError(try PNGEncoder.encode(image)) { error in
            XCTAssertEqual(error as? ImageError, .sideTooLarge(width: width, height: 1, limit: ImageDecoder.maxSide))
        }
    }

    func testEncoderErrorNamesTheFormat() {
        XCTAssertEqual(ImageError.encoderFailed(.png, "out of memory").description, "PNG encoder failed: out of memory")
    }
}
