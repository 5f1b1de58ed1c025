// Request methods as tokens (RFC 9110 §9.1): any `token` is a syntactically valid method, compared
// case-sensitively. The parser accepts every token; the router decides which ones it serves (an unknown
// method is a 501 there, RFC 9110 §9.1, not a parse error here; JobsAPI.unknownMethodError).

/// A request method, e.g. `GET`. Case-sensitive: `get` is a different (unknown) method.
struct HTTPMethod: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    var rawValue: String

    init(rawValue: String) {
        self.rawValue = rawValue
    }

    init(stringLiteral value: String) {
        self.rawValue = value
    }

    var description: String { rawValue }

    static let get: HTTPMethod = "GET"
    static let head: HTTPMethod = "HEAD"
    static let post: HTTPMethod = "POST"
    static let put: HTTPMethod = "PUT"
    static let patch: HTTPMethod = "PATCH"
    static let delete: HTTPMethod = "DELETE"
    static let options: HTTPMethod = "OPTIONS"
    static let connect: HTTPMethod = "CONNECT"
    static let trace: HTTPMethod = "TRACE"
}
