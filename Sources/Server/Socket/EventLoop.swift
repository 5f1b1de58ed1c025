// The event loop: one thread waiting in epoll_wait, calling the handler registered for each ready
// descriptor, then the timers that are due. Everything it calls runs on that thread, so the connections it
// drives need no locks; other threads reach it only through an `EventLoopMailbox`.
import Glibc

/// An epoll-based loop. Created, run and closed on one thread, and used only from there: not Sendable.
final class EventLoop {
    /// Called with the events reported for a registered descriptor.
    typealias ReadinessHandler = (Epoll.Events) -> Void

    private let epoll: Epoll
    private var handlers: [Int32: ReadinessHandler] = [:]
    private var timers = TimerHeap<() -> Void>()
    private var isRunning = false
    /// The time of the current wake-up, read once after each epoll_wait so that all the work of one wake-up
    /// agrees on it (and a deadline computed from it is never in the past of a later `now`).
    private(set) var now: ContinuousClock.Instant

    init() throws(SystemError) {
        epoll = try Epoll()
        now = .now
    }

    /// Number of registered descriptors.
    var registrationCount: Int { handlers.count }

    /// Watches `fd` for `events`, calling `handler` on this thread when any is ready.
    func register(_ fd: Int32, for events: Epoll.Events, _ handler: @escaping ReadinessHandler) throws(SystemError) {
        precondition(handlers[fd] == nil, "fd \(fd) registered twice")
        try epoll.add(fd, events)
        handlers[fd] = handler
    }

    /// Changes what a registered `fd` is watched for.
    func update(_ fd: Int32, for events: Epoll.Events) throws(SystemError) {
        precondition(handlers[fd] != nil, "update of unregistered fd \(fd)")
        try epoll.modify(fd, events)
    }

    /// Stops watching `fd`; call it before closing `fd`. Events already fetched for `fd` in this wake-up are
    /// dropped, so a descriptor number reused later in the same batch never sees them.
    func deregister(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        // Fails only if fd is not registered or not open: a bug, since we just had it in `handlers`.
        do { try epoll.remove(fd) } catch { preconditionFailure("\(error)") }
    }

    /// Calls `action` on this thread once `deadline` has passed. There is no cancelling: the action checks
    /// whether it still matters (see `TimerHeap`).
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping () -> Void) {
        timers.push(action, at: deadline)
    }

    /// Runs until `stop()` is called from a handler or timer. Throws only if epoll itself fails.
    func run() throws(SystemError) {
        isRunning = true
        while isRunning {
            var isFirstEvent = true
            try epoll.wait(timeoutMilliseconds: waitTimeout()) { fd, events in
                if isFirstEvent {
                    now = .now
                    isFirstEvent = false
                }
                handlers[fd]?(events)
            }
            if isFirstEvent { now = .now }  // woken by the timeout alone
            while isRunning, let action = timers.popExpired(now: now) {
                action()
            }
        }
    }

    /// Makes `run()` return after the current handler or timer.
    func stop() {
        isRunning = false
    }

    /// Closes the epoll descriptor. Every registered descriptor must have been deregistered and closed by
    /// its owner first.
    func close() {
        precondition(handlers.isEmpty, "EventLoop closed with \(handlers.count) registrations left")
        try? epoll.close()
    }

    /// Milliseconds until the next timer, rounded up so that we never wake before it is due and spin;
    /// -1 (wait for I/O only) without timers.
    private func waitTimeout() -> Int32 {
        guard let deadline = timers.nextDeadline else { return -1 }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }
}
