// The half of the server that lives on the event loop thread: the listening socket (accepting, with back-off
// when descriptors or memory run out), the table of open connections and the cap on them, the mailbox
// through which handler results come back, and the graceful shutdown. Handlers run elsewhere, on a
// concurrent DispatchQueue, and see only Sendable values.
import Dispatch
import Foundation

/// The loop-thread state of a running `HTTPServer`. Created, run and dropped on that thread.
final class HTTPServerLoop {
    /// What other threads send to the loop.
    enum Message: Sendable {
        /// A handler returned `response` for the current request of connection `connectionID`.
        case handlerFinished(connectionID: Int, response: HTTPServerResponse)
        /// Stop accepting, finish requests in progress, then end the loop.
        case shutdown
    }

    /// Reused by every read on this thread; 64 KiB per read keeps a large upload to a few hundred reads.
    final class ReadBuffer {
        var bytes = [UInt8](repeating: 0, count: 64 * 1024)
    }

    let configuration: HTTPServerConfiguration
    let loop: EventLoop
    let readBuffer = ReadBuffer()
    private let metrics: HTTPServerMetrics
    private let handler: @Sendable (HTTPRequest) -> HTTPServerResponse
    private let handlerQueue = DispatchQueue(label: "http-server.handlers", attributes: .concurrent)
    private let mailbox: EventLoopMailbox<Message>
    private let listener: ListeningSocket
    private var connections: [Int: HTTPConnection] = [:]
    /// Open connections that count towards `maxConnections` (the 503 ones do not).
    private var servingCount = 0
    private var nextConnectionID = 0
    /// The current pause after a resource error from accept; doubles up to a second, reset by a success.
    private var acceptBackoff: Duration = HTTPServerLoop.initialBackoff
    private var isAcceptPaused = false
    private var isShuttingDown = false

    private static let initialBackoff: Duration = .milliseconds(10)
    private static let maxBackoff: Duration = .seconds(1)

    /// Binds the listener and registers it and the mailbox with a new loop. Call on the loop thread.
    init(configuration: HTTPServerConfiguration, mailbox: EventLoopMailbox<Message>, metrics: HTTPServerMetrics,
         handler: @escaping @Sendable (HTTPRequest) -> HTTPServerResponse) throws(SystemError) {
        self.configuration = configuration
        self.mailbox = mailbox
        self.metrics = metrics
        self.handler = handler
        loop = try EventLoop()
        do {
            listener = try ListeningSocket(host: configuration.host, port: configuration.port,
                                           backlog: configuration.listenBacklog)
        } catch {
            loop.close()
            throw error
        }
        do {
            try loop.register(listener.pollDescriptor!, for: .readable) { [unowned self] _ in acceptConnections() }
            try loop.register(mailbox.pollDescriptor, for: .readable) { [unowned self] _ in receiveMessages() }
        } catch {
            loop.deregister(listener.pollDescriptor!)
            try? listener.close()
            loop.close()
            throw error
        }
    }

    /// The port the listener is bound to.
    var port: Int { listener.port }

    /// Runs until shutdown completes (or epoll fails), then releases everything.
    func run() {
        do {
            try loop.run()
        } catch {
            // epoll_wait itself failed: nothing more can be served. Close what is open.
            for connection in connections.values { connection.abort() }
        }
        if let fd = listener.pollDescriptor {
            loop.deregister(fd)
            try? listener.close()
        }
        loop.deregister(mailbox.pollDescriptor)
        _ = mailbox.close()
        loop.close()
    }

    // MARK: Called by connections

    /// Runs the handler for `request` off the loop; the response comes back through the mailbox.
    func startHandler(_ request: HTTPRequest, connectionID: Int) {
        let handler = handler
        let mailbox = mailbox
        handlerQueue.async {
            let response = handler(request)
            // The server owns a body file until now; a handler that kept it has moved it away.
            if case .file(let url, _) = request.body { _ = try? System.unlink(url.path) }
            mailbox.post(.handlerFinished(connectionID: connectionID, response: response))
        }
    }

    /// A response was sent completely.
    func responseSent(_ entry: HTTPRequestLogEntry) {
        metrics.recordResponse(status: entry.status)
        configuration.requestLog?(entry)
    }

    func connectionClosed(_ connection: HTTPConnection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        if !connection.isRejection { servingCount -= 1 }
        metrics.connectionClosed()
        if isShuttingDown && connections.isEmpty { loop.stop() }
    }

    // MARK: Accepting

    /// Accepts what is waiting, at most 64 at a time so a flood of connects cannot starve open connections
    /// (the listener stays readable and the loop comes back to it).
    private func acceptConnections() {
        for _ in 0..<64 {
            let result: ListeningSocket.AcceptResult
            do {
                result = try listener.accept()
            } catch {
                // The listener itself is broken (should not happen); keep serving what is open, retry later.
                return pauseAccepting()
            }
            switch result {
            case .wouldBlock:
                return
            case .skipped:
                continue
            case .backOff:
                return pauseAccepting()
            case .accepted(let socket):
                acceptBackoff = Self.initialBackoff
                open(socket)
            }
        }
    }

    private func open(_ socket: Socket) {
        let isRejection = servingCount >= configuration.maxConnections
        // 503s are cheap but still hold a descriptor for up to the linger time; past as many again as the
        // cap, close at once rather than let a flood exhaust descriptors.
        guard let descriptor = try? socket.withDescriptor("register", { $0 }),
            !isRejection || connections.count - servingCount < configuration.maxConnections
        else {
            try? socket.close()
            return
        }
        try? socket.setNoDelay()
        nextConnectionID += 1
        let connection = HTTPConnection(id: nextConnectionID, socket: socket, descriptor: descriptor, server: self,
                                        isRejection: isRejection)
        connections[connection.id] = connection
        if !isRejection { servingCount += 1 }
        metrics.connectionOpened(rejected: isRejection)
        do {
            try connection.start()
        } catch {
            connection.abort()
        }
    }

    /// Stops watching the listener for a while (EMFILE and friends): the pending connection stays queued,
    /// so retrying at once would only spin. Open connections closing is what frees descriptors.
    private func pauseAccepting() {
        guard !isAcceptPaused, let fd = listener.pollDescriptor else { return }
        isAcceptPaused = true
        try? loop.update(fd, for: [])
        loop.schedule(at: loop.now + acceptBackoff) { [unowned self] in
            isAcceptPaused = false
            guard !isShuttingDown, let fd = listener.pollDescriptor else { return }
            try? loop.update(fd, for: .readable)
        }
        acceptBackoff = min(acceptBackoff * 2, Self.maxBackoff)
    }

    // MARK: Messages

    private func receiveMessages() {
        for message in mailbox.drain() {
            switch message {
            case .handlerFinished(let connectionID, let response):
                // The connection may have closed meanwhile (shutdown grace period over): drop the response.
                connections[connectionID]?.handlerFinished(response)
            case .shutdown:
                beginShutdown()
            }
        }
    }

    private func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        if let fd = listener.pollDescriptor {
            loop.deregister(fd)
            try? listener.close()
        }
        for connection in Array(connections.values) { connection.shutdown() }
        if connections.isEmpty { return loop.stop() }
        loop.schedule(at: loop.now + configuration.shutdownGracePeriod) { [unowned self] in
            for connection in Array(connections.values) { connection.abort() }
        }
    }
}
