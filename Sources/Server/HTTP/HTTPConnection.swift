// Drives one connection on the event loop: reads into the loop's shared buffer, feeds the parser, passes
// parser events and I/O outcomes to `HTTPConnectionStateMachine`, and carries out the actions it returns
// (store body bytes, start the handler, write, drain, close). It also keeps epoll interest and the timer in
// step with the machine's `isReading` and `deadline`. All decisions live in the machine; this is the I/O.
import Foundation
import Glibc

/// One client connection. Used only on the event loop thread.
final class HTTPConnection {
    typealias Machine = HTTPConnectionStateMachine

    /// Unique for the server's lifetime (descriptor numbers are reused; this is not).
    let id: Int
    /// Whether this connection only exists to be answered 503 (over the connection cap).
    let isRejection: Bool
    private let socket: Socket
    private let descriptor: Int32
    private unowned let server: HTTPServerLoop
    private var parser: HTTPRequestParser
    private var machine: Machine
    private var body: RequestBodyWriter?
    private var output = HTTPOutputQueue()
    /// The response being written, for the log and counters once it is all sent.
    private var responseInFlight: HTTPRequestLogEntry?
    private var responseStart: ContinuousClock.Instant?
    /// What epoll watches for. Readable interest is dropped lazily, only when a read event arrives that we
    /// do not want, which saves two epoll_ctl calls per request for clients that do not pipeline.
    private var interest: Epoll.Events = .readable
    /// The earliest deadline a loop timer is pending for (see `TimerHeap` on stale timers).
    private var scheduledTimer: ContinuousClock.Instant?

    init(id: Int, socket: Socket, descriptor: Int32, server: HTTPServerLoop, isRejection: Bool) {
        self.id = id
        self.socket = socket
        self.descriptor = descriptor
        self.server = server
        self.isRejection = isRejection
        parser = HTTPRequestParser(limits: server.configuration.limits)
        machine = Machine(timeouts: server.configuration.timeouts, now: server.loop.now,
                          admit: server.configuration.admit)
    }

    /// Registers with the loop; a rejection connection is answered 503 at once.
    func start() throws(SystemError) {
        try server.loop.register(descriptor, for: interest) { [unowned self] events in handle(events) }
        if isRejection {
            let response = HTTPResponse.error(
                status: 503, code: "too_many_connections",
                message: "the server is serving its maximum of \(server.configuration.maxConnections) connections")
            perform(machine.reject(response, now: server.loop.now))
        }
        settle()
    }

    // MARK: Inputs from the loop

    /// The handler's response for the current request.
    func handlerFinished(_ response: HTTPServerResponse) {
        perform(machine.handlerFinished(response, now: server.loop.now))
        settle()
    }

    /// The server is stopping: finish the request in progress, then close.
    func shutdown() {
        perform(machine.shutdownRequested())
        settle()
    }

    /// Closes at once (shutdown grace period over).
    func abort() {
        perform(machine.ioFailed())
    }

    private func handle(_ events: Epoll.Events) {
        if !events.isDisjoint(with: [.writable, .errorOrHangUp]), !output.isEmpty {
            flush()
        }
        if !events.isDisjoint(with: [.readable, .errorOrHangUp]), socket.isOpen {
            if machine.isReading {
                read()
            } else if !events.isDisjoint(with: .errorOrHangUp) {
                // Not reading, yet the socket is reset or hung up: nothing can be sent any more, and a
                // level-triggered HUP would be reported again and again.
                perform(machine.ioFailed())
            } else {
                updateInterest(dropUnwantedReadable: true)
            }
        }
        settle()
    }

    private func timerFired(for deadline: ContinuousClock.Instant) {
        guard deadline == scheduledTimer else { return }  // superseded by an earlier one
        scheduledTimer = nil
        perform(machine.timerFired(now: server.loop.now))
        settle()
    }

    private func read() {
        let now = server.loop.now
        let buffer = server.readBuffer
        let result: IOResult<Int>
        do {
            result = try buffer.bytes.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) in try socket.read(into: raw) }
            }.get()
        } catch {
            perform(machine.ioFailed())
            return
        }
        guard case .processed(let count) = result else { return }
        guard count > 0 else {
            perform(machine.peerClosed())
            return
        }
        if machine.state == .draining { return }  // discarded: the connection is ending
        machine.bytesReceived(now: now)
        let events = parser.feed(buffer.bytes[..<count])
        perform(machine.parsed(events, now: now))
    }

    // MARK: Actions

    /// Carries out `actions` in order. If one fails, its failure goes to the machine and the rest of the
    /// batch is dropped: every failure input ends the connection (a final response, or an immediate close),
    /// so no later action of the old batch still applies.
    private func perform(_ actions: [Machine.Action]) {
        for action in actions {
            switch action {
            case .sendContinue:
                output.append(HTTPResponse.continueBytes)
            case .prepareBody(let storage, let contentLength):
                body = RequestBodyWriter(directory: server.configuration.temporaryDirectory.path,
                                         memoryLimit: server.configuration.memoryBodyLimit,
                                         storage: storage, contentLength: contentLength)
            case .storeBody(let bytes):
                do {
                    try body!.append(bytes)
                } catch {
                    body = nil  // the writer removed its file
                    return perform(machine.bodyStorageFailed(error.response, now: server.loop.now))
                }
            case .discardBody:
                body?.discard()
                body = nil
            case .startHandler(let head):
                let stored: RequestBody
                do {
                    stored = try body?.finish() ?? .none
                    body = nil
                } catch {
                    body = nil
                    return perform(machine.bodyStorageFailed(error.response, now: server.loop.now))
                }
                server.startHandler(HTTPRequest(head: head, body: stored), connectionID: id)
            case .writeResponse(let response):
                write(response)
            case .closeOutputAndDrain:
                try? socket.shutdownOutput()
            case .close:
                close()
                return
            }
        }
    }

    /// Serializes `response` into the output queue. A response that cannot be written as asked (a reserved or
    /// invalid header from the handler, a file that will not open) becomes a 500.
    private func write(_ toWrite: Machine.ResponseToWrite) {
        var status = toWrite.response.status
        var bodyBytes = 0
        do {
            switch toWrite.response {
            case .response(let response):
                output.append(try response.serialized(keepAlive: toWrite.keepAlive, omitBody: toWrite.omitBody))
                bodyBytes = toWrite.omitBody ? 0 : response.body.count
            case .file(let fileStatus, let headers, let path):
                let file = try System.open(path, flags: O_RDONLY)
                do {
                    let size = try System.fileSize(file)
                    output.append(try HTTPResponse.head(status: fileStatus, headers: headers, contentLength: size,
                                                        keepAlive: toWrite.keepAlive))
                    bodyBytes = toWrite.omitBody ? 0 : size
                    output.appendFile(descriptor: file, length: bodyBytes)
                } catch {
                    try? System.close(file)
                    throw error
                }
            }
        } catch {
            let fallback = HTTPResponse.error(status: 500, code: "invalid_response",
                                              message: "the handler's response could not be sent")
            // Cannot throw: a fixed status and a JSON body with a valid Content-Type.
            output.append(try! fallback.serialized(keepAlive: toWrite.keepAlive, omitBody: toWrite.omitBody))
            status = 500
            bodyBytes = toWrite.omitBody ? 0 : fallback.body.count
        }
        responseInFlight = HTTPRequestLogEntry(
            method: toWrite.request?.method.rawValue ?? "-", path: toWrite.request?.path ?? "-",
            status: status, bodyBytes: bodyBytes, duration: .zero)
        responseStart = toWrite.requestStart
    }

    /// Writes what is queued; when a response is complete, logs it and tells the machine, which may start
    /// the next pipelined request or queue another response.
    private func flush() {
        while socket.isOpen {
            let result: HTTPOutputQueue.FlushResult
            do {
                result = try output.flush(to: socket)
            } catch {
                output.removeAll()
                return perform(machine.ioFailed())
            }
            if case .blocked(let progressed) = result {
                if progressed { machine.writeProgressed(now: server.loop.now) }
                return
            }
            guard var entry = responseInFlight, let start = responseStart else { return }
            responseInFlight = nil
            entry.duration = server.loop.now - start
            server.responseSent(entry)
            perform(machine.writeFinished(now: server.loop.now))
        }
    }

    /// After any input: send what the actions queued, then bring epoll interest and the timer in line with
    /// the machine.
    private func settle() {
        guard socket.isOpen else { return }
        if !output.isEmpty { flush() }
        guard socket.isOpen else { return }
        updateInterest(dropUnwantedReadable: false)
        if let deadline = machine.deadline, scheduledTimer.map({ deadline < $0 }) ?? true {
            scheduledTimer = deadline
            server.loop.schedule(at: deadline) { [weak self] in self?.timerFired(for: deadline) }
        }
    }

    private func updateInterest(dropUnwantedReadable: Bool) {
        var wanted: Epoll.Events = output.isEmpty ? [] : .writable
        if machine.isReading || (interest.contains(.readable) && !dropUnwantedReadable) {
            wanted.insert(.readable)
        }
        guard wanted != interest else { return }
        do {
            try server.loop.update(descriptor, for: wanted)
            interest = wanted
        } catch {
            perform(machine.ioFailed())
        }
    }

    private func close() {
        guard socket.isOpen else { return }
        server.loop.deregister(descriptor)
        try? socket.close()
        body?.discard()
        body = nil
        output.removeAll()
        server.connectionClosed(self)
    }
}
