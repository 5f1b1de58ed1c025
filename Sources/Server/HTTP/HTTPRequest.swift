// What a handler receives: the parsed head and the body, which is either in memory (small bodies) or in a
// temporary file the server wrote as the bytes arrived (large bodies, uploads), never both.
import Foundation

/// A request body as handed to the handler.
enum RequestBody: Sendable, Equatable {
    /// No body (no `Content-Length`, or `Content-Length: 0`).
    case none
    /// The whole body, at most `memoryBodyLimit` bytes.
    case memory([UInt8])
    /// The body in a temporary file (mode 0600) of `byteCount` bytes. The server deletes the file after the
    /// handler returns; a handler that wants to keep it moves it elsewhere (`rename(2)`/`moveItem`) first.
    case file(URL, byteCount: Int)

    /// Size of the body in bytes.
    var byteCount: Int {
        switch self {
        case .none: return 0
        case .memory(let bytes): return bytes.count
        case .file(_, let byteCount): return byteCount
        }
    }
}

/// A complete request: head and stored body.
struct HTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: RequestBody

    var method: HTTPMethod { head.method }
    /// The path as sent (still percent-encoded), without the query.
    var path: String { head.path }
    /// The path's segments, percent-decoded.
    var pathComponents: [String] { head.pathComponents }
    var headers: HTTPHeaders { head.headers }
    /// The decoded value of the first query item named `name`, or nil.
    func queryValue(_ name: String) -> String? { head.queryValue(name) }
}
