// SHA-256 (the feature cache's content hash) against the FIPS 180-2 example vectors, chunked updates against
// one-shot hashing at every split point, and file hashing; the SHA-NI blocks against the Swift rounds.
import Engine
import Foundation
import XCTest

@testable import Server

final class EvaluationSHA256Tests: XCTestCase {
    func testFIPSVectors() {
        // FIPS 180-2 appendix B (and the empty message); values as printed by Python's hashlib.
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            SHA256.hex(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(
            SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Both block functions: the Swift rounds always, the SHA-NI ones where this CPU has them.
    private var blockFunctions: [Bool] { SHA256.hardwareAvailable ? [false, true] : [false] }

    private func hex(_ bytes: [UInt8], hardware: Bool, chunk: Int = .max) -> String {
        var hasher = SHA256()
        hasher.usesHardware = hardware
        var start = 0
        repeat {
            let end = min(bytes.count, start + chunk)
            hasher.update(Array(bytes[start..<end]))
            start = end
        } while start < bytes.count
        return SHA256.hexString(hasher.finalize())
    }

    func testTheSwiftAndTheSHANIBlocksGiveTheFIPSDigests() {
        for hardware in blockFunctions {
            XCTAssertEqual(hex(Array("abc".utf8), hardware: hardware), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            XCTAssertEqual(
                hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000), hardware: hardware, chunk: 4097),
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "hardware \(hardware)")
        }
    }

    func testTheSHANIBlocksEqualTheSwiftRoundsOnRandomMessages() throws {
        guard SHA256.hardwareAvailable else { throw XCTSkip("this CPU has no SHA extensions") }
        var random = SeededRandom(seed: 256)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...5000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let chunk = Int.random(in: 1...700, using: &random)
            XCTAssertEqual(hex(bytes, hardware: true, chunk: chunk), hex(bytes, hardware: false), "\(bytes.count) bytes, chunks of \(chunk)")
        }
    }

    func testPaddingBoundariesAndChunkedUpdatesAgree() {
        // Lengths 55, 56, 63, 64 and 65 put the length field in the same or the next block.
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for length in [55, 56, 63, 64, 65, 119, 120, 200] {
            let whole = SHA256.hex(Array(message[0..<length]))
            for split in stride(from: 0, through: length, by: 7) {
                var hasher = SHA256()
                hasher.update(Array(message[0..<split]))
                hasher.update(Array(message[split..<length]))
                XCTAssertEqual(SHA256.hexString(hasher.finalize()), whole, "length \(length), split at \(split)")
            }
        }
        // hashlib.sha256(bytes((i*37+11) % 256 for i in range(200))).hexdigest()
        XCTAssertEqual(SHA256.hex(message), "5e48d64839a8bff5e2471507af6a49f9990817df437857f4a2007df41266e1b5")
    }

    func testFileHashEqualsDataHash() throws {
        let folder = try EvaluationFixtures.temporaryFolder("sha256")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Larger than one 1 MiB read, so the file is hashed in several chunks.
        let bytes = (0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let file = folder.appendingPathComponent("data.bin")
        try Data(bytes).write(to: file)
        XCTAssertEqual(try SHA256.hex(fileAt: file), SHA256.hex(bytes))
    }
}
