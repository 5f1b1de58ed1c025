// The server's listening socket: bound to host:port (port 0 lets the kernel choose, and `port` reports its
// choice), SO_REUSEADDR so a restart does not wait out TIME_WAIT, non-blocking, and an `accept` that tells a
// transient shortage of descriptors or memory (back off, keep listening) from a real failure.
import Glibc

/// A bound, listening, non-blocking TCP socket. Owns its descriptor; not thread-safe.
final class ListeningSocket {
    /// What one `accept` call produced.
    enum AcceptResult {
        /// A new connection.
        case accepted(Socket)
        /// No connection is waiting.
        case wouldBlock
        /// The connection failed before we took it (ECONNABORTED, or one of the network errors Linux passes
        /// on from the new socket, which accept(2) says to treat like EAGAIN): try the next one.
        case skipped
        /// Out of descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). The pending connection stays
        /// queued and the socket stays readable, so retrying at once would spin: stop accepting for a while
        /// (NIO's `AcceptBackoffHandler`) and keep the listener.
        case backOff(SystemError)
    }

    /// The descriptor, or -1 once closed.
    private var descriptor: Int32
    /// The port actually bound: the requested one, or the kernel's choice for port 0.
    let port: Int

    /// Binds and listens on `host` (an address such as `127.0.0.1`, `::` or `0.0.0.0`, or a name such as
    /// `localhost`; the first address `getaddrinfo` gives is used) and `port` (0: any free port).
    init(host: String, port: Int, backlog: Int32) throws(SystemError) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let info = list?.pointee, let address = info.ai_addr else {
            // getaddrinfo has its own codes; EAI_SYSTEM alone means "see errno".
            let reason = status == EAI_SYSTEM ? Glibc.errno : EADDRNOTAVAIL
            throw SystemError(call: "getaddrinfo(\(host)): \(String(cString: gai_strerror(status)))", errno: reason)
        }
        defer { freeaddrinfo(list) }

        let fd = try System.socket(domain: info.ai_family)
        do {
            try System.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
            try System.bind(fd, address, info.ai_addrlen)
            try System.listen(fd, backlog: backlog)
            self.port = try System.localPort(fd)
        } catch {
            try? System.close(fd)
            throw error
        }
        descriptor = fd
    }

    deinit {
        assert(descriptor < 0, "leak of an open ListeningSocket (fd \(descriptor)): close() was never called")
    }

    /// The descriptor, for registering with epoll; nil once closed.
    var pollDescriptor: Int32? { descriptor >= 0 ? descriptor : nil }

    /// Accepts one waiting connection. Throws only for errors that mean the listener itself is broken.
    func accept() throws(SystemError) -> AcceptResult {
        guard descriptor >= 0 else { throw SystemError(call: "accept on a closed socket", errno: EBADF) }
        do {
            switch try System.accept(descriptor) {
            case .processed(let fd): return .accepted(Socket(adopting: fd))
            case .wouldBlock: return .wouldBlock
            }
        } catch {
            switch error.errno {
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                return .backOff(error)
            case ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP,
                ENETUNREACH, EPERM:
                // EPERM: a firewall rule refused this connection; the next one may be fine.
                return .skipped
            default:
                throw error
            }
        }
    }

    /// Stops listening and closes the descriptor. A second call throws EBADF.
    func close() throws(SystemError) {
        guard descriptor >= 0 else { throw SystemError(call: "close on a closed socket", errno: EBADF) }
        let fd = descriptor
        descriptor = -1
        try System.close(fd)
    }
}
