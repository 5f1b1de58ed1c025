// Tests for ImageProbe and ImageDecoder against the goldens in Tests/Fixtures/images (made by
// tools/make_image_goldens.py): decoded pixels equal Pillow's for every PNG colour type and bit
// depth and every JPEG kind, each broken file gives its own error from both the probe and the
// decoder, limits hold before decoding, and truncated or mutated files never crash.

import Engine
import Foundation
import XCTest

/// Tests/Fixtures/images, found from this file's path (EngineTests → Tests → Fixtures/images).
let imageFixtureDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // EngineTests
    .deletingLastPathComponent()  // Tests
    .appendingPathComponent("Fixtures/images", isDirectory: true)

/// `manifest.json` of the image goldens: what each fixture must decode to or preprocess to.
struct ImageGoldenManifest: Decodable {
    struct DecodeCase: Decodable {
        let file: String
        let format: String
        let width: Int
        let height: Int
        /// Raw (height, width, 3) bytes the file must decode to.
        let expected: String
        /// "pillow", or how the expectation was derived when Pillow's decoding differs on purpose.
        let oracle: String
        let pillowMaxDifference: Int
    }

    struct PreprocessCase: Decodable {
        let name: String
        /// Raw (sourceHeight, sourceWidth, 3) bytes of the input image.
        let source: String
        let sourceWidth: Int
        let sourceHeight: Int
        let resize: Int
        let crop: Int
        let normalization: String
        /// "pillow13" or "horizontalFirst" (Pillow ≤ 12), see `ResizePassOrder`.
        let passOrder: String
        /// Whether this resize runs the vertical pass first under `passOrder`.
        let verticalFirst: Bool
        let resizedWidth: Int
        let resizedHeight: Int
        /// Raw resized bytes, for small outputs; otherwise `resizedRowHashes` (FNV-1a 64 per row, hex).
        let resized: String?
        let resizedRowHashes: [String]?
        /// Little-endian float32 (3, crop, crop), for small outputs; otherwise every
        /// `tensorSampleStride`-th value and the float64 sum of all.
        let tensor: String?
        let tensorSampleStride: Int?
        let tensorSamples: [Double]?
        let tensorSum: Double?
    }

    let decode: [DecodeCase]
    let preprocess: [PreprocessCase]

    static func load() throws -> ImageGoldenManifest {
        let data = try Data(contentsOf: imageFixtureDirectory.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(ImageGoldenManifest.self, from: data)
    }
}

func imageFixture(_ name: String) -> URL {
    imageFixtureDirectory.appendingPathComponent(name)
}

func imageFixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: imageFixture(name)))
}

/// Engine's SplitMix64, so the mutation tests are reproducible from the printed seed.
extension SeededRandom {
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

final class ImageDecoderTests: XCTestCase {
    /// Largest per-channel difference from Pillow allowed for JPEGs. Pillow 13 bundles
    /// libjpeg-turbo 3.x and we link Debian's 2.1.5; both run the same ISLOW IDCT and fancy
    /// upsampling, and on these fixtures they agree exactly, so no slack is given.
    static let jpegTolerance = 0

    func testEveryValidFixtureDecodesLikePillow() throws {
        let manifest = try ImageGoldenManifest.load()
        XCTAssertGreaterThan(manifest.decode.count, 40)
        var largestJPEGDifference = 0
        for golden in manifest.decode {
            let image: RGBImage
            do {
                image = try ImageDecoder.decode(contentsOf: imageFixture(golden.file))
            } catch {
                XCTFail("\(golden.file): \(error)")
                continue
            }
            XCTAssertEqual(image.width, golden.width, golden.file)
            XCTAssertEqual(image.height, golden.height, golden.file)
            let expected = try imageFixtureBytes(golden.expected)
            guard image.pixels.count == expected.count else {
                XCTFail("\(golden.file): \(image.pixels.count) bytes, expected \(expected.count)")
                continue
            }
            var largest = 0
            var firstMismatch: Int?
            for i in 0..<expected.count where image.pixels[i] != expected[i] {
                largest = max(largest, abs(Int(image.pixels[i]) - Int(expected[i])))
                if firstMismatch == nil { firstMismatch = i }
            }
            let tolerance = golden.format == "jpeg" ? Self.jpegTolerance : 0
            if golden.format == "jpeg" { largestJPEGDifference = max(largestJPEGDifference, largest) }
            if let i = firstMismatch, largest > tolerance {
                let pixel = i / 3
                XCTFail("""
                    \(golden.file): largest difference \(largest) > tolerance \(tolerance); first at \
                    x \(pixel % golden.width), y \(pixel / golden.width), channel \(i % 3): \
                    got \(image.pixels[i]), expected \(expected[i]) (\(golden.oracle))
                    """)
            }
        }
        print("ImageDecoderTests: largest JPEG difference from Pillow: \(largestJPEGDifference)")
    }

    func testProbeReportsTheSizeOfEveryValidFixture() throws {
        for golden in try ImageGoldenManifest.load().decode {
            let info = try ImageProbe.probe(Data(contentsOf: imageFixture(golden.file)))
            XCTAssertEqual(
                info, ImageInfo(format: golden.format == "png" ? .png : .jpeg, width: golden.width, height: golden.height),
                golden.file)
        }
    }

    /// All 65 536 16-bit values, one per pixel: each must become round(v·255/65535) in all three
    /// channels. (PIL would clip 16-bit gray at 255; we scale, see ImageDecoder.)
    func testSixteenBitSamplesAreScaledWithRounding() throws {
        let image = try ImageDecoder.decode(contentsOf: imageFixture("png_gray16_all_values_256x256.png"))
        XCTAssertEqual(image.width, 256)
        XCTAssertEqual(image.height, 256)
        for v in 0..<65536 {
            let expected = UInt8((v * 255 + 32767) / 65535)  // no ties: 65535 = 255 · 257
            for c in 0..<3 where image.pixels[v * 3 + c] != expected {
                XCTFail("value \(v), channel \(c): got \(image.pixels[v * 3 + c]), expected \(expected)")
                return
            }
        }
    }

    /// What the probe says about a broken file: the same error as the decoder, or (when the damage
    /// lies in data the probe does not read) the size.
    enum ProbeOutcome {
        case sameError
        case size(Int, Int)
    }

    func testEveryBrokenFileGivesItsOwnError() throws {
        let limit = ImageDecoder.defaultMaxPixels
        let table: [(file: String, error: ImageError, probe: ProbeOutcome)] = [
            ("broken_png_truncated.png", .truncated(.png), .sameError),
            ("broken_png_missing_iend.png", .truncated(.png), .sameError),
            ("broken_png_bad_magic.png", .unknownFormat, .sameError),
            ("broken_png_bad_crc_ihdr.png", .corrupt(.png, "IHDR: CRC error"), .sameError),
            ("broken_png_bad_crc_idat.png", .corrupt(.png, "IDAT: CRC error"), .size(64, 48)),
            ("broken_png_bad_zlib.png", .corrupt(.png, "IDAT: incorrect header check"), .size(64, 48)),
            ("broken_png_huge_100000x100000.png", .tooManyPixels(width: 100_000, height: 100_000, limit: limit), .sameError),
            ("broken_png_huge_width.png", .sideTooLarge(width: 0x7FFF_FFFF, height: 1, limit: ImageDecoder.maxSide), .sameError),
            ("broken_png_zero_width.png", .zeroSize(width: 0, height: 23), .sameError),
            ("broken_png_bad_depth.png", .corrupt(.png, "invalid bit depth 4 for colour type 2"), .sameError),
            ("broken_empty.bin", .unknownFormat, .sameError),
            ("broken_text.bin", .unknownFormat, .sameError),
            ("broken_jpeg_truncated.jpg", .truncated(.jpeg), .sameError),
            ("broken_jpeg_no_scan.jpg", .truncated(.jpeg), .sameError),
            ("broken_jpeg_lossless.jpg", .unsupported(.jpeg, "lossless coding (SOF3)"), .sameError),
            ("broken_jpeg_zero_height.jpg", .zeroSize(width: 64, height: 0), .sameError),
            ("jpeg_cmyk_37x23.jpg", .cmykJPEG, .sameError),
        ]
        for (file, expected, probeOutcome) in table {
            let data = try Data(contentsOf: imageFixture(file))
            XCTAssertThrowsError(try ImageDecoder.decode(data), file) { error in
                XCTAssertEqual(error as? ImageError, expected, "\(file): \(error)")
            }
            switch probeOutcome {
            case .sameError:
                XCTAssertThrowsError(try ImageProbe.probe(data), file) { error in
                    XCTAssertEqual(error as? ImageError, expected, "\(file) (probe): \(error)")
                }
            case let .size(width, height):
                XCTAssertEqual(try ImageProbe.probe(data), ImageInfo(format: .png, width: width, height: height), file)
            }
        }
    }

    func testErrorMessagesNameTheProblem() {
        XCTAssertEqual(ImageError.cmykJPEG.description, "CMYK JPEG is not supported")
        XCTAssertEqual(
            ImageError.tooManyPixels(width: 100_000, height: 100_000, limit: 40_000_000).description,
            "image is 100000×100000 pixels, more than the limit of 40000000 pixels")
        XCTAssertEqual(ImageError.truncated(.png).description, "PNG data is truncated")
        XCTAssertEqual(ImageError.corrupt(.png, "IDAT: CRC error").description, "corrupt PNG: IDAT: CRC error")
    }

    /// The 100000 × 100000 file has a valid IHDR and a few bytes of image data: only a check made
    /// from the header, before decoding, can produce `tooManyPixels` for it.
    func testPixelLimitIsCheckedFromTheHeaderBeforeDecoding() throws {
        let huge = try Data(contentsOf: imageFixture("broken_png_huge_100000x100000.png"))
        XCTAssertThrowsError(try ImageDecoder.decode(huge)) { error in
            XCTAssertEqual(error as? ImageError, .tooManyPixels(width: 100_000, height: 100_000, limit: 40_000_000))
        }
        // At the limit and one pixel over, for both formats.
        for file in ["pillow_rgba_64x48.png", "jpeg_progressive_64x48.jpg"] {
            let data = try Data(contentsOf: imageFixture(file))
            XCTAssertEqual(try ImageDecoder.decode(data, maxPixels: 64 * 48).width, 64, file)
            XCTAssertThrowsError(try ImageDecoder.decode(data, maxPixels: 64 * 48 - 1), file) { error in
                XCTAssertEqual(error as? ImageError, .tooManyPixels(width: 64, height: 48, limit: 64 * 48 - 1))
            }
            XCTAssertThrowsError(try ImageProbe.probe(data, maxPixels: 64 * 48 - 1), file)
        }
    }

    func testInputByteLimitAtTheLimitAndOneOver() throws {
        let data = try Data(contentsOf: imageFixture("png_rgb8_37x23.png"))
        XCTAssertEqual(try ImageDecoder.decode(data, maxInputBytes: data.count).width, 37)
        XCTAssertThrowsError(try ImageDecoder.decode(data, maxInputBytes: data.count - 1)) { error in
            XCTAssertEqual(error as? ImageError, .inputTooLarge(bytes: data.count, limit: data.count - 1))
        }
        let url = imageFixture("png_rgb8_37x23.png")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url, maxInputBytes: data.count - 1)) { error in
            XCTAssertEqual(error as? ImageError, .inputTooLarge(bytes: data.count, limit: data.count - 1))
        }
    }

    func testUnreadableFilesAreReportedNotThrownThrough() {
        let missing = imageFixture("no_such_file.png")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: missing)) { error in
            guard case .unreadable(let path, _) = error as? ImageError else {
                return XCTFail("expected unreadable, got \(error)")
            }
            XCTAssertEqual(path, missing.path)
        }
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: imageFixtureDirectory)) { error in
            XCTAssertEqual(error as? ImageError, .unreadable(path: imageFixtureDirectory.path, reason: "not a regular file"))
        }
    }

    /// Every prefix of a valid file is refused, as truncated once the signature is complete.
    func testEveryPrefixOfAValidFileIsRefusedAsTruncated() throws {
        for (file, format, signatureLength) in [
            ("png_palette4_trns_interlaced_37x23.png", ImageFormat.png, 8),
            ("png_rgb16_37x23.png", ImageFormat.png, 8),
            ("jpeg_progressive420_37x23.jpg", ImageFormat.jpeg, 2),
            ("jpeg_restart_64x48.jpg", ImageFormat.jpeg, 2),
        ] {
            let bytes = try imageFixtureBytes(file)
            for length in 0..<bytes.count {
                let expected: ImageError = length < signatureLength ? .unknownFormat : .truncated(format)
                do {
                    _ = try ImageDecoder.decode(Data(bytes[0..<length]))
                    XCTFail("\(file): prefix of \(length) bytes decoded")
                } catch {
                    if error != expected {
                        XCTFail("\(file): prefix of \(length) bytes: \(error), expected \(expected)")
                    }
                }
            }
        }
    }

    /// Seeded random byte changes: decoding either succeeds with the right size or throws an
    /// ImageError. What matters is that libpng and libjpeg never abort, exit or print.
    func testMutatedFilesNeverCrash() throws {
        let seed: UInt64 = 0x1A6E_5EED
        var random = SeededRandom(seed: seed)
        var refused = 0
        var decoded = 0
        for file in ["png_rgba8_interlaced_37x23.png", "png_palette8_trns_37x23.png",
                     "jpeg_baseline420_64x48.jpg", "jpeg_progressive_64x48.jpg"] {
            let original = try imageFixtureBytes(file)
            let info = try ImageProbe.probe(Data(original))
            for _ in 0..<300 {
                var bytes = original
                for _ in 0..<(1 + random.below(4)) {
                    bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                }
                do {
                    let image = try ImageDecoder.decode(Data(bytes), maxPixels: 1 << 20)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    if image.width == info.width { decoded += 1 }
                } catch {
                    refused += 1
                }
            }
        }
        print("ImageDecoderTests: mutations (seed \(seed)): \(decoded) decoded, \(refused) refused")
        XCTAssertGreaterThan(refused, 0)
    }

    func testRGBImageChecksItsBuffer() throws {
        XCTAssertEqual(try RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6]).pixels.count, 6)
        XCTAssertThrowsError(try RGBImage(width: 2, height: 1, pixels: [1, 2, 3])) { error in
            XCTAssertEqual(error as? ImageError, .pixelCountMismatch(width: 2, height: 1, bytes: 3))
        }
        XCTAssertThrowsError(try RGBImage(width: 0, height: 1, pixels: [])) { error in
            XCTAssertEqual(error as? ImageError, .zeroSize(width: 0, height: 1))
        }
        XCTAssertThrowsError(try RGBImage(width: Int.max, height: 2, pixels: [])) { error in
            XCTAssertEqual(error as? ImageError, .pixelCountMismatch(width: Int.max, height: 2, bytes: 0))
        }
    }
}
