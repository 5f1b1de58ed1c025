// The HTTP/1.1 server the app uses: `start()` binds and starts the event loop thread, `shutdown()` stops
// accepting, lets requests in progress finish, and waits for the thread. Handlers run on a concurrent
// DispatchQueue, never on the loop thread, so a slow handler delays only its own connection.
import Dispatch
import Foundation
import Synchronization

/// An HTTP/1.1 server on one epoll event loop thread (see `HTTPServerLoop`, `HTTPConnection`).
///
/// ```swift
/// let server = HTTPServer(configuration: configuration) { request in
///     .response(.json("{\"ok\":true}"))
/// }
/// let port = try server.start()
/// …
/// server.shutdown()
/// ```
final class HTTPServer: Sendable {
    private enum Lifecycle {
        case notStarted
        /// `start()` is binding. A `shutdown()` now marks the server stopped, and `start()` then stops the
        /// loop it has just started.
        case starting
        case running(mailbox: EventLoopMailbox<HTTPServerLoop.Message>, finished: DispatchSemaphore)
        case stopped
    }

    let configuration: HTTPServerConfiguration
    /// Counters for /metrics.
    let metrics: HTTPServerMetrics
    private let handler: @Sendable (HTTPRequest) -> HTTPServerResponse
    private let lifecycle = Mutex(Lifecycle.notStarted)

    /// - Parameter handler: called on a concurrent queue for every complete request. The request's body
    ///   file, if any, is deleted when it returns unless the handler moved it.
    init(configuration: HTTPServerConfiguration, metrics: HTTPServerMetrics = HTTPServerMetrics(),
         handler: @escaping @Sendable (HTTPRequest) -> HTTPServerResponse) {
        self.configuration = configuration
        self.metrics = metrics
        self.handler = handler
    }

    /// Creates the temporary directory, binds, starts the loop thread and returns the bound port (the
    /// kernel's choice when the configured port is 0). A server starts at most once: a second call, or a
    /// call after a failed one, throws; make a new `HTTPServer` to try again.
    @discardableResult
    func start() throws -> Int {
        let isFirstStart = lifecycle.withLock { state in
            guard case .notStarted = state else { return false }
            state = .starting
            return true
        }
        guard isFirstStart else { throw SystemError(call: "HTTPServer.start (already started)", errno: EALREADY) }
        let (port, mailbox, finished): (Int, EventLoopMailbox<HTTPServerLoop.Message>, DispatchSemaphore)
        do {
            (port, mailbox, finished) = try launch()
        } catch {
            lifecycle.withLock { $0 = .stopped }
            throw error
        }
        let stillWanted = lifecycle.withLock { state in
            guard case .starting = state else { return false }  // shutdown() was called meanwhile
            state = .running(mailbox: mailbox, finished: finished)
            return true
        }
        guard stillWanted else {
            mailbox.post(.shutdown)
            finished.wait()
            throw SystemError(call: "HTTPServer.start (shut down while starting)", errno: ECANCELED)
        }
        return port
    }

    /// Creates the directory and the mailbox, starts the loop thread and waits for it to bind.
    private func launch() throws -> (Int, EventLoopMailbox<HTTPServerLoop.Message>, DispatchSemaphore) {
        try FileManager.default.createDirectory(at: configuration.temporaryDirectory,
                                                withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let mailbox = try EventLoopMailbox<HTTPServerLoop.Message>()
        let startup = StartupResult()
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread { [configuration, metrics, handler] in
            // Everything the loop owns is created on its own thread and never leaves it.
            let core: HTTPServerLoop
            do throws(SystemError) {
                core = try HTTPServerLoop(configuration: configuration, mailbox: mailbox, metrics: metrics,
                                          handler: handler)
            } catch {
                _ = mailbox.close()
                startup.report(.failure(error))
                finished.signal()
                return
            }
            startup.report(.success(core.port))
            core.run()
            finished.signal()
        }
        thread.name = "http-event-loop"
        thread.start()
        return (try startup.wait().get(), mailbox, finished)
    }

    /// Stops accepting, lets requests in progress finish (up to `shutdownGracePeriod`), closes every
    /// connection and waits for the loop thread to end. Safe to call more than once, or before `start()`.
    func shutdown() {
        typealias Running = (EventLoopMailbox<HTTPServerLoop.Message>, DispatchSemaphore)
        let running = lifecycle.withLock { state -> Running? in
            defer { state = .stopped }
            if case .running(let mailbox, let finished) = state { return (mailbox, finished) }
            return nil
        }
        guard let (mailbox, finished) = running else { return }
        mailbox.post(.shutdown)
        finished.wait()
    }
}

/// The loop thread's report of whether it could bind, waited for by `start()`.
private final class StartupResult: Sendable {
    private let result = Mutex<Result<Int, SystemError>?>(nil)
    private let ready = DispatchSemaphore(value: 0)

    func report(_ outcome: Result<Int, SystemError>) {
        result.withLock { $0 = outcome }
        ready.signal()
    }

    func wait() -> Result<Int, SystemError> {
        ready.wait()
        return result.withLock { $0! }
    }
}
