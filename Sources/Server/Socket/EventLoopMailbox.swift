// How other threads talk to the event loop: they post a message (plain Sendable data, never a reference to
// loop-owned state) and the loop drains the queue when the mailbox's eventfd wakes it. The eventfd is
// signalled only when the queue goes from empty to non-empty, so a burst of posts costs one wake-up.
import Synchronization

/// A thread-safe message queue with an eventfd the event loop polls.
final class EventLoopMailbox<Message: Sendable>: Sendable {
    private struct State {
        var messages: [Message] = []
        /// The eventfd, or -1 once closed: posting then fails instead of writing to a reused number.
        var descriptor: Int32
    }

    private let state: Mutex<State>
    /// The eventfd, fixed at creation, for registering with epoll. Only the loop uses it, before `close()`.
    let pollDescriptor: Int32

    init() throws(SystemError) {
        let fd = try System.eventFD()
        pollDescriptor = fd
        state = Mutex(State(descriptor: fd))
    }

    /// Queues `message` and wakes the loop. Returns false (and drops the message) once the mailbox is
    /// closed, i.e. the loop has finished. Callable from any thread.
    @discardableResult
    func post(_ message: sending Message) -> Bool {
        state.withLock { state in
            guard state.descriptor >= 0 else { return false }
            state.messages.append(message)
            if state.messages.count == 1 {
                // An eventfd write cannot fail on a valid descriptor except by "would block" at a counter
                // of 2^64-2, which still leaves it readable; so an error here is a bug.
                do { try System.eventFDSignal(state.descriptor) } catch { preconditionFailure("\(error)") }
            }
            return true
        }
    }

    /// Takes every queued message and clears the wake-up signal. Called by the loop when the eventfd is
    /// readable.
    func drain() -> [Message] {
        state.withLock { state in
            guard state.descriptor >= 0 else { return [] }
            do { try System.eventFDClear(state.descriptor) } catch { preconditionFailure("\(error)") }
            let messages = state.messages
            state.messages = []
            return messages
        }
    }

    /// Closes the eventfd; later posts return false. Returns the messages nobody will drain.
    func close() -> [Message] {
        state.withLock { state in
            guard state.descriptor >= 0 else { return [] }
            try? System.close(state.descriptor)
            state.descriptor = -1
            let messages = state.messages
            state.messages = []
            return messages
        }
    }
}
