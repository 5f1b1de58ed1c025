// The connection state machine without sockets, driven by a fake clock (instants built from a fixed start):
// keep-alive, pipelining order, the `100-continue` paths, each timeout at its deadline and not a nanosecond
// before, protocol errors answered once then closed, disk failures, shutdown and the 503 path.
import XCTest

@testable import Server

final class HTTPConnectionStateMachineTests: XCTestCase {
    typealias Machine = HTTPConnectionStateMachine

    /// The fake clock's zero; every instant in these tests is `t0 + something`.
    private let t0 = ContinuousClock.now
    private let timeouts = HTTPTimeouts(header: .seconds(10), bodyIdle: .seconds(20), keepAlive: .seconds(30),
                                        write: .seconds(40), linger: .seconds(2))

    private func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int(seconds * 1000)) }

    private func machine(admit: @escaping @Sendable (HTTPRequestHead) -> HTTPAdmission = { _ in .accept(.automatic) })
        -> Machine
    {
        Machine(timeouts: timeouts, now: t0, admit: admit)
    }

    /// The parser's events for `text` (with `\n` line ends turned into CRLF).
    private func events(_ text: String, limits: HTTPLimits = .default) -> [HTTPParserEvent] {
        var parser = HTTPRequestParser(limits: limits)
        return parser.feed(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
    }

    private func head(_ text: String) -> HTTPRequestHead {
        guard case .head(let head) = events(text).first else { preconditionFailure("no head in \(text)") }
        return head
    }

    private let ok = HTTPServerResponse.response(HTTPResponse(status: 200, body: Array("ok".utf8)))

    /// The `.writeResponse` in `actions`, if exactly one.
    private func written(_ actions: [Machine.Action]) -> Machine.ResponseToWrite? {
        let writes = actions.compactMap { action -> Machine.ResponseToWrite? in
            if case .writeResponse(let response) = action { return response }
            return nil
        }
        return writes.count == 1 ? writes[0] : nil
    }

    // MARK: Keep-alive

    func testKeepAliveRequestIsHandledAnsweredAndConnectionWaitsForTheNext() {
        var m = machine()
        m.bytesReceived(now: at(1))
        let get = head("GET /a HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(m.parsed(events("GET /a HTTP/1.1\nHost: x\n\n"), now: at(1)), [.startHandler(get)])
        XCTAssertFalse(m.isReading, "no reading while the handler runs (backpressure)")
        XCTAssertNil(m.deadline, "the handler has no time limit here")

        let response = written(m.handlerFinished(ok, now: at(3)))
        XCTAssertEqual(response?.keepAlive, true)
        XCTAssertEqual(response?.omitBody, false)
        XCTAssertEqual(response?.requestStart, at(1))
        XCTAssertEqual(m.deadline, at(3) + timeouts.write)

        XCTAssertEqual(m.writeFinished(now: at(4)), [])
        XCTAssertEqual(m.state, .idle)
        XCTAssertTrue(m.isReading)
        XCTAssertEqual(m.deadline, at(4) + timeouts.keepAlive)
    }

    func testIdleKeepAliveConnectionClosesSilentlyAtTheDeadlineAndNotBefore() {
        var m = machine()
        _ = m.parsed(events("GET / HTTP/1.1\nHost: x\n\n"), now: at(0))
        _ = m.handlerFinished(ok, now: at(0))
        _ = m.writeFinished(now: at(1))
        let deadline = at(1) + timeouts.keepAlive
        XCTAssertEqual(m.timerFired(now: deadline - .nanoseconds(1)), [])
        XCTAssertEqual(m.state, .idle)
        XCTAssertEqual(m.timerFired(now: deadline), [.close], "closed without a response: nothing was asked")
    }

    func testHTTP10WithoutKeepAliveIsAnsweredWithCloseThenDrained() {
        var m = machine()
        _ = m.parsed(events("GET / HTTP/1.0\n\n"), now: at(0))
        XCTAssertEqual(written(m.handlerFinished(ok, now: at(0)))?.keepAlive, false)
        XCTAssertEqual(m.writeFinished(now: at(1)), [.closeOutputAndDrain])
        XCTAssertEqual(m.state, .draining)
        XCTAssertTrue(m.isReading, "draining reads (and discards) until the peer closes")
        XCTAssertEqual(m.timerFired(now: at(1) + timeouts.linger - .nanoseconds(1)), [])
        XCTAssertEqual(m.timerFired(now: at(1) + timeouts.linger), [.close])
    }

    func testHTTP10KeepAliveKeepsTheConnection() {
        var m = machine()
        _ = m.parsed(events("GET / HTTP/1.0\nConnection: keep-alive\n\n"), now: at(0))
        XCTAssertEqual(written(m.handlerFinished(ok, now: at(0)))?.keepAlive, true)
    }

    func testHeadRequestIsAnsweredWithoutBody() {
        var m = machine()
        _ = m.parsed(events("HEAD / HTTP/1.1\nHost: x\n\n"), now: at(0))
        XCTAssertEqual(written(m.handlerFinished(ok, now: at(0)))?.omitBody, true)
    }

    // MARK: Pipelining

    func testPipelinedRequestsAreStartedOneAtATimeInOrder() {
        var m = machine()
        let raw = "GET /1 HTTP/1.1\nHost: x\n\n" + "POST /2 HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc"
            + "GET /3 HTTP/1.1\nHost: x\n\n"
        let all = events(raw)
        let heads = all.compactMap { event -> HTTPRequestHead? in
            if case .head(let head) = event { return head }
            return nil
        }
        XCTAssertEqual(heads.map(\.path), ["/1", "/2", "/3"])

        XCTAssertEqual(m.parsed(all, now: at(0)), [.startHandler(heads[0])])
        XCTAssertEqual(m.pending.count, all.count - 2, "the rest waits, in order")

        _ = m.handlerFinished(ok, now: at(1))
        XCTAssertEqual(m.writeFinished(now: at(2)),
                       [.prepareBody(.automatic, contentLength: 3), .storeBody(Array("abc".utf8)[...]),
                        .startHandler(heads[1])])
        _ = m.handlerFinished(ok, now: at(3))
        XCTAssertEqual(m.writeFinished(now: at(4)), [.startHandler(heads[2])])
        _ = m.handlerFinished(ok, now: at(5))
        XCTAssertEqual(m.writeFinished(now: at(6)), [])
        XCTAssertTrue(m.pending.isEmpty)
        XCTAssertEqual(m.state, .idle)
    }

    func testEventsArrivingWhileAResponseIsWrittenWaitForIt() {
        var m = machine()
        _ = m.parsed(events("GET /1 HTTP/1.1\nHost: x\n\n"), now: at(0))
        _ = m.handlerFinished(ok, now: at(0))
        XCTAssertEqual(m.parsed(events("GET /2 HTTP/1.1\nHost: x\n\n"), now: at(1)), [])
        XCTAssertEqual(m.writeFinished(now: at(2)), [.startHandler(head("GET /2 HTTP/1.1\nHost: x\n\n"))])
    }

    func testPendingBodyBytesAreCopiedOutOfTheReadBuffer() {
        var m = machine()
        var buffer = Array("GET /1 HTTP/1.1\nHost: x\n\nPUT /2 HTTP/1.1\nHost: x\nContent-Length: 2\n\nhi"
            .replacingOccurrences(of: "\n", with: "\r\n").utf8)
        var parser = HTTPRequestParser()
        _ = m.parsed(parser.feed(buffer[...]), now: at(0))
        guard case .body(let pendingBody)? = m.pending.first(where: { if case .body = $0 { true } else { false } })
        else { return XCTFail("no pending body") }
        buffer.withUnsafeBufferPointer { storage in
            pendingBody.withUnsafeBufferPointer {
                XCTAssertNotEqual($0.baseAddress, storage.baseAddress! + storage.count - 2)
            }
        }
        buffer.replaceSubrange(buffer.count - 2..<buffer.count, with: Array("XX".utf8))
        XCTAssertEqual(Array(pendingBody), Array("hi".utf8))
    }

    // MARK: 100-continue

    func testExpectContinueIsAnsweredWith100WhenTheRequestIsAdmitted() {
        var m = machine()
        let raw = "PUT /upload HTTP/1.1\nHost: x\nContent-Length: 5\nExpect: 100-continue\n\n"
        XCTAssertEqual(m.parsed(events(raw), now: at(0)), [.prepareBody(.automatic, contentLength: 5), .sendContinue])
        XCTAssertTrue(m.isReading)
    }

    func testExpectContinueOnARejectedRouteGetsTheFinalStatusAndNo100() {
        var m = machine(admit: { head in
            head.path == "/upload"
                ? .accept(.disk) : .reject(.error(status: 404, code: "not_found", message: "no route"))
        })
        let actions = m.parsed(
            events("PUT /nope HTTP/1.1\nHost: x\nContent-Length: 5\nExpect: 100-continue\n\n"), now: at(0))
        XCTAssertFalse(actions.contains(.sendContinue))
        XCTAssertEqual(written(actions)?.response.status, 404)
        XCTAssertEqual(written(actions)?.keepAlive, false)
        XCTAssertEqual(m.writeFinished(now: at(1)), [.closeOutputAndDrain])
    }

    func testAdmittedUploadRouteStoresItsBodyOnDisk() {
        var m = machine(admit: { _ in .accept(.disk) })
        let actions = m.parsed(
            events("PUT /upload HTTP/1.1\nHost: x\nContent-Length: 5\nExpect: 100-continue\n\nhello"), now: at(0))
        XCTAssertEqual(actions.first, .prepareBody(.disk, contentLength: 5))
        XCTAssertEqual(actions.last, .startHandler(head("PUT /upload HTTP/1.1\nHost: x\nContent-Length: 5\n\n")
            .withExpectation))
    }

    func testExpectContinueWithoutBodyNeedsNo100() {
        var m = machine()
        let raw = "PUT /x HTTP/1.1\nHost: x\nContent-Length: 0\nExpect: 100-continue\n\n"
        let actions = m.parsed(events(raw), now: at(0))
        XCTAssertEqual(actions.count, 1)
        XCTAssertFalse(actions.contains(.sendContinue))
    }

    func testOverLimitContentLengthWith100ContinueIsRefusedBeforeAnyBody() {
        var m = machine()
        var limits = HTTPLimits.default
        limits.maxBodyBytes = 100
        let raw = "PUT /x HTTP/1.1\nHost: x\nContent-Length: 101\nExpect: 100-continue\n\n"
        let actions = m.parsed(events(raw, limits: limits), now: at(0))
        XCTAssertEqual(written(actions)?.response.status, 413)
        XCTAssertFalse(actions.contains(.sendContinue))
    }

    // MARK: Timeouts

    func testSilentNewConnectionIsClosedAtTheHeaderDeadline() {
        var m = machine()
        XCTAssertEqual(m.deadline, t0 + timeouts.header)
        XCTAssertEqual(m.timerFired(now: t0 + timeouts.header - .nanoseconds(1)), [])
        XCTAssertEqual(m.timerFired(now: t0 + timeouts.header), [.close])
    }

    func testHeaderDeadlineIsFixedAtTheFirstByteSoTricklingDoesNotExtendIt() {
        var m = machine()
        _ = m.writeFinished(now: at(0))  // no-op outside `writing`
        let raw = Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8)
        var parser = HTTPRequestParser()
        for (index, byte) in raw.enumerated() {  // one byte every 0.2 s
            let now = at(1 + Double(index) * 0.2)
            m.bytesReceived(now: now)
            XCTAssertEqual(m.parsed(parser.feed([byte]), now: now), [])
        }
        XCTAssertEqual(m.deadline, at(1) + timeouts.header)
        XCTAssertEqual(m.timerFired(now: at(1) + timeouts.header - .nanoseconds(1)), [])
        let actions = m.timerFired(now: at(1) + timeouts.header)
        XCTAssertEqual(written(actions)?.response.status, 408)
        XCTAssertEqual(written(actions)?.keepAlive, false)
        XCTAssertNil(written(actions)?.request)
    }

    func testBodyIdleTimeoutRestartsWithEachBodyReadAndAnswers408() {
        var m = machine()
        let all = events("POST /x HTTP/1.1\nHost: x\nContent-Length: 10\n\nabc")
        _ = m.parsed(Array(all.prefix(1)), now: at(0))
        XCTAssertEqual(m.deadline, at(0) + timeouts.bodyIdle)
        XCTAssertEqual(m.parsed(Array(all.dropFirst()), now: at(15)), [.storeBody(Array("abc".utf8)[...])])
        XCTAssertEqual(m.deadline, at(15) + timeouts.bodyIdle)
        XCTAssertEqual(m.timerFired(now: at(15) + timeouts.bodyIdle - .nanoseconds(1)), [])
        let actions = m.timerFired(now: at(15) + timeouts.bodyIdle)
        XCTAssertEqual(actions.first, .discardBody)
        XCTAssertEqual(written(actions)?.response.status, 408)
        XCTAssertEqual(written(actions)?.request?.path, "/x")
    }

    func testWriteTimeoutClosesAndProgressRestartsIt() {
        var m = machine()
        _ = m.parsed(events("GET / HTTP/1.1\nHost: x\n\n"), now: at(0))
        _ = m.handlerFinished(ok, now: at(1))
        m.writeProgressed(now: at(30))
        XCTAssertEqual(m.timerFired(now: at(1) + timeouts.write), [], "progress moved the deadline")
        XCTAssertEqual(m.timerFired(now: at(30) + timeouts.write - .nanoseconds(1)), [])
        XCTAssertEqual(m.timerFired(now: at(30) + timeouts.write), [.close])
    }

    func testHandlingHasNoTimeout() {
        var m = machine()
        _ = m.parsed(events("GET / HTTP/1.1\nHost: x\n\n"), now: at(0))
        XCTAssertEqual(m.timerFired(now: at(10_000)), [])
        XCTAssertEqual(m.state, .handling(head("GET / HTTP/1.1\nHost: x\n\n")))
    }

    // MARK: Errors

    func testProtocolErrorIsAnsweredOnceThenTheConnectionEnds() {
        var m = machine()
        let actions = m.parsed(events("BROKEN\n\n"), now: at(0))
        let response = written(actions)
        XCTAssertEqual(response?.response, .response(HTTPResponse(.invalidRequestLine)))
        XCTAssertEqual(response?.keepAlive, false)
        XCTAssertEqual(m.parsed(events("GET / HTTP/1.1\nHost: x\n\n"), now: at(0)), [], "nothing more is answered")
        XCTAssertEqual(m.writeFinished(now: at(1)), [.closeOutputAndDrain])
        XCTAssertEqual(m.parsed([.error(.invalidHeaderName)], now: at(1)), [], "not answered twice")
        XCTAssertEqual(m.peerClosed(), [.close])
        XCTAssertEqual(m.peerClosed(), [], "closed once")
    }

    func testErrorInAPipelinedRequestIsAnsweredAfterTheEarlierResponse() {
        var m = machine()
        let all = events("GET /1 HTTP/1.1\nHost: x\n\nGET /2 HTTP/7.1\nHost: x\n\n")
        XCTAssertEqual(m.parsed(all, now: at(0)), [.startHandler(head("GET /1 HTTP/1.1\nHost: x\n\n"))])
        let first = written(m.handlerFinished(ok, now: at(1)))
        XCTAssertEqual(first?.response, ok, "the first response is not replaced by the error")
        let error = written(m.writeFinished(now: at(2)))
        XCTAssertEqual(error?.response.status, 505)
        XCTAssertEqual(error?.keepAlive, false)
    }

    func testErrorInsideABodyDiscardsWhatWasStored() {
        var m = machine()
        var limits = HTTPLimits.default
        limits.maxBodyBytes = 4
        let actions = m.parsed(events("POST /x HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3\nabc\n2\nde\n",
                                      limits: limits), now: at(0))
        XCTAssertEqual(Array(actions.prefix(3)),
                       [.prepareBody(.automatic, contentLength: nil), .storeBody(Array("abc".utf8)[...]), .discardBody])
        XCTAssertEqual(written(actions)?.response.status, 413)
    }

    func testPeerClosingMidBodyDiscardsItAndCloses() {
        var m = machine()
        _ = m.parsed(events("POST /x HTTP/1.1\nHost: x\nContent-Length: 10\n\nab"), now: at(0))
        XCTAssertEqual(m.peerClosed(), [.discardBody, .close])
        XCTAssertEqual(m.state, .closed)
        XCTAssertNil(m.deadline)
    }

    func testBodyStorageFailureIsAnsweredAndCloses() {
        var m = machine()
        _ = m.parsed(events("POST /x HTTP/1.1\nHost: x\nContent-Length: 10\n\nab"), now: at(0))
        let failure = HTTPResponse.error(status: 507, code: "insufficient_storage", message: "disk full")
        let actions = m.bodyStorageFailed(failure, now: at(1))
        XCTAssertEqual(actions.first, .discardBody)
        XCTAssertEqual(written(actions)?.response, .response(failure))
        XCTAssertEqual(written(actions)?.keepAlive, false)
        XCTAssertEqual(m.parsed(events("more"), now: at(1)), [], "the rest of the body is not stored")
    }

    // MARK: Connection cap and shutdown

    func testRejectedConnectionIsAnswered503ThenDrained() {
        var m = machine()
        let actions = m.reject(.error(status: 503, code: "too_many_connections", message: "full"), now: at(0))
        XCTAssertEqual(written(actions)?.response.status, 503)
        XCTAssertEqual(written(actions)?.keepAlive, false)
        XCTAssertEqual(m.parsed(events("GET / HTTP/1.1\nHost: x\n\n"), now: at(0)), [], "requests are not handled")
        XCTAssertEqual(m.writeFinished(now: at(0)), [.closeOutputAndDrain])
    }

    func testShutdownClosesIdleConnectionsAtOnce() {
        var m = machine()
        XCTAssertEqual(m.shutdownRequested(), [.close])
    }

    func testShutdownLetsTheRequestInProgressFinishWithConnectionClose() {
        var m = machine()
        _ = m.parsed(events("GET /1 HTTP/1.1\nHost: x\n\nGET /2 HTTP/1.1\nHost: x\n\n"), now: at(0))
        XCTAssertEqual(m.shutdownRequested(), [])
        XCTAssertTrue(m.pending.isEmpty, "requests not started are dropped")
        XCTAssertEqual(written(m.handlerFinished(ok, now: at(1)))?.keepAlive, false)
        XCTAssertEqual(m.writeFinished(now: at(2)), [.closeOutputAndDrain])
    }

    func testShutdownWhileWritingAKeepAliveResponseClosesAfterIt() {
        var m = machine()
        _ = m.parsed(events("GET /1 HTTP/1.1\nHost: x\n\n"), now: at(0))
        _ = m.handlerFinished(ok, now: at(1))
        _ = m.shutdownRequested()
        XCTAssertEqual(m.writeFinished(now: at(2)), [.closeOutputAndDrain])
    }
}

extension HTTPRequestHead {
    /// This head as if sent with `Expect: 100-continue`.
    fileprivate var withExpectation: HTTPRequestHead {
        var head = self
        head.headers.add(name: "Expect", value: "100-continue")
        head.expectsContinue = true
        return head
    }
}
