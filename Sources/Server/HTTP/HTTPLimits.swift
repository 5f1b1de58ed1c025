// The limits the request parser enforces on untrusted bytes, in one place (as NIO's
// `NIOHTTPDecoderLimitConfiguration`). Every field names its unit, its default and the status a client
// gets for going over it. Bytes are counted as they arrive, so nothing is buffered past a limit.

/// Size limits for one HTTP/1.x request, checked by `HTTPRequestParser` while it reads.
struct HTTPLimits: Sendable, Equatable {
    /// Bytes of the whole head: any empty lines before the request line, the request line and every header
    /// line, each with its line terminator, up to and including the empty line that ends the header section.
    /// Default 16 KiB. Over it: `headerTooLarge`, 431. The trailer section of a chunked body has the same
    /// limit of its own.
    var maxHeaderBytes: Int = 16 * 1024

    /// Bytes of the request line including its CRLF. Default 8 KiB. Over it: `requestLineTooLong`, 414
    /// (RFC 9112 §3: a server receiving a request-target longer than it wishes to parse MUST answer 414).
    /// The request line also counts towards `maxHeaderBytes`.
    var maxRequestLineBytes: Int = 8 * 1024

    /// Header field lines in the head (the request line is not one). Default 100. Over it:
    /// `tooManyHeaders`, 431. Trailer fields have the same limit of their own.
    var maxHeaderCount: Int = 100

    /// Bytes of message body: the `Content-Length`, or the sum of the chunk sizes of a chunked body (chunk
    /// framing not counted). Default 2 GiB; the server streams bodies to disk. Over it: `bodyTooLarge`,
    /// 413, reported as soon as a length or chunk size announces it, before any of that body is read.
    var maxBodyBytes: Int = 2 * 1024 * 1024 * 1024

    /// Bytes of one chunk-size line of a chunked body, extensions and CRLF included. Default 1 KiB, enough for
    /// a 16-digit size and modest extensions. Over it: `chunkSizeLineTooLong`, 400.
    var maxChunkSizeLineBytes: Int = 1024

    /// The defaults above.
    static let `default` = HTTPLimits()
}
