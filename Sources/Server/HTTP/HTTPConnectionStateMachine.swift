// The lifecycle of one HTTP/1.1 connection as a pure state machine (as Hummingbird's
// `HTTPConnectionStateHandler`): inputs are parser events, handler and write completions, timer firings and
// the peer closing; outputs are actions for the caller (`HTTPConnection`) to carry out, plus the current
// deadline and whether to read. It does no I/O and never reads a clock, so tests drive it with a fake one.

/// One connection's state: keep-alive, pipelining, `100-continue`, timeouts, error replies, shutdown.
///
/// Requests are answered strictly in order. While a request is handled or its response written, the
/// connection does not read (backpressure: a client cannot make us buffer more than one read of pipelined
/// requests); events already parsed for later requests wait in `pending` and are replayed after the
/// response. A protocol error, a timeout or a rejected head is answered once with `Connection: close`;
/// after any final response that closes, the output side is shut and input drained until the peer closes or
/// the linger deadline passes.
struct HTTPConnectionStateMachine {
    /// A response for the caller to serialize and write, with the decisions made about it.
    struct ResponseToWrite: Equatable {
        var response: HTTPServerResponse
        /// `Connection: keep-alive` (another request may follow) or `close`.
        var keepAlive: Bool
        /// HEAD: the same fields, no body (RFC 9110 §9.3.2).
        var omitBody: Bool
        /// The request answered; nil when none was complete (early protocol error, timeout, 503).
        var request: HTTPRequestHead?
        /// When the request's first byte arrived (or the connection was accepted), for the log.
        var requestStart: ContinuousClock.Instant
    }

    /// What the caller must do, in order.
    enum Action: Equatable {
        /// Write `HTTP/1.1 100 Continue` now.
        case sendContinue
        /// A body follows: get ready to store it (in memory, or on disk if `storage` says so or
        /// `contentLength` is over the memory limit).
        case prepareBody(HTTPBodyStorage, contentLength: Int?)
        /// Store these body bytes of the current request.
        case storeBody(ArraySlice<UInt8>)
        /// Drop what was stored of the current request's body (delete its temporary file).
        case discardBody
        /// The request is complete: give it, with its stored body, to the handler.
        case startHandler(HTTPRequestHead)
        /// Write this response, then report `writeFinished`.
        case writeResponse(ResponseToWrite)
        /// Shut the output side (FIN) and keep reading, discarding, until the peer closes or time runs out.
        case closeOutputAndDrain
        /// Close the socket.
        case close
    }

    /// Where the connection is.
    enum State: Equatable {
        /// Waiting for the first byte of a request.
        case idle
        /// Part of a request head has arrived.
        case readingHead
        /// Reading the body of this admitted request (or about to see its `.end`).
        case readingBody(HTTPRequestHead)
        /// The handler is working on this request. Not reading; no timer.
        case handling(HTTPRequestHead)
        /// Writing a response. Not reading.
        case writing(keepAlive: Bool)
        /// The last response is written and our side shut; discarding input until the peer closes.
        case draining
        case closed
    }

    let timeouts: HTTPTimeouts
    /// Decides on heads that announce a body (see `HTTPServerConfiguration.admit`).
    let admit: @Sendable (HTTPRequestHead) -> HTTPAdmission

    private(set) var state: State = .idle
    /// When `timerFired` will act; nil when nothing is timed (while handling).
    private(set) var deadline: ContinuousClock.Instant?
    /// Parser events for later requests, received while the current one is handled or answered.
    private(set) var pending: [HTTPParserEvent] = []
    /// First byte of the current request, or the connection's start.
    private var requestStart: ContinuousClock.Instant
    /// Set by `shutdownRequested`: finish the current request, then close.
    private(set) var isShuttingDown = false

    /// A connection accepted at `now`. Its first request gets the header timeout from the start, so a
    /// client that connects and sends nothing is cut off as soon as a slow one would be.
    init(timeouts: HTTPTimeouts, now: ContinuousClock.Instant,
         admit: @escaping @Sendable (HTTPRequestHead) -> HTTPAdmission = { _ in .accept(.automatic) }) {
        self.timeouts = timeouts
        self.admit = admit
        self.requestStart = now
        self.deadline = now + timeouts.header
    }

    /// Whether the caller should read from the socket now.
    var isReading: Bool {
        switch state {
        case .idle, .readingHead, .readingBody, .draining: return true
        case .handling, .writing, .closed: return false
        }
    }

    // MARK: Inputs

    /// Answers a connection over the cap at once; call instead of any other input, right after `init`.
    mutating func reject(_ response: HTTPResponse, now: ContinuousClock.Instant) -> [Action] {
        precondition(state == .idle, "reject(_:now:) on a connection in state \(state)")
        return respondAndClose(.response(response), request: nil, now: now)
    }

    /// Some bytes arrived (before they are parsed): starts the header clock of a new request.
    mutating func bytesReceived(now: ContinuousClock.Instant) {
        guard state == .idle else { return }
        state = .readingHead
        requestStart = now
        deadline = now + timeouts.header
    }

    /// The parser's events for the bytes just read, in order.
    mutating func parsed(_ events: [HTTPParserEvent], now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        for event in events {
            switch state {
            case .idle, .readingHead, .readingBody:
                actions += receive(event, now: now)
            case .handling, .writing(keepAlive: true):
                pending.append(Self.detached(event))
            case .writing(keepAlive: false), .draining, .closed:
                return actions  // the connection is ending; later requests are not answered
            }
        }
        return actions
    }

    /// The handler returned `response` for the current request.
    mutating func handlerFinished(_ response: HTTPServerResponse, now: ContinuousClock.Instant) -> [Action] {
        guard case .handling(let head) = state else {
            precondition(state == .closed, "handlerFinished in state \(state)")
            return []
        }
        let keepAlive = head.keepAlive && !isShuttingDown
        state = .writing(keepAlive: keepAlive)
        deadline = now + timeouts.write
        return [.writeResponse(ResponseToWrite(response: response, keepAlive: keepAlive,
                                               omitBody: head.method == .head, request: head,
                                               requestStart: requestStart))]
    }

    /// Part of a response was written and the rest waits for the socket: the client is still reading, so
    /// the write timeout starts again.
    mutating func writeProgressed(now: ContinuousClock.Instant) {
        if case .writing = state { deadline = now + timeouts.write }
    }

    /// The response from the last `.writeResponse` is fully written.
    mutating func writeFinished(now: ContinuousClock.Instant) -> [Action] {
        guard case .writing(let keepAlive) = state else { return [] }
        guard keepAlive else {
            state = .draining
            deadline = now + timeouts.linger
            return [.closeOutputAndDrain]
        }
        state = .idle
        requestStart = now
        deadline = now + timeouts.keepAlive
        guard !pending.isEmpty else { return [] }
        // The next request's bytes arrived long ago; its header clock starts now, when we look at it.
        bytesReceived(now: now)
        let events = pending
        pending = []
        return parsed(events, now: now)
    }

    /// A timer set for `deadline` fired at `now`. Early or stale firings do nothing.
    mutating func timerFired(now: ContinuousClock.Instant) -> [Action] {
        guard let deadline, now >= deadline else { return [] }
        switch state {
        case .idle:
            return closeNow()  // nothing was asked, so nothing is owed
        case .readingHead:
            return respondAndClose(
                .response(.error(status: 408, code: "request_timeout",
                                 message: "request head not received within \(Self.seconds(timeouts.header))")),
                request: nil, now: now)
        case .readingBody(let head):
            return [.discardBody] + respondAndClose(
                .response(.error(status: 408, code: "request_timeout",
                                 message: "no request body bytes received for \(Self.seconds(timeouts.bodyIdle))")),
                request: head, now: now)
        case .writing, .draining:
            return closeNow()  // the client stopped reading, or never closed after our last response
        case .handling, .closed:
            preconditionFailure("a deadline in state \(state)")
        }
    }

    /// The peer closed its side (read returned 0).
    mutating func peerClosed() -> [Action] {
        if case .readingBody = state { return [.discardBody] + closeNow() }
        return closeNow()
    }

    /// Reading or writing failed (reset, broken pipe): the connection is unusable.
    mutating func ioFailed() -> [Action] {
        peerClosed()
    }

    /// Storing the body failed (disk full, …): answer with `response` and close. Valid while reading the
    /// body, or in `handling` when the body could not be completed before the handler was started.
    mutating func bodyStorageFailed(_ response: HTTPResponse, now: ContinuousClock.Instant) -> [Action] {
        switch state {
        case .readingBody(let head), .handling(let head):
            return [.discardBody] + respondAndClose(.response(response), request: head, now: now)
        default:
            preconditionFailure("bodyStorageFailed in state \(state)")
        }
    }

    /// The server is stopping: idle connections close now; a request in progress is finished and answered
    /// with `Connection: close`; pipelined requests not yet started are dropped.
    mutating func shutdownRequested() -> [Action] {
        isShuttingDown = true
        pending = []
        switch state {
        case .idle: return closeNow()
        case .writing(keepAlive: true): state = .writing(keepAlive: false)
        default: break
        }
        return []
    }

    // MARK: Transitions

    /// One parser event in a reading state.
    private mutating func receive(_ event: HTTPParserEvent, now: ContinuousClock.Instant) -> [Action] {
        switch (event, state) {
        case (.head(let head), .idle), (.head(let head), .readingHead):
            if state == .idle { requestStart = now }
            var actions: [Action] = []
            if Self.hasBody(head) {
                switch admit(head) {
                case .reject(let response):
                    return respondAndClose(.response(response), request: head, now: now)
                case .accept(let storage):
                    actions.append(.prepareBody(storage, contentLength: head.contentLength))
                    // RFC 9110 §10.1.1: 100 only once we know we want the body.
                    if head.expectsContinue { actions.append(.sendContinue) }
                }
            }
            state = .readingBody(head)
            deadline = now + timeouts.bodyIdle
            return actions
        case (.body(let bytes), .readingBody):
            deadline = now + timeouts.bodyIdle
            return [.storeBody(bytes)]
        case (.end, .readingBody(let head)):
            state = .handling(head)
            deadline = nil
            return [.startHandler(head)]
        case (.error(let error), .readingBody(let head)):
            return [.discardBody] + respondAndClose(.response(HTTPResponse(error)), request: head, now: now)
        case (.error(let error), _):
            return respondAndClose(.response(HTTPResponse(error)), request: nil, now: now)
        default:
            preconditionFailure("parser event \(event) in state \(state): the parser emits head, body…, end")
        }
    }

    /// The final response of this connection, sent whether or not the request was complete.
    private mutating func respondAndClose(_ response: HTTPServerResponse, request: HTTPRequestHead?,
                                          now: ContinuousClock.Instant) -> [Action] {
        pending = []
        state = .writing(keepAlive: false)
        deadline = now + timeouts.write
        return [.writeResponse(ResponseToWrite(response: response, keepAlive: false,
                                               omitBody: request?.method == .head, request: request,
                                               requestStart: requestStart))]
    }

    private mutating func closeNow() -> [Action] {
        guard state != .closed else { return [] }
        state = .closed
        deadline = nil
        pending = []
        return [.close]
    }

    /// Whether the head announces body bytes (a `Content-Length` above 0, or chunked).
    private static func hasBody(_ head: HTTPRequestHead) -> Bool {
        head.contentLength.map { $0 > 0 } ?? true
    }

    /// `event` with its body bytes copied out of the read buffer, which the caller reuses for the next read.
    private static func detached(_ event: HTTPParserEvent) -> HTTPParserEvent {
        guard case .body(let bytes) = event else { return event }
        return .body(ArraySlice(Array(bytes)))
    }

    /// "10 s", "1.5 s" for messages.
    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}
