// What a handler returns: a response whose body is in memory, or the head of one whose body is a file sent
// from disk as the client takes it (sendfile), for downloads too large to hold in memory.

/// A handler's answer.
enum HTTPServerResponse: Sendable, Equatable {
    /// A response with its body in memory.
    case response(HTTPResponse)
    /// `status` and `headers` with the file at `path` as the body. `Content-Length` is the file's size when
    /// the server opens it, after the handler returns; the file must not shrink while it is sent. If it
    /// cannot be opened the client gets a 500.
    case file(status: Int, headers: HTTPHeaders, path: String)

    /// The status line's code.
    var status: Int {
        switch self {
        case .response(let response): return response.status
        case .file(let status, _, _): return status
        }
    }
}
