// Response writing: exact bytes of a few responses, the fields we refuse to write, the JSON error body's
// escaping (read back with JSONSerialization), and HTTP dates against Foundation's formatter.
import Engine
import Foundation
import XCTest

@testable import Server

final class HTTPResponseTests: XCTestCase {
    /// 1994-11-06T08:49:37Z, RFC 9110 §5.6.7's example.
    private let rfcExampleDate = Date(timeIntervalSince1970: 784_111_777)

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testJSONResponseBytes() throws {
        let response = HTTPResponse.json(status: 201, "{\"id\":1}")
        XCTAssertEqual(
            text(try response.serialized(keepAlive: true, date: rfcExampleDate)),
            "HTTP/1.1 201 Created\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/json\r\n"
                + "Content-Length: 8\r\nConnection: keep-alive\r\n\r\n{\"id\":1}")
    }

    func testHeadRequestKeepsContentLengthButNotTheBody() throws {
        let response = HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Array("hello".utf8))
        XCTAssertEqual(
            text(try response.serialized(keepAlive: false, date: rfcExampleDate, omitBody: true)),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n"
                + "Content-Length: 5\r\nConnection: close\r\n\r\n")
    }

    func testNoContentLengthFor204And304() throws {
        for status in [204, 304] {
            let bytes = text(try HTTPResponse(status: status).serialized(keepAlive: true, date: rfcExampleDate))
            XCTAssertFalse(bytes.contains("Content-Length"), bytes)
            XCTAssertTrue(bytes.hasSuffix("Connection: keep-alive\r\n\r\n"))
        }
        XCTAssertThrowsError(try HTTPResponse(status: 204, body: [1]).serialized(keepAlive: true)) {
            XCTAssertEqual($0 as? HTTPResponseError, .invalidStatus(204))
        }
    }

    func testStreamingHeadAndUnknownStatusKeepsTheSpace() throws {
        let head = try HTTPResponse.head(
            status: 299, headers: ["Content-Type": "application/octet-stream"], contentLength: 1 << 40,
            keepAlive: true, date: rfcExampleDate)
        XCTAssertTrue(text(head).hasPrefix("HTTP/1.1 299 \r\n"))
        XCTAssertTrue(text(head).contains("Content-Length: 1099511627776\r\n"))
    }

    func testContinueBytes() {
        XCTAssertEqual(text(HTTPResponse.continueBytes), "HTTP/1.1 100 Continue\r\n\r\n")
    }

    func testRefusesFieldsThatCouldSplitTheResponse() {
        let cases: [(HTTPField, HTTPResponseError)] = [
            (HTTPField(name: "X-Name", value: "a\r\nSet-Cookie: x"), .invalidHeaderValue(name: "X-Name")),
            (HTTPField(name: "X-Name", value: "a\nb"), .invalidHeaderValue(name: "X-Name")),
            (HTTPField(name: "X-Name", value: "a\rb"), .invalidHeaderValue(name: "X-Name")),
            (HTTPField(name: "X-Name", value: "a\u{0}b"), .invalidHeaderValue(name: "X-Name")),
            (HTTPField(name: "X-Name", value: "a\u{7F}"), .invalidHeaderValue(name: "X-Name")),
            (HTTPField(name: "X-Name", value: " padded"), .invalidHeaderValue(name: "X-Name")),
            (HTTPField(name: "X Name", value: "a"), .invalidHeaderName("X Name")),
            (HTTPField(name: "X:Name", value: "a"), .invalidHeaderName("X:Name")),
            (HTTPField(name: "X\r\nY", value: "a"), .invalidHeaderName("X\r\nY")),
            (HTTPField(name: "", value: "a"), .invalidHeaderName("")),
            (HTTPField(name: "content-length", value: "5"), .reservedHeader("content-length")),
            (HTTPField(name: "Transfer-Encoding", value: "chunked"), .reservedHeader("Transfer-Encoding")),
            (HTTPField(name: "Connection", value: "close"), .reservedHeader("Connection")),
            (HTTPField(name: "Date", value: "x"), .reservedHeader("Date")),
        ]
        for (field, expected) in cases {
            let response = HTTPResponse(status: 200, headers: HTTPHeaders([(field.name, field.value)]))
            XCTAssertThrowsError(try response.serialized(keepAlive: true)) {
                XCTAssertEqual($0 as? HTTPResponseError, expected, "\(field)")
            }
        }
        // Tabs inside and non-ASCII (obs-text) are fine.
        let fine = HTTPResponse(status: 200, headers: ["Content-Disposition": "attachment;\tfilename=\"défaut.png\""])
        XCTAssertNoThrow(try fine.serialized(keepAlive: true))
    }

    func testRefusesStatusesOutsideTheRange() {
        for status in [0, 99, 600, 1000] {
            XCTAssertThrowsError(try HTTPResponse(status: status).serialized(keepAlive: true)) {
                XCTAssertEqual($0 as? HTTPResponseError, .invalidStatus(status))
            }
        }
    }

    func testErrorBodyEscapesAndRoundTrips() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t cr \r nul \u{0} bell \u{7} sep \u{2028} é 💥 </script>"
        let body = HTTPResponse.errorBody(code: "bad_\"code", message: nasty)
        XCTAssertFalse(body.unicodeScalars.contains { $0.value < 0x20 })
        XCTAssertTrue(body.contains("\\u0000"))
        XCTAssertTrue(body.contains("\\u0007"))
        XCTAssertTrue(body.contains("\\u2028"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let error = try XCTUnwrap(object["error"] as? [String: String])
        XCTAssertEqual(error["code"], "bad_\"code")
        XCTAssertEqual(error["message"], nasty)
        XCTAssertEqual(JSONString.quoted("a\u{1F}b\u{8}\u{C}"), "\"a\\u001fb\\b\\f\"")
    }

    func testParserErrorBecomesAJSONErrorResponse() throws {
        let response = HTTPResponse(HTTPParserError.headerTooLarge(limit: 16_384))
        let bytes = text(try response.serialized(keepAlive: false, date: rfcExampleDate))
        XCTAssertEqual(
            bytes,
            "HTTP/1.1 431 Request Header Fields Too Large\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                + "Content-Type: application/json\r\nContent-Length: 84\r\nConnection: close\r\n\r\n"
                + "{\"error\":{\"code\":\"header_too_large\",\"message\":\"header section exceeds 16384 bytes\"}}")
    }

    func testHTTPDatesMatchFoundationsFormatter() {
        XCTAssertEqual(HTTPDate.format(rfcExampleDate), "Sun, 06 Nov 1994 08:49:37 GMT")
        XCTAssertEqual(HTTPDate.format(Date(timeIntervalSince1970: 0)), "Thu, 01 Jan 1970 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.format(Date(timeIntervalSince1970: 951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.format(Date(timeIntervalSince1970: 4_107_542_399.9)), "Sun, 28 Feb 2100 23:59:59 GMT")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var state: UInt64 = 42  // a linear congruential sequence of instants between 1970 and 2200
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let date = Date(timeIntervalSince1970: TimeInterval((state >> 20) % 7_258_118_400))
            XCTAssertEqual(HTTPDate.format(date), formatter.string(from: date), "\(date.timeIntervalSince1970)")
        }
    }

    func testHeadersLookupIsCaseInsensitiveAndKeepsOrder() {
        var headers: HTTPHeaders = ["Content-Type": "a", "X-One": "1"]
        headers.add(name: "x-one", value: "2")
        XCTAssertEqual(headers["content-TYPE"], "a")
        XCTAssertEqual(headers.values(for: "X-ONE"), ["1", "2"])
        headers.replaceOrAdd(name: "X-One", value: "3")
        XCTAssertEqual(headers.fields, [HTTPField(name: "Content-Type", value: "a"), HTTPField(name: "X-One", value: "3")])
        XCTAssertFalse(headers.contains("X-Two"))
    }
}

final class RFC3339Tests: XCTestCase {
    /// Against Foundation's ISO 8601 formatter over a spread of instants, leap days and years before 1970 included.
    func testMatchesISO8601DateFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SeededRandom(seed: 7)
        let fixed: [Int64] = [0, 1, 999, 1000, -1, -86_400_000, 951_782_400_000, 1_796_023_745_123, 4_102_444_800_000]
        for milliseconds in fixed + (0..<2000).map({ _ in Int64(generator.next() % 8_000_000_000_000) - 2_000_000_000_000 }) {
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
            XCTAssertEqual(HTTPDate.rfc3339(milliseconds: milliseconds), expected, "\(milliseconds)")
        }
    }
}
