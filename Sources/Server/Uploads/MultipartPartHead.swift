// The header section of one multipart/form-data part: header lines in, the field name, filename and media
// type out (RFC 7578 §4.2–§4.4). Also the boundary from the request's Content-Type (RFC 2046 §5.1.1).

/// What a part's headers say about it.
struct MultipartPartHead: Sendable, Equatable {
    /// The form field name, `Content-Disposition`'s `name` parameter (RFC 7578 §4.2: required).
    var name: String
    /// The `filename` parameter, as sent, if any. `filename*` (RFC 5987 encoding) is ignored: RFC 7578 §4.2
    /// says senders MUST NOT use it, and browsers send UTF-8 in `filename` instead. Browsers escape `"` as
    /// `%22` rather than `\"`; no percent-decoding is done here, so such a name keeps its `%22`.
    var filename: String?
    /// The part's `Content-Type` value, if any (RFC 7578 §4.4: defaults to text/plain, or to
    /// application/octet-stream for files; the caller decides).
    var contentType: String?

    /// Reads `field-name ":" OWS field-value OWS` with the HTTP field grammar (RFC 7578 §4.8 leaves part
    /// headers to MIME; we hold them to RFC 9110 §5: token names, no control characters, UTF-8 text).
    static func parseHeaderLine(_ line: [UInt8]) throws(MultipartError) -> HTTPField {
        guard let colon = line.firstIndex(of: HTTPSyntax.colon), HTTPSyntax.isToken(line[..<colon]) else {
            throw .malformedPartHeader
        }
        let value = HTTPSyntax.trimmingWhitespace(line[(colon + 1)...])
        guard value.allSatisfy(HTTPSyntax.isFieldValueByte), let text = HTTPSyntax.utf8String(value)
        else { throw .malformedPartHeader }
        return HTTPField(name: String(decoding: line[..<colon], as: UTF8.self), value: text)
    }

    /// The part's description from its header fields.
    init(headers: HTTPHeaders) throws(MultipartError) {
        let dispositions = headers.values(for: "Content-Disposition")
        guard dispositions.count <= 1, headers.values(for: "Content-Type").count <= 1 else {
            throw .malformedPartHeader
        }
        guard let disposition = dispositions.first else { throw .invalidContentDisposition }
        guard let parsed = HTTPParameterizedValue(disposition) else { throw .malformedPartHeader }
        guard HTTPSyntax.equalsIgnoringASCIICase(parsed.value, "form-data"), let name = parsed.parameter("name")
        else { throw .invalidContentDisposition }
        self.name = name
        self.filename = parsed.parameter("filename")
        self.contentType = headers["Content-Type"]
    }

    /// The longest boundary RFC 2046 §5.1.1 allows.
    static let maxBoundaryLength = 70

    /// The boundary of a `multipart/form-data` Content-Type, quoted or not.
    ///
    /// RFC 2046 §5.1.1: `boundary := 0*69<bchars> bcharsnospace`, `bchars := bcharsnospace / " "`,
    /// `bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" / "." / "/" / ":" / "=" / "?"`.
    static func boundary(fromContentType contentType: String) throws(MultipartError) -> String {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let trimmed = String(decoding: HTTPSyntax.trimmingWhitespace(ArraySlice(mediaType.utf8)), as: UTF8.self)
        guard HTTPSyntax.equalsIgnoringASCIICase(trimmed, "multipart/form-data") else {
            throw .notMultipartFormData
        }
        guard let parsed = HTTPParameterizedValue(contentType) else { throw .invalidBoundary }
        guard let boundary = parsed.parameter("boundary") else { throw .missingBoundary }
        let bytes = Array(boundary.utf8)
        guard (1...maxBoundaryLength).contains(bytes.count), bytes.allSatisfy(isBoundaryByte),
            bytes.last != HTTPSyntax.space
        else { throw .invalidBoundary }
        return boundary
    }

    /// `bchars` of RFC 2046 §5.1.1.
    private static func isBoundaryByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        case UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "+"), UInt8(ascii: "_"),
            UInt8(ascii: ","), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"),
            UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: " "):
            return true
        default:
            return false
        }
    }
}
