// Writing responses: the status line with its reason phrase, the fields we always set (Date, Content-Length,
// Connection), a check of every field we write (no CR, LF, NUL or other controls: RFC 9110 §5.5, as NIO's
// `HTTPHeaders+Validation.swift`), and the JSON error body `{"error": {"code": …, "message": …}}`.
import Foundation

/// A field or status we were asked to write that would corrupt the response; found before any byte is sent.
enum HTTPResponseError: Error, Sendable, Equatable {
    /// A field name that is not a token (RFC 9110 §5.1).
    case invalidHeaderName(String)
    /// A value with a control character (CR, LF, NUL, …) or leading/trailing whitespace (RFC 9110 §5.5).
    case invalidHeaderValue(name: String)
    /// A field the writer sets itself: Content-Length, Transfer-Encoding, Connection or Date.
    case reservedHeader(String)
    /// A status outside 100–599 (RFC 9110 §15), or a body with 1xx, 204 or 304 (§6.4.1: no content).
    case invalidStatus(Int)
}

/// A response with its body in memory. Streaming bodies (file downloads) use `head(…)` and write the body
/// themselves.
struct HTTPResponse: Sendable, Equatable {
    var status: Int
    /// Fields other than the ones the writer sets (see `HTTPResponseError.reservedHeader`).
    var headers: HTTPHeaders
    var body: [UInt8]

    init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The interim response to `Expect: 100-continue` (RFC 9110 §15.2.1).
    static let continueBytes: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// A JSON response. `application/json` has no charset parameter; it is always UTF-8 (RFC 8259 §11).
    static func json(status: Int = 200, _ json: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(json.utf8))
    }

    /// The error reply `{"error":{"code":…,"message":…}}` with JSON-escaped strings.
    static func error(status: Int, code: String, message: String) -> HTTPResponse {
        json(status: status, errorBody(code: code, message: message))
    }

    /// The error body alone.
    static func errorBody(code: String, message: String) -> String {
        "{\"error\":{\"code\":\(JSONString.quoted(code)),\"message\":\(JSONString.quoted(message))}}"
    }

    /// The reply to a protocol error. Send it with `keepAlive: false` and then close (NIO's
    /// `HTTPServerProtocolErrorHandler`): the parser is `failed` and the connection is not reused.
    init(_ error: HTTPParserError) {
        self = .error(status: error.status, code: error.code, message: error.message)
    }

    /// The response's bytes.
    /// - Parameters:
    ///   - keepAlive: writes `Connection: keep-alive` or `Connection: close`.
    ///   - omitBody: for a HEAD request: the same fields, Content-Length included, but no body
    ///     (RFC 9110 §9.3.2).
    func serialized(keepAlive: Bool, date: Date = Date(), omitBody: Bool = false) throws(HTTPResponseError)
        -> [UInt8]
    {
        var bytes = try Self.head(
            status: status, headers: headers, contentLength: body.count, keepAlive: keepAlive, date: date)
        if !omitBody { bytes += body }
        return bytes
    }

    /// The bytes of a response head: status line, `Date`, the caller's fields in order, `Content-Length`
    /// (left out for 1xx, 204 and 304, RFC 9110 §8.6) and `Connection`, then the empty line.
    static func head(status: Int, headers: HTTPHeaders, contentLength: Int, keepAlive: Bool, date: Date = Date())
        throws(HTTPResponseError) -> [UInt8]
    {
        guard (100...599).contains(status), contentLength >= 0 else { throw .invalidStatus(status) }
        let hasNoContent = status < 200 || status == 204 || status == 304
        guard !hasNoContent || contentLength == 0 else { throw .invalidStatus(status) }
        for field in headers {
            try validate(field)
        }
        // RFC 9112 §4: `status-line = HTTP-version SP status-code SP [ reason-phrase ]`; the SP stays even
        // when the phrase is empty. We always answer HTTP/1.1 (RFC 9110 §6.2).
        var text = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        text += "Date: \(HTTPDate.format(date))\r\n"  // RFC 9110 §6.6.1: an origin server with a clock MUST
        for field in headers {
            text += "\(field.name): \(field.value)\r\n"
        }
        if !hasNoContent {
            text += "Content-Length: \(contentLength)\r\n"
        }
        text += "Connection: \(keepAlive ? "keep-alive" : "close")\r\n\r\n"
        return Array(text.utf8)
    }

    /// Checks a field we are about to write: the name is a token (RFC 9110 §5.1); the value has no control
    /// character but HTAB and no surrounding whitespace (§5.5), so nothing can end the line early.
    static func validate(_ field: HTTPField) throws(HTTPResponseError) {
        guard HTTPSyntax.isToken(field.name.utf8) else { throw .invalidHeaderName(field.name) }
        for reserved in ["Content-Length", "Transfer-Encoding", "Connection", "Date"]
        where HTTPSyntax.equalsIgnoringASCIICase(field.name, reserved) {
            throw .reservedHeader(field.name)
        }
        let value = Array(field.value.utf8)
        guard value.allSatisfy(HTTPSyntax.isFieldValueByte),
            value.first.map({ !HTTPSyntax.isWhitespace($0) }) ?? true,
            value.last.map({ !HTTPSyntax.isWhitespace($0) }) ?? true
        else { throw .invalidHeaderValue(name: field.name) }
    }

    /// The reason phrase of `status` (RFC 9110 §15), or "" for a code without one here.
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return ""
        }
    }
}
