// The request parser, bytes in and events out: a table of malformed requests each with its exact error and
// status, limits at N and N+1 bytes, all 256 bytes in a header name and value, and every valid request fed
// whole, one byte at a time and in seeded random chunks, which must all give the same events.
import XCTest

import Engine
@testable import Server


final class HTTPRequestParserTests: XCTestCase {
    /// Feeds `bytes` as the given chunks and returns the events, consecutive `.body` events merged so that
    /// chunkings can be compared.
    private func parse(_ bytes: [UInt8], chunkSizes: [Int]? = nil, limits: HTTPLimits = .default)
        -> [HTTPParserEvent]
    {
        var parser = HTTPRequestParser(limits: limits)
        var events: [HTTPParserEvent] = []
        var start = 0
        for size in chunkSizes ?? [bytes.count] where start < bytes.count {
            let end = min(bytes.count, start + size)
            events += parser.feed(bytes[start..<end])
            start = end
        }
        if start < bytes.count { events += parser.feed(bytes[start...]) }
        return Self.mergingBodies(events)
    }

    private static func mergingBodies(_ events: [HTTPParserEvent]) -> [HTTPParserEvent] {
        var merged: [HTTPParserEvent] = []
        for event in events {
            if case .body(let more) = event, case .body(let earlier)? = merged.last {
                merged[merged.count - 1] = .body(ArraySlice(Array(earlier) + Array(more)))
            } else if case .body(let bytes) = event, bytes.isEmpty {
                continue
            } else {
                merged.append(event)
            }
        }
        return merged
    }

    /// Events for whole, byte-at-a-time and 20 seeded random chunkings; fails if any differs from whole.
    private func parseEveryWay(
        _ text: String, limits: HTTPLimits = .default, file: StaticString = #filePath, line: UInt = #line
    ) -> [HTTPParserEvent] {
        let bytes = Array(text.utf8)
        let whole = parse(bytes, limits: limits)
        XCTAssertEqual(parse(bytes, chunkSizes: Array(repeating: 1, count: bytes.count), limits: limits), whole,
                       "byte at a time", file: file, line: line)
        for seed in UInt64(1)...20 {
            var random = SeededRandom(seed: seed)
            let sizes = (0..<bytes.count).map { _ in Int.random(in: 1...17, using: &random) }
            XCTAssertEqual(parse(bytes, chunkSizes: sizes, limits: limits), whole, "random chunks, seed \(seed)",
                           file: file, line: line)
        }
        return whole
    }

    private func head(_ event: HTTPParserEvent?) -> HTTPRequestHead? {
        if case .head(let head)? = event { return head }
        return nil
    }

    private func body(_ text: String) -> HTTPParserEvent { .body(ArraySlice(text.utf8)) }

    // MARK: Valid requests

    func testGetWithHeadersAndQuery() throws {
        let events = parseEveryWay(
            "GET /jobs/a%20b/images?k=5&name=x+y&flag&euro=%E2%82%AC HTTP/1.1\r\nHost: localhost:8080\r\n"
                + "User-Agent: curl/8.5\r\nAccept: */*\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n")
        XCTAssertEqual(events.count, 2)
        let head = try XCTUnwrap(head(events.first))
        XCTAssertEqual(events.last, .end)
        XCTAssertEqual(head.method, .get)
        XCTAssertEqual(head.version, .http1_1)
        XCTAssertEqual(head.path, "/jobs/a%20b/images")
        XCTAssertEqual(head.pathComponents, ["jobs", "a b", "images"])
        XCTAssertEqual(head.target.query, "k=5&name=x+y&flag&euro=%E2%82%AC")
        XCTAssertEqual(head.queryItems, [
            HTTPQueryItem(name: "k", value: "5"), HTTPQueryItem(name: "name", value: "x y"),
            HTTPQueryItem(name: "flag", value: ""), HTTPQueryItem(name: "euro", value: "€"),
        ])
        XCTAssertEqual(head.queryValue("k"), "5")
        XCTAssertEqual(head.headers["user-agent"], "curl/8.5")
        XCTAssertEqual(head.headers.values(for: "X-DUP"), ["1", "2"])
        XCTAssertEqual(head.headers.fields.map(\.name), ["Host", "User-Agent", "Accept", "X-Dup", "x-dup"])
        XCTAssertEqual(head.framing, .none)
        XCTAssertEqual(head.contentLength, 0)
        XCTAssertTrue(head.keepAlive)
        XCTAssertFalse(head.expectsContinue)
    }

    func testPostWithContentLengthBody() throws {
        let events = parseEveryWay(
            "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world")
        XCTAssertEqual(events.count, 3)
        XCTAssertEqual(try XCTUnwrap(head(events.first)).framing, .contentLength(11))
        XCTAssertEqual(events[1], body("hello world"))
        XCTAssertEqual(events[2], .end)
    }

    func testChunkedBodyWithExtensionsAndTrailers() throws {
        let events = parseEveryWay(
            "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n6 ; x=\"q\"\r\n world\r\nA\r\n0123456789\r\n0\r\n"
                + "Checksum: abc\r\nX-Trailer: 1\r\n\r\n")
        XCTAssertEqual(events.count, 3)
        XCTAssertEqual(try XCTUnwrap(head(events.first)).framing, .chunked)
        XCTAssertNil(try XCTUnwrap(head(events.first)).contentLength)
        XCTAssertEqual(events[1], body("hello world0123456789"))
        XCTAssertEqual(events[2], .end)
    }

    func testPipelinedRequestsInOneFeed() throws {
        let events = parseEveryWay(
            "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n")
        XCTAssertEqual(events.count, 8)
        XCTAssertEqual(head(events[0])?.path, "/a")
        XCTAssertEqual(events[1], body("abc"))
        XCTAssertEqual(events[2], .end)
        XCTAssertEqual(head(events[3])?.path, "/b")
        XCTAssertEqual(events[4], .end)
        XCTAssertEqual(head(events[5])?.path, "/c")
        XCTAssertEqual(events[6], body("z"))
        XCTAssertEqual(events[7], .end)
    }

    func testExpectContinueHeadComesBeforeTheBody() throws {
        var parser = HTTPRequestParser()
        let headEvents = parser.feed(Array(
            "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n".utf8))
        XCTAssertEqual(headEvents.count, 1)
        XCTAssertTrue(try XCTUnwrap(head(headEvents.first)).expectsContinue)
        XCTAssertEqual(parser.state, .body(remaining: 4))
        XCTAssertEqual(parser.feed(Array("data".utf8)), [body("data"), .end])
        XCTAssertEqual(parser.state, .complete)

        let events = parseEveryWay(
            "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata")
        XCTAssertEqual(events.count, 3)
    }

    func testHTTP10IgnoresExpectContinueAndNeedsNoHost() throws {
        let events = parseEveryWay("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
        let head = try XCTUnwrap(head(events.first))
        XCTAssertEqual(head.version, .http1_0)
        XCTAssertFalse(head.expectsContinue)
        XCTAssertFalse(head.keepAlive)
    }

    func testBareLineFeedsAndLeadingEmptyLinesInTheHead() throws {
        let events = parseEveryWay("\r\n\nGET / HTTP/1.1\nHost: a\nContent-Length: 2\n\nok")
        XCTAssertEqual(head(events.first)?.headers["Content-Length"], "2")
        XCTAssertEqual(events.dropFirst(), [body("ok"), .end])
    }

    func testAbsoluteFormAndAsteriskFormTargets() throws {
        let absolute = try XCTUnwrap(head(parseEveryWay(
            "GET HTTP://example.com:80/jobs?id=1 HTTP/1.1\r\nHost: example.com:80\r\n\r\n").first))
        XCTAssertEqual(absolute.path, "/jobs")
        XCTAssertEqual(absolute.queryValue("id"), "1")
        let bare = try XCTUnwrap(head(parseEveryWay("GET https://[::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n").first))
        XCTAssertEqual(bare.path, "/")
        let asterisk = try XCTUnwrap(head(parseEveryWay("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").first))
        XCTAssertEqual(asterisk.path, "*")
    }

    func testKeepAliveFromVersionAndConnection() throws {
        let cases: [(String, String?, Bool)] = [
            ("1.1", nil, true), ("1.1", "close", false), ("1.1", "Keep-Alive, CLOSE", false),
            ("1.1", "upgrade", true), ("1.0", nil, false), ("1.0", "keep-alive", true),
            ("1.0", "Keep-Alive", true), ("1.0", "keep-alive, close", false),
        ]
        for (version, connection, expected) in cases {
            let text = "GET / HTTP/\(version)\r\nHost: a\r\n" + (connection.map { "Connection: \($0)\r\n" } ?? "") + "\r\n"
            XCTAssertEqual(head(parse(Array(text.utf8)).first)?.keepAlive, expected, "\(version) \(connection ?? "-")")
        }
    }

    func testIdenticalRepeatedContentLengthsAreOneLength() throws {
        for fields in ["Content-Length: 3\r\nContent-Length: 3\r\n", "Content-Length: 3, 3\r\n", "Content-Length: 003\r\n"] {
            let events = parseEveryWay("POST / HTTP/1.1\r\nHost: a\r\n\(fields)\r\nabc")
            XCTAssertEqual(head(events.first)?.framing, .contentLength(3), fields)
            XCTAssertEqual(events.last, .end)
        }
    }

    func testBodySlicesShareTheFedBuffer() throws {
        let bytes = Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello".utf8)
        var parser = HTTPRequestParser()
        let events = parser.feed(bytes)
        guard case .body(let slice) = events[1] else { return XCTFail("expected body, got \(events)") }
        let sliceAddress = slice.withUnsafeBufferPointer { $0.baseAddress }
        let expected = bytes.withUnsafeBufferPointer { $0.baseAddress.map { $0 + bytes.count - 5 } }
        XCTAssertEqual(sliceAddress, expected)
    }

    // MARK: Malformed requests

    /// One malformed request: its name, its bytes, the exact error and the status it must map to.
    private struct Malformed {
        var name: String
        var text: String
        var error: HTTPParserError
        var status: Int
        var limits = HTTPLimits.default
    }

    private static let host = "Host: a\r\n"

    private var malformed: [Malformed] {
        let post = "POST / HTTP/1.1\r\n" + Self.host
        let chunked = post + "Transfer-Encoding: chunked\r\n\r\n"
        var small = HTTPLimits.default
        small.maxBodyBytes = 10
        return [
            Malformed(name: "smuggling CL then TE", text: post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                      error: .contentLengthWithTransferEncoding, status: 400),
            Malformed(name: "smuggling TE then CL", text: post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                      error: .contentLengthWithTransferEncoding, status: 400),
            Malformed(name: "duplicate differing CL", text: post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
                      error: .invalidContentLength, status: 400),
            Malformed(name: "CL list differing", text: post + "Content-Length: 5, 6\r\n\r\n",
                      error: .invalidContentLength, status: 400),
            Malformed(name: "CL pie", text: post + "Content-Length: pie\r\n\r\n", error: .invalidContentLength, status: 400),
            Malformed(name: "CL negative", text: post + "Content-Length: -1\r\n\r\n", error: .invalidContentLength, status: 400),
            Malformed(name: "CL plus sign", text: post + "Content-Length: +5\r\n\r\n", error: .invalidContentLength, status: 400),
            Malformed(name: "CL empty", text: post + "Content-Length:\r\n\r\n", error: .invalidContentLength, status: 400),
            Malformed(name: "CL inner space", text: post + "Content-Length: 1 2\r\n\r\n", error: .invalidContentLength, status: 400),
            Malformed(name: "CL hex", text: post + "Content-Length: 0x10\r\n\r\n", error: .invalidContentLength, status: 400),
            Malformed(name: "CL overflow", text: post + "Content-Length: 99999999999999999999\r\n\r\n",
                      error: .invalidContentLength, status: 400),
            Malformed(name: "CL over body limit", text: post + "Content-Length: 11\r\n\r\n",
                      error: .bodyTooLarge(limit: 10), status: 413, limits: small),
            Malformed(name: "TE gzip", text: post + "Transfer-Encoding: gzip\r\n\r\n", error: .invalidTransferEncoding, status: 400),
            Malformed(name: "TE chunked, gzip", text: post + "Transfer-Encoding: chunked, gzip\r\n\r\n",
                      error: .invalidTransferEncoding, status: 400),
            Malformed(name: "TE gzip, chunked", text: post + "Transfer-Encoding: gzip, chunked\r\n\r\n",
                      error: .unsupportedTransferEncoding, status: 501),
            Malformed(name: "TE chunked twice", text: post + "Transfer-Encoding: chunked, chunked\r\n\r\n",
                      error: .invalidTransferEncoding, status: 400),
            Malformed(name: "TE chunked on two lines", text: post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                      error: .invalidTransferEncoding, status: 400),
            Malformed(name: "TE empty", text: post + "Transfer-Encoding: \r\n\r\n", error: .invalidTransferEncoding, status: 400),
            Malformed(name: "TE chunked with parameter", text: post + "Transfer-Encoding: chunked;q=1\r\n\r\n",
                      error: .invalidTransferEncoding, status: 400),
            Malformed(name: "TE on HTTP/1.0", text: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                      error: .transferEncodingWithHTTP10, status: 400),
            Malformed(name: "chunk size zz", text: chunked + "zz\r\n", error: .invalidChunkSize, status: 400),
            Malformed(name: "chunk size empty", text: chunked + "\r\n", error: .invalidChunkSize, status: 400),
            Malformed(name: "chunk size negative", text: chunked + "-5\r\n", error: .invalidChunkSize, status: 400),
            Malformed(name: "chunk size overflow", text: chunked + "10000000000000000\r\n", error: .invalidChunkSize, status: 400),
            Malformed(name: "chunk size over body limit", text: chunked + "b\r\n", error: .bodyTooLarge(limit: 10),
                      status: 413, limits: small),
            Malformed(name: "chunk sizes summing over body limit", text: chunked + "6\r\nabcdef\r\n5\r\n",
                      error: .bodyTooLarge(limit: 10), status: 413, limits: small),
            Malformed(name: "chunk size trailing space", text: chunked + "5 \r\n", error: .invalidChunkSize, status: 400),
            Malformed(name: "chunk extension without semicolon", text: chunked + "5 x\r\n", error: .invalidChunkSize, status: 400),
            Malformed(name: "chunk extension control character", text: chunked + "5;a=\u{1}\r\n", error: .invalidChunkSize, status: 400),
            Malformed(name: "chunk size line too long", text: chunked + "5;" + String(repeating: "x", count: 1021) + "\r\n",
                      error: .chunkSizeLineTooLong(limit: 1024), status: 400),
            Malformed(name: "missing CRLF after chunk data", text: chunked + "5\r\nhelloX", error: .missingCRLFAfterChunkData, status: 400),
            Malformed(name: "LF only after chunk data", text: chunked + "5\r\nhello\n", error: .missingCRLFAfterChunkData, status: 400),
            Malformed(name: "CR then junk after chunk data", text: chunked + "5\r\nhello\rX", error: .missingCRLFAfterChunkData, status: 400),
            Malformed(name: "bare LF after chunk size", text: chunked + "5\nhello\r\n", error: .bareLineFeedInChunkedBody, status: 400),
            Malformed(name: "bare LF ending trailers", text: chunked + "0\r\n\n", error: .bareLineFeedInChunkedBody, status: 400),
            Malformed(name: "invalid trailer name", text: chunked + "0\r\nBad Name: x\r\n\r\n", error: .invalidHeaderName, status: 400),
            Malformed(name: "NUL in header value", text: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", error: .invalidHeaderValue, status: 400),
            Malformed(name: "CR in header value", text: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", error: .invalidHeaderValue, status: 400),
            Malformed(name: "DEL in header value", text: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}\r\n\r\n", error: .invalidHeaderValue, status: 400),
            Malformed(name: "CR in header name", text: "GET / HTTP/1.1\r\nHost: a\r\nX\rY: a\r\n\r\n", error: .invalidHeaderName, status: 400),
            Malformed(name: "space before colon", text: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", error: .invalidHeaderName, status: 400),
            Malformed(name: "empty header name", text: "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", error: .invalidHeaderName, status: 400),
            Malformed(name: "header without colon", text: "GET / HTTP/1.1\r\nHost: a\r\nHost a\r\n\r\n", error: .invalidHeaderName, status: 400),
            Malformed(name: "obs-fold", text: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", error: .obsoleteLineFolding, status: 400),
            Malformed(name: "whitespace before first field", text: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", error: .obsoleteLineFolding, status: 400),
            Malformed(name: "HTTP/0.9 request line", text: "GET /\r\n", error: .unsupportedVersion(major: 0, minor: 9), status: 505),
            Malformed(name: "HTTP/2 preface", text: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", error: .unsupportedVersion(major: 2, minor: 0), status: 505),
            Malformed(name: "HTTP/1.2", text: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", error: .unsupportedVersion(major: 1, minor: 2), status: 505),
            Malformed(name: "HTTP/3.0", text: "GET / HTTP/3.0\r\n", error: .unsupportedVersion(major: 3, minor: 0), status: 505),
            Malformed(name: "lowercase http/1.1", text: "GET / http/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "version HTTP/1.10", text: "GET / HTTP/1.10\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "version HTTP/1", text: "GET / HTTP/1\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "missing target", text: "GET HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "empty target", text: "GET  HTTP/1.1\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "double space", text: "GET  / HTTP/1.1\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "trailing space", text: "GET / HTTP/1.1 \r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "tab separator", text: "GET\t/ HTTP/1.1\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "method not a token", text: "G(T / HTTP/1.1\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "bare CR in request line", text: "GET / HTTP/1.1\rHost: a\r\n\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "bare CR for the space before the version", text: "GET /\rHTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestLine, status: 400),
            Malformed(name: "request line too long", text: "GET /" + String(repeating: "a", count: 8 * 1024) + " HTTP/1.1\r\n",
                      error: .requestLineTooLong(limit: 8 * 1024), status: 414),
            Malformed(name: "relative target", text: "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "bad percent escape", text: "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "truncated percent escape", text: "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "percent escape not UTF-8", text: "GET /a%FF HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "fragment in target", text: "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "pipe in target", text: "GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "non-ASCII in target", text: "GET /é HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "asterisk with GET", text: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "authority-form", text: "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "ftp absolute-form", text: "GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", error: .invalidRequestTarget, status: 400),
            Malformed(name: "missing Host on 1.1", text: "GET / HTTP/1.1\r\n\r\n", error: .invalidHost, status: 400),
            Malformed(name: "two Host lines", text: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", error: .invalidHost, status: 400),
            Malformed(name: "Host with slash", text: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", error: .invalidHost, status: 400),
            Malformed(name: "Host with userinfo", text: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", error: .invalidHost, status: 400),
            Malformed(name: "unknown expectation", text: "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
                      error: .unsupportedExpectation, status: 417),
        ]
    }

    func testMalformedRequestsFailWithTheirExactErrorAndStatus() {
        XCTAssertGreaterThanOrEqual(malformed.count, 30)
        for item in malformed {
            let bytes = Array(item.text.utf8)
            for (way, sizes) in [("whole", [bytes.count]), ("bytewise", Array(repeating: 1, count: bytes.count))] {
                let events = parse(bytes, chunkSizes: sizes, limits: item.limits)
                XCTAssertEqual(events.last, .error(item.error), "\(item.name) (\(way)): \(events)")
                XCTAssertEqual(item.error.status, item.status, item.name)
            }
        }
    }

    func testFailedIsTerminal() {
        var parser = HTTPRequestParser()
        XCTAssertEqual(parser.feed(Array("GET / HTTP/2.0\r\n".utf8)), [.error(.unsupportedVersion(major: 2, minor: 0))])
        XCTAssertEqual(parser.state, .failed(.unsupportedVersion(major: 2, minor: 0)))
        XCTAssertEqual(parser.feed(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)), [])
        XCTAssertNil(parser.finish())
        parser.reset()
        XCTAssertEqual(parser.state, .requestLine)
        XCTAssertEqual(parser.feed(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)).last, .end)
    }

    func testErrorAfterAnEarlierPipelinedRequestKeepsItsEvents() throws {
        let events = parse(Array("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/9.9\r\n".utf8))
        XCTAssertEqual(events.count, 3)
        XCTAssertEqual(head(events[0])?.path, "/a")
        XCTAssertEqual(events[1], .end)
        XCTAssertEqual(events[2], .error(.unsupportedVersion(major: 9, minor: 9)))
    }

    func testEndOfInputInsideARequestIsAnError() {
        let partials = ["GET / HT", "GET / HTTP/1.1\r\nHost: a\r\n", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab",
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"]
        for text in partials {
            var parser = HTTPRequestParser()
            _ = parser.feed(Array(text.utf8))
            XCTAssertEqual(parser.finish(), .unexpectedEndOfInput, text)
            XCTAssertEqual(parser.state, .failed(.unexpectedEndOfInput))
        }
        for text in ["", "\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"] {
            var parser = HTTPRequestParser()
            _ = parser.feed(Array(text.utf8))
            XCTAssertNil(parser.finish(), text)
        }
    }

    // MARK: Limits at N and N + 1

    /// A GET whose whole head is exactly `size` bytes, padded with an `X-Pad` field.
    private func request(headBytes size: Int) -> String {
        let fixed = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n"
        return "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + String(repeating: "p", count: size - fixed.utf8.count) + "\r\n\r\n"
    }

    func testHeaderSectionAtTheLimitIsAcceptedAndOneByteMoreIsNot() throws {
        let atLimit = request(headBytes: 16 * 1024)
        XCTAssertEqual(atLimit.utf8.count, 16_384)
        XCTAssertEqual(parseEveryWay(atLimit).last, .end)
        let over = request(headBytes: 16 * 1024 + 1)
        XCTAssertEqual(parse(Array(over.utf8)), [.error(.headerTooLarge(limit: 16_384))])
        XCTAssertEqual(HTTPParserError.headerTooLarge(limit: 16_384).message, "header section exceeds 16384 bytes")
        XCTAssertEqual(HTTPParserError.headerTooLarge(limit: 16_384).status, 431)
        // Reported as soon as the limit is passed, without waiting for the line to end.
        XCTAssertEqual(parse(Array(over.utf8.prefix(16_385))), [.error(.headerTooLarge(limit: 16_384))])
        XCTAssertEqual(parse(Array(over.utf8.prefix(16_384))), [])
    }

    func testRequestLineAtTheLimitIsAcceptedAndOneByteMoreIsNot() {
        // "GET /" + path + " HTTP/1.1\r\n" is 16 bytes plus the path.
        let atLimit = "GET /" + String(repeating: "a", count: 8 * 1024 - 16) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertEqual(parse(Array(atLimit.utf8)).last, .end)
        let over = "GET /" + String(repeating: "a", count: 8 * 1024 - 15) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertEqual(parse(Array(over.utf8)), [.error(.requestLineTooLong(limit: 8192))])
    }

    func testHeaderCountAtTheLimitIsAcceptedAndOneMoreIsNot() {
        func request(fields: Int) -> [UInt8] {
            Array(("GET / HTTP/1.1\r\nHost: a\r\n" + (1..<fields).map { "X-\($0): v\r\n" }.joined() + "\r\n").utf8)
        }
        XCTAssertEqual(parse(request(fields: 100)).last, .end)
        XCTAssertEqual(parse(request(fields: 101)), [.error(.tooManyHeaders(limit: 100))])
    }

    func testBodyAtTheLimitIsAcceptedAndOneByteMoreIsNot() {
        var limits = HTTPLimits.default
        limits.maxBodyBytes = 10
        let ten = String(repeating: "b", count: 10)
        XCTAssertEqual(parse(Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n\(ten)".utf8), limits: limits).last, .end)
        XCTAssertEqual(parse(Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n".utf8), limits: limits),
                       [.error(.bodyTooLarge(limit: 10))])
        let chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let chunkedTen = chunkedHead + "4\r\nbbbb\r\n6\r\nbbbbbb\r\n0\r\n\r\n"
        XCTAssertEqual(parseEveryWay(chunkedTen, limits: limits).last, .end)
        XCTAssertEqual(parse(Array((chunkedHead + "4\r\nbbbb\r\n7\r\n").utf8), limits: limits).last, .error(.bodyTooLarge(limit: 10)))
    }

    func testTrailerSectionHasTheHeaderLimits() {
        var limits = HTTPLimits.default
        limits.maxHeaderCount = 2
        let chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        XCTAssertEqual(parse(Array((chunkedHead + "A: 1\r\nB: 2\r\n\r\n").utf8), limits: limits).last, .end)
        XCTAssertEqual(parse(Array((chunkedHead + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n").utf8), limits: limits).last,
                       .error(.tooManyHeaders(limit: 2)))
        limits = .default
        limits.maxHeaderBytes = 200
        let trailer = "T: " + String(repeating: "t", count: 200 - 5 - 2) + "\r\n"  // 198 bytes + final CRLF = 200
        XCTAssertEqual(parse(Array((chunkedHead + trailer + "\r\n").utf8), limits: limits).last, .end)
        XCTAssertEqual(parse(Array((chunkedHead + "x" + trailer + "\r\n").utf8), limits: limits).last,
                       .error(.headerTooLarge(limit: 200)))
    }

    // MARK: Every byte

    func testEveryByteInAHeaderNameOnlyTokenCharactersAreAccepted() throws {
        let tchars = Set(Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8))
        var accepted = 0
        for byte in UInt8.min...UInt8.max {
            let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX".utf8) + [byte] + Array("Y: v\r\n\r\n".utf8)
            let events = parse(bytes)
            if byte == UInt8(ascii: ":") {  // splits the line: name "X", value "Y: v"
                XCTAssertEqual(head(events.first)?.headers["X"], "Y: v")
            } else if tchars.contains(byte) {
                let name = String(decoding: [UInt8(ascii: "X"), byte, UInt8(ascii: "Y")], as: UTF8.self)
                XCTAssertEqual(head(events.first)?.headers[name], "v", "byte \(byte)")
                accepted += 1
            } else {
                XCTAssertEqual(events, [.error(.invalidHeaderName)], "byte \(byte)")
            }
        }
        XCTAssertEqual(accepted, 77)
    }

    func testEveryByteInAHeaderValueOnlyControlsAreRejected() throws {
        for byte in UInt8.min...UInt8.max {
            let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX: a".utf8) + [byte] + Array("b\r\n\r\n".utf8)
            let events = parse(bytes)
            if byte == HTTPSyntax.lf {  // ends the line; "b" is then a field line without a colon
                XCTAssertEqual(events, [.error(.invalidHeaderName)])
            } else if byte == 0x09 || byte == 0x20 || (0x21...0x7E).contains(byte) || byte >= 0x80 {
                XCTAssertNotNil(head(events.first), "byte \(byte)")
            } else {
                XCTAssertEqual(events, [.error(.invalidHeaderValue)], "byte \(byte)")
            }
        }
    }

    func testEveryErrorHasAStatusCodeAndMessage() {
        let errors: [HTTPParserError] = malformed.map(\.error) + [.unexpectedEndOfInput]
        for error in errors {
            XCTAssertTrue([400, 413, 414, 417, 431, 501, 505].contains(error.status), "\(error)")
            XCTAssertTrue(error.code.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, error.code)
            XCTAssertFalse(error.message.isEmpty)
            XCTAssertFalse(HTTPResponse.reasonPhrase(error.status).isEmpty)
        }
    }
}
