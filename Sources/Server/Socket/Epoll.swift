// One epoll instance, level-triggered: a descriptor is reported for as long as it is readable (or writable),
// so a handler that reads only part of what is waiting is simply called again, and nothing is lost when a
// connection pauses reading. The event loop is its only user.
import CLinux
import Glibc

/// An epoll instance. Owns its descriptor; used from the event loop's thread only.
final class Epoll {
    /// Readiness to wait for, or that was reported.
    struct Events: OptionSet, Sendable {
        let rawValue: UInt32
        static let readable = Events(rawValue: EPOLLIN.rawValue)
        static let writable = Events(rawValue: EPOLLOUT.rawValue)
        /// Reported whether asked for or not (EPOLLERR, EPOLLHUP). The owner should read (or write): the call
        /// returns the error or end of stream.
        static let errorOrHangUp = Events(rawValue: EPOLLERR.rawValue | EPOLLHUP.rawValue)
    }

    /// The descriptor, or -1 once closed.
    private var descriptor: Int32
    /// Where `epoll_wait` writes; its size caps the events handled per wake-up.
    private var buffer: [epoll_event]

    init(maxEventsPerWait: Int = 256) throws(SystemError) {
        descriptor = try System.epollCreate()
        buffer = Array(repeating: epoll_event(), count: maxEventsPerWait)
    }

    deinit {
        assert(descriptor < 0, "leak of an open Epoll (fd \(descriptor)): close() was never called")
    }

    /// Starts watching `fd` for `events`.
    func add(_ fd: Int32, _ events: Events) throws(SystemError) {
        try System.epollControl(descriptor, EPOLL_CTL_ADD, fd, events: events.rawValue)
    }

    /// Changes what `fd` is watched for (an empty set keeps it registered but silent).
    func modify(_ fd: Int32, _ events: Events) throws(SystemError) {
        try System.epollControl(descriptor, EPOLL_CTL_MOD, fd, events: events.rawValue)
    }

    /// Stops watching `fd`. Call before closing it, so that the number is free of stale registrations.
    func remove(_ fd: Int32) throws(SystemError) {
        try System.epollControl(descriptor, EPOLL_CTL_DEL, fd, events: 0)
    }

    /// Waits until a descriptor is ready or `timeoutMilliseconds` pass (-1: no limit), then calls `body`
    /// for each (descriptor, events) reported.
    func wait(timeoutMilliseconds: Int32, _ body: (Int32, Events) -> Void) throws(SystemError) {
        let count = try buffer.withUnsafeMutableBufferPointer { (events) throws(SystemError) in
            try System.epollWait(descriptor, into: events, timeoutMilliseconds: timeoutMilliseconds)
        }
        for index in 0..<count {
            let event = buffer[index]
            body(event.data.fd, Events(rawValue: event.events))
        }
    }

    func close() throws(SystemError) {
        guard descriptor >= 0 else { throw SystemError(call: "close on a closed epoll", errno: EBADF) }
        let fd = descriptor
        descriptor = -1
        try System.close(fd)
    }
}
