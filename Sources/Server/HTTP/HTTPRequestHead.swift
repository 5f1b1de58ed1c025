// What the parser knows about a request once its header section is complete: method, target, version,
// fields, how the body is framed, and the two connection decisions the server needs before reading the body
// (keep-alive and `Expect: 100-continue`).

/// An HTTP version, `HTTP/major.minor`. The parser accepts only 1.0 and 1.1.
struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    var major: Int
    var minor: Int

    static let http1_0 = HTTPVersion(major: 1, minor: 0)
    static let http1_1 = HTTPVersion(major: 1, minor: 1)

    var description: String { "HTTP/\(major).\(minor)" }
}

/// How the request body is delimited (RFC 9112 §6.3).
enum HTTPBodyFraming: Sendable, Equatable {
    /// No body: neither `Content-Length` nor `Transfer-Encoding` (§6.3 rule 7: a request without either has
    /// a body of length zero). `Content-Length: 0` is `.contentLength(0)`.
    case none
    /// Exactly this many bytes follow the head (§6.3 rule 6).
    case contentLength(Int)
    /// `Transfer-Encoding: chunked` (§6.3 rule 4, §7.1); the length is known only at the last chunk.
    case chunked
}

/// A parsed request head, emitted by `HTTPRequestParser` as `.head` before any body bytes.
struct HTTPRequestHead: Sendable, Equatable {
    var method: HTTPMethod
    var target: HTTPRequestTarget
    var version: HTTPVersion
    var headers: HTTPHeaders
    var framing: HTTPBodyFraming
    /// Whether the connection may carry another request after this one (RFC 9112 §9.3): HTTP/1.1 unless
    /// `Connection` lists `close`; HTTP/1.0 only if `Connection` lists `keep-alive` (and not `close`).
    var keepAlive: Bool
    /// The client sent `Expect: 100-continue` on HTTP/1.1 and waits for `100 Continue` (or a final status)
    /// before sending the body. The server decides when to send it (after checking the route and the
    /// length, RFC 9110 §10.1.1). An HTTP/1.0 expectation is ignored, as §10.1.1 requires.
    var expectsContinue: Bool

    /// The path as sent (still percent-encoded), without the query.
    var path: String { target.path }
    /// The path's segments, percent-decoded.
    var pathComponents: [String] { target.pathComponents }
    /// The query items, percent-decoded (`+` is a space).
    var queryItems: [HTTPQueryItem] { target.queryItems }

    /// The decoded value of the first query item named `name`, or nil.
    func queryValue(_ name: String) -> String? {
        target.queryItems.first { $0.name == name }?.value
    }

    /// The announced body length, or nil for a chunked body.
    var contentLength: Int? {
        switch framing {
        case .none: return 0
        case .contentLength(let length): return length
        case .chunked: return nil
        }
    }
}
