// The head half of the request parser: the request line, field lines, chunk-size lines, and the checks
// made once the header section is complete (Host, body framing, Expect, keep-alive). Each strictness
// decision cites the RFC clause behind it.

extension HTTPRequestParser {
    /// Parses `method SP request-target SP HTTP-version` (RFC 9112 §3). Exactly one space between parts:
    /// §3 lets a recipient split on any whitespace instead, but lenient splitting is how parsers come to
    /// disagree, so we do not.
    static func parseRequestLine(_ line: [UInt8]) throws(HTTPParserError)
        -> (method: HTTPMethod, target: HTTPRequestTarget, version: HTTPVersion)
    {
        let parts = line.split(separator: HTTPSyntax.space, omittingEmptySubsequences: false)
        // `GET /path` with no version is an HTTP/0.9 simple request (RFC 1945 §4.1); not served. Only with a
        // valid target: `GET /a\rHTTP/1.1` is an HTTP/1.1 line with a bare CR, invalid by RFC 9112 §2.2 (400),
        // and a parser that reads bare CR as SP (which §2.2 also allows) would serve it, so it is no 505.
        if parts.count == 2, HTTPSyntax.isToken(parts[0]), parts[1].first == UInt8(ascii: "/"),
            HTTPRequestTarget(parts[1], method: HTTPMethod(rawValue: String(decoding: parts[0], as: UTF8.self))) != nil
        {
            throw .unsupportedVersion(major: 0, minor: 9)
        }
        guard parts.count == 3, HTTPSyntax.isToken(parts[0]), !parts[1].isEmpty,
            let version = parseVersion(parts[2])
        else { throw .invalidRequestLine }
        // Only 1.0 and 1.1 (505, RFC 9110 §15.6.6). RFC 9110 §2.5 would let us treat HTTP/1.2 as 1.1, but no
        // such version exists and NIO rejects it too (`testDoesNotDecodeHTTP2XRequest`); "PRI * HTTP/2.0",
        // the HTTP/2 preface, ends here as well. The version is checked before the target for that reason.
        guard version == .http1_0 || version == .http1_1 else {
            throw .unsupportedVersion(major: version.major, minor: version.minor)
        }
        let method = HTTPMethod(rawValue: String(decoding: parts[0], as: UTF8.self))
        guard let target = HTTPRequestTarget(parts[1], method: method) else { throw .invalidRequestTarget }
        return (method, target, version)
    }

    /// `HTTP-version = HTTP-name "/" DIGIT "." DIGIT`, `HTTP-name = %s"HTTP"`: case-sensitive (RFC 9112
    /// §2.3), so `http/1.1` is not a version.
    static func parseVersion(_ bytes: ArraySlice<UInt8>) -> HTTPVersion? {
        let text = Array(bytes)
        guard text.count == 8, text.starts(with: Array("HTTP/".utf8)), text[6] == UInt8(ascii: "."),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[5]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[7])
        else { return nil }
        return HTTPVersion(major: Int(text[5] - UInt8(ascii: "0")), minor: Int(text[7] - UInt8(ascii: "0")))
    }

    /// Parses `field-name ":" OWS field-value OWS` (RFC 9112 §5) and counts it against `maxHeaderCount`.
    mutating func parseFieldLine(_ line: [UInt8]) throws(HTTPParserError) -> HTTPField {
        // RFC 9112 §5.2: obs-fold (a line starting with SP/HTAB) MAY be rejected with 400; we reject it, and
        // whitespace before the first field too (§2.2 allows rejecting that as invalid).
        guard let first = line.first, !HTTPSyntax.isWhitespace(first) else { throw .obsoleteLineFolding }
        fieldCount += 1
        guard fieldCount <= limits.maxHeaderCount else { throw .tooManyHeaders(limit: limits.maxHeaderCount) }
        // RFC 9112 §5.1: no whitespace between name and colon, MUST reject with 400; a space there makes the
        // name a non-token and lands here.
        guard let colon = line.firstIndex(of: HTTPSyntax.colon), HTTPSyntax.isToken(line[..<colon]) else {
            throw .invalidHeaderName
        }
        let value = HTTPSyntax.trimmingWhitespace(line[(colon + 1)...])
        guard value.allSatisfy(HTTPSyntax.isFieldValueByte) else { throw .invalidHeaderValue }
        // obs-text (0x80–0xFF) is allowed by the grammar; bytes that are not UTF-8 become U+FFFD here.
        return HTTPField(
            name: String(decoding: line[..<colon], as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    /// Parses `chunk-size [ chunk-ext ]` (RFC 9112 §7.1). Extensions are ignored, as §7.1.1 requires of
    /// unrecognised ones, after checking that they start with `;` and hold no control characters.
    static func parseChunkSize(_ line: [UInt8]) throws(HTTPParserError) -> Int {
        var size = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = HTTPSyntax.hexValue(line[index]) {
            let (shifted, overflow) = size.multipliedReportingOverflow(by: 16)
            guard !overflow else { throw .invalidChunkSize }
            size = shifted + digit
            index += 1
        }
        guard index > line.startIndex else { throw .invalidChunkSize }
        let extensions = line[index...]
        if let start = extensions.firstIndex(where: { !HTTPSyntax.isWhitespace($0) }) {
            guard extensions[start] == UInt8(ascii: ";"), extensions.allSatisfy(HTTPSyntax.isFieldValueByte)
            else { throw .invalidChunkSize }
        } else if !extensions.isEmpty {
            throw .invalidChunkSize  // whitespace after the size with no extension
        }
        return size
    }

    /// Validates the complete head, emits `.head` and moves on to the body.
    mutating func completeHead(_ events: inout [HTTPParserEvent]) throws(HTTPParserError) {
        guard let (method, target, version) = requestLine.map({ ($0.method, $0.target, $0.version) }) else {
            preconditionFailure("header section completed without a request line")
        }
        try checkHost(version: version)
        let framing = try bodyFraming(version: version)

        // RFC 9110 §10.1.1: 100-continue is the only expectation defined; a server MAY answer 417 to others
        // and MUST ignore 100-continue from an HTTP/1.0 client.
        let expectations = HTTPSyntax.lowercasedListElements(headers.values(for: "Expect"))
        guard expectations.allSatisfy({ $0 == "100-continue" }) else { throw .unsupportedExpectation }

        // RFC 9112 §9.3: HTTP/1.1 is persistent unless `close`; HTTP/1.0 only with `keep-alive`.
        let connection = HTTPSyntax.lowercasedListElements(headers.values(for: "Connection"))
        let keepAlive =
            !connection.contains("close") && (version == .http1_1 || connection.contains("keep-alive"))

        let head = HTTPRequestHead(
            method: method, target: target, version: version, headers: headers, framing: framing,
            keepAlive: keepAlive, expectsContinue: version == .http1_1 && !expectations.isEmpty)
        events.append(.head(head))
        startBody(framing, &events)
    }

    /// RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without `Host`, and to any request
    /// with more than one `Host` line or an invalid `Host` value (`uri-host [ ":" port ]`, possibly empty).
    private func checkHost(version: HTTPVersion) throws(HTTPParserError) {
        let hosts = headers.values(for: "Host")
        guard hosts.count <= 1, version == .http1_0 || hosts.count == 1 else { throw .invalidHost }
        if let host = hosts.first,
            !host.utf8.allSatisfy({ HTTPRequestTarget.isAuthorityByte($0) && $0 != UInt8(ascii: "@") })
        {
            throw .invalidHost
        }
    }

    /// Decides the body framing from `Transfer-Encoding` and `Content-Length` (RFC 9112 §6.3).
    private func bodyFraming(version: HTTPVersion) throws(HTTPParserError) -> HTTPBodyFraming {
        let transferEncodings = headers.values(for: "Transfer-Encoding")
        let contentLengths = headers.values(for: "Content-Length")
        if !transferEncodings.isEmpty {
            // §6.3 rule 3: both present "ought to be handled as an error" (request smuggling, §11.2).
            guard contentLengths.isEmpty else { throw .contentLengthWithTransferEncoding }
            // §6.1: an HTTP/1.0 message with Transfer-Encoding MUST be treated as having faulty framing.
            guard version == .http1_1 else { throw .transferEncodingWithHTTP10 }
            // §6.1: chunked MUST be the final coding and MUST NOT be applied twice (else 400); any other
            // coding we do not implement SHOULD get 501. Coding names are case-insensitive (§7).
            let codings = HTTPSyntax.lowercasedListElements(transferEncodings)
            guard codings.last == "chunked", codings.filter({ $0 == "chunked" }).count == 1 else {
                throw .invalidTransferEncoding
            }
            guard codings.count == 1 else { throw .unsupportedTransferEncoding }
            return .chunked
        }
        guard !contentLengths.isEmpty else { return .none }  // §6.3 rule 7
        // RFC 9110 §8.6: `Content-Length = 1*DIGIT`. Repeats of one value ("5, 5" or two lines of 5) MAY be
        // accepted as that value; differing values are invalid (RFC 9112 §6.3 rule 5), as are empty
        // elements, signs, spaces inside and values that overflow.
        var length: Int?
        for element in contentLengths.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let digits = HTTPSyntax.trimmingWhitespace(ArraySlice(element.utf8))
            guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { throw .invalidContentLength }
            var value = 0
            for digit in digits {
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, carry) = shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                guard !overflow, !carry else { throw .invalidContentLength }
                value = sum
            }
            guard length == nil || length == value else { throw .invalidContentLength }
            length = value
        }
        guard let length else { throw .invalidContentLength }
        guard length <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        return .contentLength(length)
    }
}
