// The multipart/form-data parser: boundaries from Content-Type, binary parts with CRLFs and boundary
// lookalikes, a split at every byte position, byte-at-a-time and seeded random chunks (all must give the
// same events), preamble and epilogue, limits at N and N + 1, and each malformed body's exact error.
import XCTest

import Engine
@testable import Server


final class MultipartParserTests: XCTestCase {
    private let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"

    /// Binary data with CRLFs, a CR at the end, `--boundary` not after a CRLF, and CRLF followed by every
    /// proper prefix of the delimiter: none of it may end the part.
    private var trickyData: [UInt8] {
        var data: [UInt8] = [0, 1, 2, 13, 10, 13, 13, 10, 10, 255, 254]
        data += Array("--\(boundary)".utf8)  // no CRLF before it: not a delimiter
        let delimiter = Array("\r\n--\(boundary)".utf8)
        for length in 1..<delimiter.count {
            data += delimiter.prefix(length) + [UInt8(ascii: "x")]
        }
        data += Array("\r\n--\(boundary.dropLast())Z".utf8)  // same length, last byte differs
        return data + [13]
    }

    private func body(preamble: String = "", parts: [(headers: String, data: [UInt8])], epilogue: String = "") -> [UInt8] {
        var bytes = Array(preamble.utf8)
        for (index, part) in parts.enumerated() {
            bytes += Array(((index == 0 && preamble.isEmpty) ? "" : "\r\n").utf8)
            bytes += Array("--\(boundary)\r\n\(part.headers)\r\n".utf8) + part.data
        }
        return bytes + Array("\r\n--\(boundary)--\(epilogue)".utf8)
    }

    private func standardBody(preamble: String = "", epilogue: String = "") -> [UInt8] {
        body(preamble: preamble, parts: [
            ("Content-Disposition: form-data; name=\"k\"\r\n", Array("5".utf8)),
            ("Content-Disposition: form-data; name=\"images\"; filename=\"crack/007.png\"\r\nContent-Type: image/png\r\n",
             trickyData),
            ("content-disposition: FORM-DATA; name=empty; filename=\"\"\r\n", []),
        ], epilogue: epilogue)
    }

    private var standardEvents: [MultipartEvent] {
        [
            .partBegin(name: "k", filename: nil, contentType: nil), .partData(ArraySlice("5".utf8)), .partEnd,
            .partBegin(name: "images", filename: "crack/007.png", contentType: "image/png"),
            .partData(ArraySlice(trickyData)), .partEnd,
            .partBegin(name: "empty", filename: "", contentType: nil), .partEnd, .end,
        ]
    }

    /// Feeds `bytes` in chunks of the given sizes (the rest in one), calls `finish`, and returns the events
    /// with consecutive `.partData` merged.
    private func parse(_ bytes: [UInt8], chunkSizes: [Int] = [], limits: MultipartParser.Limits = .init())
        throws(MultipartError) -> [MultipartEvent]
    {
        var parser = MultipartParser(boundary: boundary, limits: limits)
        var events: [MultipartEvent] = []
        var start = 0
        for size in chunkSizes where start < bytes.count {
            let end = min(bytes.count, start + size)
            events += try parser.feed(bytes[start..<end])
            start = end
        }
        events += try parser.feed(bytes[start...])
        try parser.finish()
        var merged: [MultipartEvent] = []
        for event in events {
            XCTAssertNotEqual(event, .partData([]), "empty data event")
            if case .partData(let more) = event, case .partData(let earlier)? = merged.last {
                merged[merged.count - 1] = .partData(ArraySlice(Array(earlier) + Array(more)))
            } else {
                merged.append(event)
            }
        }
        return merged
    }

    private func assertFails(
        _ bytes: [UInt8], with expected: MultipartError, limits: MultipartParser.Limits = .init(),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for sizes in [[], Array(repeating: 1, count: bytes.count)] {
            XCTAssertThrowsError(try parse(bytes, chunkSizes: sizes, limits: limits), file: file, line: line) {
                XCTAssertEqual($0 as? MultipartError, expected, file: file, line: line)
            }
        }
    }

    // MARK: Boundaries

    func testBoundaryFromContentType() throws {
        XCTAssertEqual(try MultipartPartHead.boundary(fromContentType: "multipart/form-data; boundary=abc"), "abc")
        XCTAssertEqual(try MultipartPartHead.boundary(fromContentType: "Multipart/Form-Data;BOUNDARY=\"a b:c?\""), "a b:c?")
        XCTAssertEqual(try MultipartPartHead.boundary(fromContentType: "multipart/form-data; charset=utf-8; boundary=\"x\""), "x")
        let seventy = String(repeating: "b", count: 70)
        XCTAssertEqual(try MultipartPartHead.boundary(fromContentType: "multipart/form-data; boundary=\(seventy)"), seventy)
        let failures: [(String, MultipartError)] = [
            ("application/json", .notMultipartFormData),
            ("multipart/mixed; boundary=a", .notMultipartFormData),
            ("multipart/form-data", .missingBoundary),
            ("multipart/form-data; charset=utf-8", .missingBoundary),
            ("multipart/form-data; boundary=\(seventy)b", .invalidBoundary),
            ("multipart/form-data; boundary=\"\"", .invalidBoundary),
            ("multipart/form-data; boundary=\"ends in space \"", .invalidBoundary),
            ("multipart/form-data; boundary=\"semi;colon\"", .invalidBoundary),
            ("multipart/form-data; boundary=\"unterminated", .invalidBoundary),
            ("multipart/form-data; boundary=a; boundary=b", .invalidBoundary),
            ("multipart/form-data; boundary = a", .invalidBoundary),
        ]
        for (contentType, expected) in failures {
            XCTAssertThrowsError(try MultipartPartHead.boundary(fromContentType: contentType)) {
                XCTAssertEqual($0 as? MultipartError, expected, contentType)
            }
        }
        XCTAssertThrowsError(try MultipartParser(contentType: "text/plain")) {
            XCTAssertEqual($0 as? MultipartError, .notMultipartFormData)
        }
    }

    // MARK: Valid bodies

    func testPartsWithBinaryDataAndBoundaryLookalikes() throws {
        XCTAssertEqual(try parse(standardBody()), standardEvents)
    }

    func testBoundarySplitAtEveryPosition() throws {
        let bytes = standardBody()
        for split in 0...bytes.count {
            XCTAssertEqual(try parse(bytes, chunkSizes: [split]), standardEvents, "split at \(split)")
        }
    }

    func testByteAtATimeAndRandomChunks() throws {
        let bytes = standardBody(preamble: "preamble\r\n", epilogue: "\r\nepilogue")
        XCTAssertEqual(try parse(bytes, chunkSizes: Array(repeating: 1, count: bytes.count)), standardEvents)
        for seed in UInt64(1)...50 {
            var random = SeededRandom(seed: seed)
            let sizes = (0..<bytes.count).map { _ in Int.random(in: 1...90, using: &random) }
            XCTAssertEqual(try parse(bytes, chunkSizes: sizes), standardEvents, "seed \(seed)")
        }
    }

    func testPreambleAndEpilogueAreIgnored() throws {
        let bytes = standardBody(preamble: "This is a preamble with --\(boundary) inside a line.\r\n",
                                 epilogue: "\r\nepilogue\r\n--\(boundary)\r\nContent-Disposition: junk\r\n\r\n")
        XCTAssertEqual(try parse(bytes), standardEvents)
    }

    func testTransportPaddingAfterTheBoundaryIsAllowed() throws {
        let bytes = Array("--\(boundary) \t \r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--\(boundary)--  \r\n".utf8)
        XCTAssertEqual(try parse(bytes), [.partBegin(name: "a", filename: nil, contentType: nil),
                                          .partData(ArraySlice("x".utf8)), .partEnd, .end])
    }

    func testEmptyFormIsJustTheEnd() throws {
        XCTAssertEqual(try parse(Array("--\(boundary)--\r\n".utf8)), [.end])
    }

    func testFilenameQuotingUTF8AndFilenameStar() throws {
        let headers = "Content-Disposition: form-data; name=\"f\\\"x\"; filename=\"d\\\\é\\\"faut/0 1.png\"; "
            + "filename*=UTF-8''other.png\r\n"
        let events = try parse(body(parts: [(headers, [1])]))
        XCTAssertEqual(events.first, .partBegin(name: "f\"x", filename: "d\\é\"faut/0 1.png", contentType: nil))
    }

    func testPartDataSlicesShareTheFedBuffer() throws {
        let bytes = standardBody()
        var parser = MultipartParser(boundary: boundary)
        let events = try parser.feed(bytes)
        guard case .partData(let slice) = events[1] else { return XCTFail("\(events)") }
        let start = bytes.withUnsafeBufferPointer { $0.baseAddress }
        let sliceStart = slice.withUnsafeBufferPointer { $0.baseAddress }
        XCTAssertEqual(sliceStart, start.map { $0 + slice.startIndex })
    }

    // MARK: Malformed bodies

    func testMissingFinalBoundaryIsUnterminated() {
        let whole = standardBody()
        assertFails(Array(whole.dropLast(2)), with: .unterminatedPart)  // "--\(boundary)" without "--"
        assertFails(Array(whole.dropLast(boundary.utf8.count + 4)), with: .unterminatedPart)
        assertFails(Array("--\(boundary)\r\nContent-Disposition: form-data; name=a\r\n".utf8), with: .unterminatedPart)
    }

    func testNoBoundaryAtAll() {
        assertFails([], with: .noInitialBoundary)
        assertFails(Array("just text --\(boundary)\r\n".utf8), with: .noInitialBoundary)
    }

    func testGarbageAfterADelimiter() {
        assertFails(Array("--\(boundary)X\r\n".utf8), with: .invalidBoundaryLine)
        assertFails(Array("--\(boundary)-X".utf8), with: .invalidBoundaryLine)
        assertFails(Array("--\(boundary) x\r\n".utf8), with: .invalidBoundaryLine)
        assertFails(Array("--\(boundary)\r\r\n".utf8), with: .invalidBoundaryLine)
        assertFails(Array("--\(boundary)\n".utf8), with: .invalidBoundaryLine)
        var limits = MultipartParser.Limits()
        limits.maxTransportPadding = 3
        XCTAssertNoThrow(try parse(Array("--\(boundary)   \r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--\(boundary)--".utf8),
                                   limits: limits))
        assertFails(Array("--\(boundary)    \r\n".utf8), with: .invalidBoundaryLine, limits: limits)
    }

    func testMalformedPartHeaders() {
        let cases: [(String, MultipartError)] = [
            ("Content-Disposition form-data\r\n", .malformedPartHeader),
            ("Content-Disposition: form-data; name=a\n", .malformedPartHeader),
            ("Content-Disposition: form-data;\r\n name=a\r\n", .malformedPartHeader),
            ("Bad Name: x\r\nContent-Disposition: form-data; name=a\r\n", .malformedPartHeader),
            ("Content-Disposition: form-data; name=\"a\u{1}\"\r\n", .malformedPartHeader),
            ("Content-Disposition: form-data; name=\"a\r\n", .malformedPartHeader),
            ("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n", .malformedPartHeader),
            ("Content-Disposition: form-data; name=a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n", .malformedPartHeader),
            ("Content-Type: image/png\r\n", .invalidContentDisposition),
            ("", .invalidContentDisposition),
            ("Content-Disposition: attachment; name=a\r\n", .invalidContentDisposition),
            ("Content-Disposition: form-data; filename=a.png\r\n", .invalidContentDisposition),
        ]
        for (headers, expected) in cases {
            assertFails(body(parts: [(headers, [1, 2])]), with: expected)
        }
        // Invalid UTF-8 in a filename.
        let bytes = Array("--\(boundary)\r\nContent-Disposition: form-data; name=a; filename=\"".utf8) + [0xC3, 0x28]
            + Array("\"\r\n\r\nx\r\n--\(boundary)--".utf8)
        assertFails(bytes, with: .malformedPartHeader)
    }

    func testPartHeaderSectionAtTheLimitAndOneByteOver() throws {
        var limits = MultipartParser.Limits()
        limits.maxPartHeaderBytes = 100
        func bytes(headerSection: Int) -> [UInt8] {
            // "Content-Disposition: form-data; name=" + value + "\r\n" + "\r\n"
            let fixed = "Content-Disposition: form-data; name=\r\n\r\n".utf8.count
            let value = String(repeating: "n", count: headerSection - fixed)
            return Array("--\(boundary)\r\nContent-Disposition: form-data; name=\(value)\r\n\r\nx\r\n--\(boundary)--".utf8)
        }
        XCTAssertEqual(try parse(bytes(headerSection: 100), limits: limits).count, 4)
        assertFails(bytes(headerSection: 101), with: .partHeaderTooLarge(limit: 100), limits: limits)
    }

    func testTooManyParts() throws {
        var limits = MultipartParser.Limits()
        limits.maxParts = 3
        let part = ("Content-Disposition: form-data; name=p\r\n", [UInt8(ascii: "x")])
        XCTAssertEqual(try parse(body(parts: Array(repeating: part, count: 3)), limits: limits).count, 3 * 3 + 1)
        assertFails(body(parts: Array(repeating: part, count: 4)), with: .tooManyParts(limit: 3), limits: limits)
        XCTAssertEqual(MultipartError.tooManyParts(limit: 3).status, 413)
    }

    func testFailureIsTerminal() {
        var parser = MultipartParser(boundary: boundary)
        XCTAssertThrowsError(try parser.feed(Array("--\(boundary)X".utf8)))
        XCTAssertThrowsError(try parser.feed(Array("anything".utf8))) {
            XCTAssertEqual($0 as? MultipartError, .invalidBoundaryLine)
        }
        XCTAssertThrowsError(try parser.finish()) { XCTAssertEqual($0 as? MultipartError, .invalidBoundaryLine) }
    }

    func testEveryErrorHasAStatusCodeAndMessage() {
        let errors: [MultipartError] = [
            .notMultipartFormData, .missingBoundary, .invalidBoundary, .noInitialBoundary, .invalidBoundaryLine,
            .partHeaderTooLarge(limit: 1), .malformedPartHeader, .invalidContentDisposition, .tooManyParts(limit: 1),
            .unterminatedPart,
        ]
        XCTAssertEqual(Set(errors.map(\.code)).count, errors.count)
        for error in errors {
            XCTAssertTrue([400, 413, 415].contains(error.status))
            XCTAssertFalse(error.message.isEmpty)
        }
    }
}
