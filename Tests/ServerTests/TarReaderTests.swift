// The tar reader against archives written by Python's tarfile (Tests/Fixtures/uploads, made by
// tools/make_upload_fixtures.py) and archives built here block by block: every valid archive fed whole, one
// byte at a time and in seeded random chunks must give the same events; each bad archive its exact error.
import Foundation
import XCTest

import Engine
@testable import Server


final class TarReaderTests: XCTestCase {
    private func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/uploads/\(name)")
        return Array(try Data(contentsOf: url))
    }

    /// The data make_upload_fixtures.py writes for a file: `name|` repeated, cut to `size`.
    private func payload(_ name: String, _ size: Int) -> [UInt8] {
        let seed = Array((name + "|").utf8)
        return (0..<size).map { seed[$0 % seed.count] }
    }

    /// Feeds `bytes` in chunks of the given sizes (the rest in one), calls `finish`, and returns the events
    /// with consecutive `.fileData` merged.
    private func read(_ bytes: [UInt8], chunkSizes: [Int] = [], limits: TarReader.Limits = .init())
        throws(TarError) -> [TarEvent]
    {
        var reader = TarReader(limits: limits)
        var events: [TarEvent] = []
        var start = 0
        for size in chunkSizes where start < bytes.count {
            let end = min(bytes.count, start + size)
            events += try reader.feed(bytes[start..<end])
            start = end
        }
        events += try reader.feed(bytes[start...])
        try reader.finish()
        var merged: [TarEvent] = []
        for event in events {
            XCTAssertNotEqual(event, .fileData([]), "empty data event")
            if case .fileData(let more) = event, case .fileData(let earlier)? = merged.last {
                merged[merged.count - 1] = .fileData(ArraySlice(Array(earlier) + Array(more)))
            } else {
                merged.append(event)
            }
        }
        return merged
    }

    /// Events of a whole read, checked against byte-at-a-time and 20 seeded random chunkings.
    private func readEveryWay(_ bytes: [UInt8], limits: TarReader.Limits = .init(), file: StaticString = #filePath,
                              line: UInt = #line) throws -> [TarEvent] {
        let whole = try read(bytes, limits: limits)
        XCTAssertEqual(try read(bytes, chunkSizes: Array(repeating: 1, count: bytes.count), limits: limits), whole,
                       "byte at a time", file: file, line: line)
        for seed in UInt64(1)...20 {
            var random = SeededRandom(seed: seed)
            let sizes = (0..<bytes.count).map { _ in Int.random(in: 1...1100, using: &random) }
            XCTAssertEqual(try read(bytes, chunkSizes: sizes, limits: limits), whole, "seed \(seed)", file: file, line: line)
        }
        return whole
    }

    private func assertFails(_ bytes: [UInt8], with expected: TarError, limits: TarReader.Limits = .init(),
                             file: StaticString = #filePath, line: UInt = #line) {
        for sizes in [[], Array(repeating: 1, count: bytes.count), [7, 500, 3, 1000]] {
            XCTAssertThrowsError(try read(bytes, chunkSizes: sizes, limits: limits), file: file, line: line) {
                XCTAssertEqual($0 as? TarError, expected, file: file, line: line)
            }
        }
    }

    private func fileEvents(_ path: String, _ data: [UInt8]) -> [TarEvent] {
        [.fileBegin(TarEntry(path: path, size: data.count))] + (data.isEmpty ? [] : [.fileData(ArraySlice(data))])
            + [.fileEnd]
    }

    // MARK: Python's tarfile

    func testPythonUstarArchive() throws {
        let events = try readEveryWay(try fixture("ustar.tar"))
        XCTAssertEqual(events, fileEvents("crack/001.png", payload("crack/001.png", 700))
            + fileEvents("good/002.png", []) + fileEvents("scratch/003.png", payload("./scratch/003.png", 512)) + [.end])
    }

    func testPythonGNULongName() throws {
        let name = "crack/" + String(repeating: "a_very_long_directory_name_", count: 5) + "/001.png"
        XCTAssertEqual(try readEveryWay(try fixture("gnu_longname.tar")), fileEvents(name, payload(name, 33)) + [.end])
    }

    func testPythonPaxPathWithGlobalHeader() throws {
        let name = "défaut/coupure.png"
        XCTAssertEqual(try readEveryWay(try fixture("pax_path.tar")), fileEvents(name, payload(name, 20)) + [.end])
    }

    func testPythonSymlinkIsRejected() throws {
        assertFails(try fixture("symlink.tar"), with: .unsupportedEntryType(path: "crack/link.png", type: "symbolic link"))
    }

    func testPythonDotDotAndAbsolutePathsAreRejected() throws {
        assertFails(try fixture("dotdot.tar"), with: .parentReference("../evil.png"))
        assertFails(try fixture("absolute.tar"), with: .absolutePath("/etc/evil.png"))
    }

    func testPythonBadChecksumAndTruncation() throws {
        assertFails(try fixture("bad_checksum.tar"), with: .badChecksum(offset: 0))
        assertFails(try fixture("truncated.tar"), with: .truncated)
    }

    // MARK: Built here

    func testBase256SizeAndOctalWithSpaces() throws {
        var archive = TarBuilder()
        archive.header(name: Array("big.png".utf8), size: 0, sizeField: [0x80] + [UInt8](repeating: 0, count: 10) + [5])
        archive.data([1, 2, 3, 4, 5])
        archive.header(name: Array("spaced.png".utf8), size: 0, sizeField: Array("     3 \u{0}    ".utf8))
        archive.data([6, 7, 8])
        archive.end()
        XCTAssertEqual(try readEveryWay(archive.bytes), fileEvents("big.png", [1, 2, 3, 4, 5]) + fileEvents("spaced.png", [6, 7, 8]) + [.end])
    }

    /// Fuzz regression (Tests/Fixtures/fuzz/README.md): a directory whose base-256 size is Int.max overflowed
    /// `size + padding` and trapped. It is now refused like a file over the limit.
    func testDirectoryWithBase256SizeNearIntMaxIsRefused() throws {
        let bytes = Array(try Data(contentsOf: repositoryRoot.appendingPathComponent(
            "Tests/Fixtures/fuzz/tar_directory_size_near_int_max.tar")))
        assertFails(bytes, with: .totalSizeTooLarge(limit: TarReader.Limits().maxTotalBytes))
    }

    func testInvalidNumericFields() {
        for field in [[0xFF] + [UInt8](repeating: 0xFF, count: 11), Array("00000000009\u{0}".utf8), Array("12x\u{0}".utf8),
                      [0x80] + [UInt8](repeating: 0xFF, count: 11)] {
            var archive = TarBuilder()
            archive.header(name: Array("a.png".utf8), size: 0, sizeField: field)
            archive.end()
            assertFails(archive.bytes, with: .invalidHeaderField(name: "size", offset: 0))
        }
    }

    func testLinksDevicesAndFIFOsAreRejected() {
        let kinds: [(Character, String)] = [("1", "hard link"), ("2", "symbolic link"), ("3", "character device"),
                                            ("4", "block device"), ("6", "FIFO"), ("S", "entry of type 'S'")]
        for (flag, name) in kinds {
            var archive = TarBuilder()
            archive.file("ok.png", [1])
            archive.header(name: Array("dev/thing".utf8), size: 0, typeflag: flag)
            archive.end()
            assertFails(archive.bytes, with: .unsupportedEntryType(path: "dev/thing", type: name))
        }
    }

    func testDirectoriesAreSkippedAndContiguousFilesAreFiles() throws {
        var archive = TarBuilder()
        archive.header(name: Array("./".utf8), size: 0, typeflag: "5")
        archive.header(name: Array("crack/".utf8), size: 3, typeflag: "5")
        archive.data([9, 9, 9])
        archive.file("./crack//001.png", [1, 2], typeflag: "7")
        archive.header(name: Array("empty.png".utf8), size: 0, typeflag: "\u{0}")
        archive.end()
        XCTAssertEqual(try readEveryWay(archive.bytes), fileEvents("crack/001.png", [1, 2]) + fileEvents("empty.png", []) + [.end])
    }

    func testPOSIXPrefixIsJoinedAndGNUPrefixAreaIsNot() throws {
        var archive = TarBuilder()
        archive.header(name: Array("001.png".utf8), size: 1, prefix: "bottle/crack")
        archive.data([1])
        archive.header(name: Array("002.png".utf8), size: 1, prefix: "not-a-prefix", magic: TarBuilder.gnuMagic)
        archive.data([2])
        archive.end()
        XCTAssertEqual(try readEveryWay(archive.bytes), fileEvents("bottle/crack/001.png", [1]) + fileEvents("002.png", [2]) + [.end])
    }

    func testPaxOverridesPathAndSizeForTheNextEntryOnly() throws {
        var archive = TarBuilder()
        archive.pax([("comment", "ignored"), ("path", "crack/long name é.png"), ("size", "3"), ("mtime", "1.5")])
        archive.header(name: Array("short.png".utf8), size: 1)
        archive.data([1, 2, 3])
        archive.pax([("path", "gone.png")], typeflag: "g")
        archive.pax([("path", "")])
        archive.file("plain.png", [4])
        archive.end()
        XCTAssertEqual(try readEveryWay(archive.bytes),
                       fileEvents("crack/long name é.png", [1, 2, 3]) + fileEvents("plain.png", [4]) + [.end])
    }

    func testMalformedPaxHeaders() {
        for data in ["5 a=b\n", "9 path=x", "x path=b\n", "11 =value\n", "10 pathx\n", "10 size=q\n"] {
            var archive = TarBuilder()
            archive.header(name: Array("PaxHeader".utf8), size: data.utf8.count, typeflag: "x")
            archive.data(Array(data.utf8))
            archive.file("a.png", [1])
            archive.end()
            assertFails(archive.bytes, with: .invalidPaxHeader(offset: 0))
        }
    }

    func testGNULongNameBuiltHere() throws {
        let long = String(repeating: "d/", count: 80) + "x.png"
        var archive = TarBuilder()
        archive.header(name: Array("././@LongLink".utf8), size: long.utf8.count + 1, typeflag: "L", magic: TarBuilder.gnuMagic)
        archive.data(Array(long.utf8) + [0])
        archive.header(name: Array(long.utf8.prefix(100)), size: 1, magic: TarBuilder.gnuMagic)
        archive.data([7])
        archive.end()
        XCTAssertEqual(try readEveryWay(archive.bytes), fileEvents(long, [7]) + [.end])
    }

    func testEndOfArchiveMarker() throws {
        var archive = TarBuilder()
        archive.file("a.png", [1])
        let beforeEnd = archive.bytes
        archive.end()
        // Record padding or junk after the two zero blocks is ignored.
        XCTAssertEqual(try readEveryWay(archive.bytes + [UInt8](repeating: 0, count: 9216) + [1, 2, 3]),
                       fileEvents("a.png", [1]) + [.end])
        assertFails(beforeEnd, with: .truncated)
        assertFails(beforeEnd + [UInt8](repeating: 0, count: 512), with: .truncated)
        var lone = TarBuilder(bytes: beforeEnd + [UInt8](repeating: 0, count: 512))
        lone.file("b.png", [2])
        assertFails(lone.bytes, with: .invalidEndOfArchive(offset: 1536))
        assertFails([], with: .truncated)
    }

    func testChecksumsAndMagic() throws {
        var signed = TarBuilder()
        signed.header(name: [UInt8(ascii: "a")] + Array("é.png".utf8), size: 0, signedChecksum: true)
        signed.end()
        XCTAssertEqual(try readEveryWay(signed.bytes), fileEvents("aé.png", []) + [.end])
        var off = TarBuilder()
        off.file("a.png", [1])
        off.header(name: Array("b.png".utf8), size: 0, checksumDelta: 1)
        off.end()
        assertFails(off.bytes, with: .badChecksum(offset: 1024))
        var v7 = TarBuilder()
        v7.header(name: Array("a.png".utf8), size: 0, magic: [UInt8](repeating: 0, count: 8))
        v7.end()
        assertFails(v7.bytes, with: .unsupportedFormat(offset: 0))
    }

    func testUnsafeAndInvalidPaths() {
        let cases: [([UInt8], TarError)] = [
            (Array("./".utf8), .emptyPath),
            (Array("/abs.png".utf8), .absolutePath("/abs.png")),
            (Array("a/../../b.png".utf8), .parentReference("a/../../b.png")),
            (Array("..".utf8), .parentReference("..")),
            ([0x61, 0xFF, 0x2E], .invalidPathEncoding),
        ]
        for (name, expected) in cases {
            var archive = TarBuilder()
            archive.header(name: name, size: 0)
            archive.end()
            assertFails(archive.bytes, with: expected)
        }
        var nul = TarBuilder()
        nul.pax([("path", "a\u{0}b.png")])
        nul.file("x.png", [])
        nul.end()
        assertFails(nul.bytes, with: .invalidPathEncoding)
        var directory = TarBuilder()
        directory.header(name: Array("../up/".utf8), size: 0, typeflag: "5")
        directory.end()
        assertFails(directory.bytes, with: .parentReference("../up/"))
    }

    func testLimitsAtNAndNPlusOne() throws {
        var limits = TarReader.Limits()
        limits.maxEntries = 2
        limits.maxTotalBytes = 10
        limits.maxPathBytes = 20
        limits.maxMetadataBytes = 30
        func archive(_ files: [(String, Int)]) -> [UInt8] {
            var builder = TarBuilder()
            for (name, size) in files { builder.file(name, [UInt8](repeating: 1, count: size)) }
            builder.end()
            return builder.bytes
        }
        XCTAssertNoThrow(try read(archive([("a", 4), (String(repeating: "p", count: 20), 6)]), limits: limits))
        assertFails(archive([("a", 4), ("b", 7)]), with: .totalSizeTooLarge(limit: 10), limits: limits)
        assertFails(archive([("a", 1), ("b", 1), ("c", 1)]), with: .tooManyEntries(limit: 2), limits: limits)
        assertFails(archive([(String(repeating: "p", count: 21), 1)]), with: .pathTooLong(limit: 20), limits: limits)
        var metadataLimits = TarReader.Limits()
        metadataLimits.maxMetadataBytes = 30
        var pax = TarBuilder()
        pax.pax([("path", String(repeating: "q", count: 21))])  // "30 path=qqq…q\n" is exactly 30 bytes
        pax.file("x", [1])
        pax.end()
        XCTAssertEqual(try read(pax.bytes, limits: metadataLimits).first,
                       .fileBegin(TarEntry(path: String(repeating: "q", count: 21), size: 1)))
        var tooBig = TarBuilder()
        tooBig.pax([("path", String(repeating: "q", count: 22))])
        tooBig.file("x", [1])
        tooBig.end()
        assertFails(tooBig.bytes, with: .metadataTooLarge(limit: 30), limits: metadataLimits)
    }

    func testFileDataSlicesShareTheFedBuffer() throws {
        var archive = TarBuilder()
        archive.file("a.png", [1, 2, 3])
        archive.end()
        var reader = TarReader()
        let bytes = archive.bytes
        let events = try reader.feed(bytes)
        guard case .fileData(let slice) = events[1] else { return XCTFail("\(events)") }
        XCTAssertEqual(slice.withUnsafeBufferPointer { $0.baseAddress },
                       bytes.withUnsafeBufferPointer { $0.baseAddress.map { $0 + 512 } })
    }

    func testFailureIsTerminal() {
        var reader = TarReader()
        var archive = TarBuilder()
        archive.header(name: Array("a.png".utf8), size: 0, checksumDelta: -1)
        XCTAssertThrowsError(try reader.feed(archive.bytes))
        XCTAssertThrowsError(try reader.feed([0])) { XCTAssertEqual($0 as? TarError, .badChecksum(offset: 0)) }
        XCTAssertThrowsError(try reader.finish()) { XCTAssertEqual($0 as? TarError, .badChecksum(offset: 0)) }
        var garbage = TarReader()
        XCTAssertThrowsError(try garbage.feed([UInt8](repeating: 1, count: 512))) {
            XCTAssertEqual($0 as? TarError, .invalidHeaderField(name: "checksum", offset: 0))
        }
    }

    func testEveryErrorHasAStatusCodeAndMessage() {
        let errors: [TarError] = [
            .badChecksum(offset: 0), .unsupportedFormat(offset: 0), .invalidHeaderField(name: "size", offset: 0),
            .invalidEndOfArchive(offset: 0), .unsupportedEntryType(path: "a\"b", type: "FIFO"), .invalidPaxHeader(offset: 0),
            .metadataTooLarge(limit: 1), .absolutePath("/a"), .parentReference(".."), .emptyPath, .invalidPathEncoding,
            .pathTooLong(limit: 1), .tooManyEntries(limit: 1), .totalSizeTooLarge(limit: 1), .truncated,
        ]
        XCTAssertEqual(Set(errors.map(\.code)).count, errors.count)
        for error in errors {
            XCTAssertTrue([400, 413].contains(error.status))
            XCTAssertFalse(error.message.isEmpty)
        }
        XCTAssertEqual(TarError.unsupportedEntryType(path: "a\"b", type: "FIFO").message,
                       "tar entry \"a\\\"b\" is a FIFO; only regular files and directories are accepted")
    }
}
