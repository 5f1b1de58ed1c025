// Every way a request's bytes can be wrong, one case each (as NIO's `HTTPParserError`), and the single
// switch that maps each to the status, machine code and message of the reply. After any of these the
// connection is answered once, with `Connection: close`, and closed.

/// A protocol error in request bytes. Terminal for the connection.
enum HTTPParserError: Error, Sendable, Equatable {
    /// Not `method SP request-target SP HTTP-version`, with single spaces, a token method and a
    /// well-formed `HTTP/d.d` (case-sensitive, RFC 9112 §2.3, §3).
    case invalidRequestLine
    /// The request line is longer than `maxRequestLineBytes` (RFC 9112 §3: 414).
    case requestLineTooLong(limit: Int)
    /// The request-target is not origin-, absolute- or (for OPTIONS) asterisk-form, or has characters or
    /// percent-encodings RFC 3986 does not allow (see `HTTPRequestTarget`).
    case invalidRequestTarget
    /// A well-formed version other than 1.0 or 1.1 (RFC 9110 §15.6.6: 505). An HTTP/0.9 request line
    /// (`GET /`, no version) is reported as version 0.9.
    case unsupportedVersion(major: Int, minor: Int)
    /// The head is longer than `maxHeaderBytes`, or a trailer section is.
    case headerTooLarge(limit: Int)
    /// More than `maxHeaderCount` field lines in the head or in the trailers.
    case tooManyHeaders(limit: Int)
    /// A field name that is not a token, is empty, has no colon after it, or has whitespace before the
    /// colon (RFC 9112 §5.1: MUST reject with 400).
    case invalidHeaderName
    /// A control character in a field value: CR, LF, NUL or any other except HTAB (RFC 9110 §5.5).
    case invalidHeaderValue
    /// A field line starting with whitespace: obsolete line folding, or whitespace between the request
    /// line and the first field (RFC 9112 §5.2, §2.2; we take the "reject with 400" option).
    case obsoleteLineFolding
    /// An HTTP/1.1 request without `Host`, more than one `Host` line, or a `Host` value that is not an
    /// authority (RFC 9112 §3.2: MUST answer 400).
    case invalidHost
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.3 rule 3: a possible smuggling
    /// attempt, "ought to be handled as an error").
    case contentLengthWithTransferEncoding
    /// A `Content-Length` that is not `1*DIGIT`, overflows, or is repeated with different values
    /// (RFC 9110 §8.6, RFC 9112 §6.3 rule 5).
    case invalidContentLength
    /// `Transfer-Encoding` whose final coding is not `chunked`, that applies `chunked` twice, or is empty
    /// (RFC 9112 §6.1: MUST answer 400, since the body length cannot be determined).
    case invalidTransferEncoding
    /// `Transfer-Encoding` with a coding before `chunked` (gzip, deflate, …) that we do not implement
    /// (RFC 9112 §6.1: SHOULD answer 501).
    case unsupportedTransferEncoding
    /// `Transfer-Encoding` on an HTTP/1.0 request (RFC 9112 §6.1: the framing MUST be treated as faulty).
    case transferEncodingWithHTTP10
    /// An `Expect` other than `100-continue` (RFC 9110 §10.1.1: MAY answer 417).
    case unsupportedExpectation
    /// The body is longer than `maxBodyBytes`, by its `Content-Length` or by its chunk sizes so far.
    case bodyTooLarge(limit: Int)
    /// A chunk-size line that is not `1*HEXDIG [ chunk-ext ]`, or whose size overflows (RFC 9112 §7.1).
    case invalidChunkSize
    /// A chunk-size line longer than `maxChunkSizeLineBytes`.
    case chunkSizeLineTooLong(limit: Int)
    /// Chunk data not followed by exactly CRLF (RFC 9112 §7.1).
    case missingCRLFAfterChunkData
    /// A line of the chunked framing (size line or trailer line) ended by LF alone. We accept a bare LF in
    /// the head (RFC 9112 §2.2 MAY) but not inside a chunked body, where lenient line endings are a known
    /// source of request smuggling between disagreeing parsers.
    case bareLineFeedInChunkedBody
    /// The connection ended in the middle of a request.
    case unexpectedEndOfInput

    /// The status of the reply.
    var status: Int {
        switch self {
        case .requestLineTooLong: return 414
        case .unsupportedVersion: return 505
        case .headerTooLarge, .tooManyHeaders: return 431
        case .unsupportedTransferEncoding: return 501
        case .unsupportedExpectation: return 417
        case .bodyTooLarge: return 413
        case .invalidRequestLine, .invalidRequestTarget, .invalidHeaderName, .invalidHeaderValue,
            .obsoleteLineFolding, .invalidHost, .contentLengthWithTransferEncoding, .invalidContentLength,
            .invalidTransferEncoding, .transferEncodingWithHTTP10, .invalidChunkSize, .chunkSizeLineTooLong,
            .missingCRLFAfterChunkData, .bareLineFeedInChunkedBody, .unexpectedEndOfInput:
            return 400
        }
    }

    /// The machine-readable code for the JSON error body, e.g. `header_too_large`.
    var code: String {
        switch self {
        case .invalidRequestLine: return "invalid_request_line"
        case .requestLineTooLong: return "request_line_too_long"
        case .invalidRequestTarget: return "invalid_request_target"
        case .unsupportedVersion: return "unsupported_version"
        case .headerTooLarge: return "header_too_large"
        case .tooManyHeaders: return "too_many_headers"
        case .invalidHeaderName: return "invalid_header_name"
        case .invalidHeaderValue: return "invalid_header_value"
        case .obsoleteLineFolding: return "obsolete_line_folding"
        case .invalidHost: return "invalid_host"
        case .contentLengthWithTransferEncoding: return "content_length_with_transfer_encoding"
        case .invalidContentLength: return "invalid_content_length"
        case .invalidTransferEncoding: return "invalid_transfer_encoding"
        case .unsupportedTransferEncoding: return "unsupported_transfer_encoding"
        case .transferEncodingWithHTTP10: return "transfer_encoding_with_http_1_0"
        case .unsupportedExpectation: return "unsupported_expectation"
        case .bodyTooLarge: return "body_too_large"
        case .invalidChunkSize: return "invalid_chunk_size"
        case .chunkSizeLineTooLong: return "chunk_size_line_too_long"
        case .missingCRLFAfterChunkData: return "missing_crlf_after_chunk_data"
        case .bareLineFeedInChunkedBody: return "bare_line_feed_in_chunked_body"
        case .unexpectedEndOfInput: return "unexpected_end_of_input"
        }
    }

    /// A one-line message naming what was wrong.
    var message: String {
        switch self {
        case .invalidRequestLine:
            return "request line is not 'METHOD SP target SP HTTP/1.1' with single spaces"
        case .requestLineTooLong(let limit): return "request line exceeds \(limit) bytes"
        case .invalidRequestTarget:
            return "request target is not an absolute path with an optional query (RFC 3986 characters only)"
        case .unsupportedVersion(let major, let minor):
            return "HTTP/\(major).\(minor) is not supported; use HTTP/1.1 or HTTP/1.0"
        case .headerTooLarge(let limit): return "header section exceeds \(limit) bytes"
        case .tooManyHeaders(let limit): return "header section has more than \(limit) fields"
        case .invalidHeaderName:
            return "header field name is not a token followed directly by a colon"
        case .invalidHeaderValue: return "header field value contains a control character"
        case .obsoleteLineFolding: return "header line starts with whitespace (obsolete line folding)"
        case .invalidHost: return "request needs exactly one valid Host header"
        case .contentLengthWithTransferEncoding:
            return "request has both Content-Length and Transfer-Encoding"
        case .invalidContentLength: return "Content-Length is not a single non-negative decimal number"
        case .invalidTransferEncoding: return "Transfer-Encoding must end with a single 'chunked'"
        case .unsupportedTransferEncoding: return "only the 'chunked' transfer coding is supported"
        case .transferEncodingWithHTTP10: return "Transfer-Encoding is not allowed in an HTTP/1.0 request"
        case .unsupportedExpectation: return "only 'Expect: 100-continue' is supported"
        case .bodyTooLarge(let limit): return "request body exceeds \(limit) bytes"
        case .invalidChunkSize: return "chunk size is not a hexadecimal number with optional extensions"
        case .chunkSizeLineTooLong(let limit): return "chunk size line exceeds \(limit) bytes"
        case .missingCRLFAfterChunkData: return "chunk data is not followed by CRLF"
        case .bareLineFeedInChunkedBody: return "chunked body line ends in LF without CR"
        case .unexpectedEndOfInput: return "connection closed in the middle of a request"
        }
    }
}
