// Every system call the server makes, in one place (as NIO's `NIOPosix/System.swift`). Each wrapper retries
// on EINTR, reports EAGAIN on a non-blocking descriptor as "would block", and turns any other errno into a
// `SystemError` naming the call. An errno that only a bug of ours can cause (EBADF, EFAULT, ENOTSOCK) is a
// precondition failure: carrying on would mean touching a descriptor or memory we do not own.
import CLinux
import Glibc

/// The outcome of a call on a non-blocking descriptor (NIO's `IOResult`).
enum IOResult<Value> {
    /// The call did its work and returned this.
    case processed(Value)
    /// EAGAIN: nothing to read, or no room to write; wait for epoll to say the descriptor is ready.
    case wouldBlock
}

/// A failed system call: which call, and why.
struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call, e.g. `accept` or `open(/tmp/x)`.
    var call: String
    var errno: Int32

    var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Thin wrappers over the system calls; see the file comment for the rules they share.
enum System {
    /// Runs `body` until it stops failing with EINTR. `-1` with EAGAIN is `.wouldBlock` (EWOULDBLOCK has the
    /// same value on Linux); with EBADF, EFAULT or ENOTSOCK it is a bug in the caller.
    @inline(__always)
    private static func retrying<T: BinaryInteger>(_ call: @autoclosure () -> String, _ body: () -> T)
        throws(SystemError) -> IOResult<T>
    {
        while true {
            let result = body()
            if result != -1 { return .processed(result) }
            let code = Glibc.errno
            switch code {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EBADF, EFAULT, ENOTSOCK:
                preconditionFailure("\(call()) failed with errno \(code): a bug in the caller, not a runtime error")
            default: throw SystemError(call: call(), errno: code)
            }
        }
    }

    /// For calls that cannot block (or are on blocking descriptors): "would block" is itself an error.
    @inline(__always)
    private static func blocking<T: BinaryInteger>(_ call: @autoclosure () -> String, _ body: () -> T)
        throws(SystemError) -> T
    {
        switch try retrying(call(), body) {
        case .processed(let value): return value
        case .wouldBlock: throw SystemError(call: call(), errno: EAGAIN)
        }
    }

    // MARK: Sockets

    /// A new TCP socket, non-blocking and close-on-exec.
    static func socket(domain: Int32) throws(SystemError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        return try blocking("socket", { Glibc.socket(domain, type, 0) })
    }

    /// Sets an integer socket option, e.g. `SO_REUSEADDR` or `TCP_NODELAY`.
    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32) throws(SystemError) {
        var value = value
        _ = try blocking("setsockopt(\(name))", {
            Glibc.setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        })
    }

    static func bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) throws(SystemError) {
        _ = try blocking("bind", { Glibc.bind(fd, address, length) })
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(SystemError) {
        _ = try blocking("listen", { Glibc.listen(fd, backlog) })
    }

    /// Connects a blocking socket (used by test clients; the server never connects).
    static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) throws(SystemError) {
        _ = try blocking("connect", { Glibc.connect(fd, address, length) })
    }

    /// The port a socket is bound to (IPv4 or IPv6), from `getsockname`.
    static func localPort(_ fd: Int32) throws(SystemError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(SystemError) in
                try blocking("getsockname", { Glibc.getsockname(fd, address, &length) })
            }
        }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port)) }
        case AF_INET6:
            return withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port)) }
        default:
            preconditionFailure("getsockname returned family \(storage.ss_family) for a TCP socket")
        }
    }

    /// Accepts one pending connection and makes it non-blocking and close-on-exec. Glibc's Swift module
    /// does not export `accept4` (it needs `_GNU_SOURCE`), hence the two `fcntl` calls, once per connection.
    static func accept(_ fd: Int32) throws(SystemError) -> IOResult<Int32> {
        guard case .processed(let client) = try retrying("accept", { Glibc.accept(fd, nil, nil) }) else {
            return .wouldBlock
        }
        do {
            _ = try blocking("fcntl(F_SETFL)", { Glibc.fcntl(client, F_SETFL, O_NONBLOCK) })
            _ = try blocking("fcntl(F_SETFD)", { Glibc.fcntl(client, F_SETFD, FD_CLOEXEC) })
        } catch {
            try? close(client)
            throw error
        }
        return .processed(client)
    }

    /// Reads at most `buffer.count` bytes; 0 means the peer closed its side.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try retrying("read", { Glibc.read(fd, buffer.baseAddress, buffer.count) })
    }

    /// Sends some of `bytes` on a socket. `MSG_NOSIGNAL`: a peer that has gone away gives EPIPE here instead
    /// of a SIGPIPE that would end the process.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try retrying("send", { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) })
    }

    /// Sends up to `count` bytes of the file `file` from `offset` (advanced by what was sent) to a socket.
    /// sendfile never raises SIGPIPE (only write(2) and send(2) without MSG_NOSIGNAL do on a socket).
    static func sendFile(_ socket: Int32, from file: Int32, offset: inout Int, count: Int) throws(SystemError)
        -> IOResult<Int>
    {
        var position = off_t(offset)
        let result = try retrying("sendfile", { Glibc.sendfile(socket, file, &position, count) })
        offset = Int(position)
        return result
    }

    /// `shutdown(SHUT_WR)`: sends FIN but keeps reading. ENOTCONN (the peer already reset) is not an error.
    static func shutdownOutput(_ fd: Int32) throws(SystemError) {
        do {
            _ = try blocking("shutdown", { Glibc.shutdown(fd, Int32(SHUT_WR)) })
        } catch where error.errno == ENOTCONN {
            return
        }
    }

    /// Closes `fd`. EINTR is not retried: Linux has released the descriptor by then, and a retry could
    /// close a number another thread has just been given (https://lwn.net/Articles/576478/; NIO's
    /// System.swift makes the same choice). EBADF means a double close, a bug. Other errors (EIO, and for
    /// files on some file systems ENOSPC) are reported; the descriptor is gone either way.
    static func close(_ fd: Int32) throws(SystemError) {
        guard Glibc.close(fd) == -1 else { return }
        let code = Glibc.errno
        precondition(code != EBADF, "close(\(fd)): EBADF, a descriptor closed twice")
        if code != EINTR { throw SystemError(call: "close", errno: code) }
    }

    // MARK: Files

    /// Opens `path`; `mode` matters only with `O_CREAT`. Close-on-exec is always added.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(SystemError) -> Int32 {
        try blocking("open(\(path))", { Glibc.open(path, flags | O_CLOEXEC, mode) })
    }

    /// Writes all of `bytes` to a regular file, looping over short writes (which happen near a full disk;
    /// the next write then reports ENOSPC).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            offset += try blocking("write", { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) })
        }
    }

    /// Flushes a file's (or a directory's) data and metadata to the disk.
    static func fsync(_ fd: Int32) throws(SystemError) {
        _ = try blocking("fsync", { Glibc.fsync(fd) })
    }

    /// The size in bytes of an open file.
    static func fileSize(_ fd: Int32) throws(SystemError) -> Int {
        var info = stat()
        _ = try blocking("fstat", { Glibc.fstat(fd, &info) })
        return Int(info.st_size)
    }

    /// Removes `path`; false if it did not exist (e.g. a handler moved it away).
    @discardableResult
    static func unlink(_ path: String) throws(SystemError) -> Bool {
        do {
            _ = try blocking("unlink(\(path))", { Glibc.unlink(path) })
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    // MARK: epoll and eventfd

    static func epollCreate() throws(SystemError) -> Int32 {
        try blocking("epoll_create1", { epoll_create1(Int32(EPOLL_CLOEXEC)) })
    }

    /// `epoll_ctl` with `EPOLL_CTL_ADD`, `_MOD` or `_DEL`; the event's data is the descriptor itself.
    static func epollControl(_ epoll: Int32, _ operation: Int32, _ fd: Int32, events: UInt32) throws(SystemError) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        _ = try blocking("epoll_ctl(\(operation), fd \(fd))", { epoll_ctl(epoll, operation, fd, &event) })
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for events. EINTR returns no events rather than
    /// retrying, so the caller recomputes its timeout from the clock.
    static func epollWait(
        _ epoll: Int32, into events: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32
    ) throws(SystemError) -> Int
    {
        let count = epoll_wait(epoll, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        if count >= 0 { return Int(count) }
        let code = Glibc.errno
        if code == EINTR { return 0 }
        precondition(code != EBADF && code != EFAULT, "epoll_wait failed with errno \(code): a bug")
        throw SystemError(call: "epoll_wait", errno: code)
    }

    /// A non-blocking, close-on-exec eventfd, used to wake the event loop from other threads.
    static func eventFD() throws(SystemError) -> Int32 {
        try blocking("eventfd", { CLinux.eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) })
    }

    /// Adds 1 to an eventfd's counter. "Would block" means the counter is at its maximum: already signalled.
    static func eventFDSignal(_ fd: Int32) throws(SystemError) {
        var one: UInt64 = 1
        _ = try retrying("write(eventfd)", { Glibc.write(fd, &one, 8) })
    }

    /// Resets an eventfd's counter to zero; "would block" means it was already zero.
    static func eventFDClear(_ fd: Int32) throws(SystemError) {
        var value: UInt64 = 0
        _ = try retrying("read(eventfd)", { Glibc.read(fd, &value, 8) })
    }
}
