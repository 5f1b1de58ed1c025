// A connected, non-blocking TCP socket that owns its descriptor (NIO's `BaseSocket`): it is closed exactly
// once, every operation on a closed socket throws instead of touching a number the kernel may since have
// given to another connection, and `deinit` asserts that nobody forgot to close it.
import Glibc

/// A connected TCP socket in non-blocking mode. Not thread-safe: it belongs to the event loop's thread.
final class Socket {
    /// The descriptor, or -1 once closed.
    private var descriptor: Int32

    /// Takes ownership of `descriptor`, a connected, non-blocking socket (as `System.accept` returns).
    init(adopting descriptor: Int32) {
        precondition(descriptor >= 0, "Socket(adopting: \(descriptor))")
        self.descriptor = descriptor
    }

    deinit {
        assert(descriptor < 0, "leak of an open Socket (fd \(descriptor)): close() was never called")
    }

    /// Whether `close()` has not been called yet.
    var isOpen: Bool { descriptor >= 0 }

    /// Runs `body` with the descriptor, or throws EBADF if the socket is closed.
    func withDescriptor<T>(_ call: String, _ body: (Int32) throws(SystemError) -> T) throws(SystemError) -> T {
        guard descriptor >= 0 else { throw SystemError(call: "\(call) on a closed socket", errno: EBADF) }
        return try body(descriptor)
    }

    /// Reads into `buffer`; `.processed(0)` means the peer closed its side.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try withDescriptor("read") { (fd) throws(SystemError) in try System.read(fd, into: buffer) }
    }

    /// Sends a prefix of `bytes`; the result says how many were taken.
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try withDescriptor("send") { (fd) throws(SystemError) in try System.send(fd, bytes) }
    }

    /// Sends up to `count` bytes of `file` from `offset`, advancing `offset`.
    func sendFile(_ file: Int32, offset: inout Int, count: Int) throws(SystemError) -> IOResult<Int> {
        guard descriptor >= 0 else { throw SystemError(call: "sendfile on a closed socket", errno: EBADF) }
        return try System.sendFile(descriptor, from: file, offset: &offset, count: count)
    }

    /// Sends FIN (no more bytes from us) while still letting us read what the peer sends.
    func shutdownOutput() throws(SystemError) {
        try withDescriptor("shutdown") { (fd) throws(SystemError) in try System.shutdownOutput(fd) }
    }

    /// Disables Nagle's algorithm: a response is written in one call, and waiting to coalesce it with the
    /// next would only add latency (up to a delayed-ACK period on keep-alive connections).
    func setNoDelay() throws(SystemError) {
        try withDescriptor("setsockopt(TCP_NODELAY)") { (fd) throws(SystemError) in
            try System.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
        }
    }

    /// Closes the descriptor. A second call throws EBADF rather than closing whatever now has that number.
    func close() throws(SystemError) {
        guard descriptor >= 0 else { throw SystemError(call: "close on a closed socket", errno: EBADF) }
        let fd = descriptor
        descriptor = -1
        try System.close(fd)
    }
}
