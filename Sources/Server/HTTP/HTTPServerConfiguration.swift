// Everything the app decides about the server: where it listens, the parser limits, the timeouts against
// slow or idle clients, the connection cap, where large request bodies go, which request heads are
// admitted before their body is read, and the per-request log callback.
import Foundation

/// The server's timeouts. Each names what it limits and what the client gets when it runs out.
struct HTTPTimeouts: Sendable, Equatable {
    /// From the first byte of a request to the end of its head (for a new connection, from accept). Not
    /// extended by progress, so a client sending one byte a second (slowloris) is cut off like one that
    /// sends nothing. Default 10 s. Over it: 408 and close, or a silent close if nothing was received.
    var header: Duration = .seconds(10)
    /// The longest pause between two reads of a request body. Default 30 s. Over it: 408 and close.
    var bodyIdle: Duration = .seconds(30)
    /// How long a keep-alive connection may sit idle between requests. Default 30 s. Over it: closed
    /// silently (RFC 9112 §9.8 lets either side close an idle connection at any time).
    var keepAlive: Duration = .seconds(30)
    /// The longest wait for the client to take more response bytes. Default 30 s. Over it: closed.
    var write: Duration = .seconds(30)
    /// After the last response on a connection: how long we keep reading (and discarding) what the client
    /// still sends while waiting for it to close. Closing with unread bytes makes the kernel send a reset,
    /// which can destroy the response before the client has read it (RFC 9112 §9.6). Default 2 s.
    var linger: Duration = .seconds(2)
}

/// Where an admitted request body is stored while it arrives.
enum HTTPBodyStorage: Sendable, Equatable {
    /// In memory up to `HTTPServerConfiguration.memoryBodyLimit` bytes, in a temporary file beyond.
    case automatic
    /// In a temporary file whatever its size (upload routes).
    case disk
}

/// The answer to a request head that announces a body, given before any of the body is read.
enum HTTPAdmission: Sendable, Equatable {
    /// Read the body (sending `100 Continue` first if the client asked for it).
    case accept(HTTPBodyStorage)
    /// Answer with this final response without reading the body, then close (RFC 9110 §10.1.1: a server
    /// may answer a `100-continue` request with a final status instead).
    case reject(HTTPResponse)
}

/// How an `HTTPServer` listens and treats connections.
struct HTTPServerConfiguration: Sendable {
    /// Address to bind: `127.0.0.1`, `0.0.0.0`, `::`, or a name such as `localhost`.
    var host = "127.0.0.1"
    /// Port to bind; 0 lets the kernel choose (`HTTPServer.start()` returns the port bound).
    var port = 8080
    /// Parser limits (head size, header count, body size, …).
    var limits = HTTPLimits.default
    var timeouts = HTTPTimeouts()
    /// Connections served at once. One more is answered 503 with `Connection: close` and closed.
    var maxConnections = 512
    /// Length of the kernel's queue of connections not yet accepted (`listen(2)` backlog).
    var listenBacklog: Int32 = 511
    /// Directory for request bodies stored on disk; created at start if missing.
    var temporaryDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("http-bodies")
    /// Bodies of at most this many bytes stay in memory (unless admitted with `.disk`). Default 64 KiB.
    var memoryBodyLimit = 64 * 1024
    /// How long `shutdown()` waits for requests in progress before closing their connections. Default 30 s.
    var shutdownGracePeriod: Duration = .seconds(30)
    /// Decides, from its head alone, whether a request with a body is read (and where to), or answered at
    /// once. Called on the event loop thread, so it must be quick and must not block. Default: accept all.
    var admit: @Sendable (HTTPRequestHead) -> HTTPAdmission = { _ in .accept(.automatic) }
    /// Called once per response sent, on the event loop thread: format and hand off, never block.
    var requestLog: (@Sendable (HTTPRequestLogEntry) -> Void)?

    init() {}
}
