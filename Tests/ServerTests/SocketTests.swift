// The socket layer on its own: binding (port 0, address in use, bad host), accept results including the
// back-off on EMFILE, socket ownership (double close, use after close), EPIPE instead of SIGPIPE, the timer
// heap's order, and the event loop's timers and cross-thread mailbox.
import Foundation
import Glibc
import Synchronization
import XCTest

@testable import Server

final class SocketTests: XCTestCase {
    // MARK: ListeningSocket

    func testPortZeroReportsThePortTheKernelChose() throws {
        let first = try ListeningSocket(host: "127.0.0.1", port: 0, backlog: 16)
        let second = try ListeningSocket(host: "127.0.0.1", port: 0, backlog: 16)
        defer {
            try? first.close()
            try? second.close()
        }
        XCTAssertGreaterThan(first.port, 0)
        XCTAssertNotEqual(first.port, second.port)
        let client = try RawHTTPClient(port: first.port)  // connects: the port is real
        client.close()
    }

    func testBindingAPortInUseNamesTheCallAndErrno() throws {
        let first = try ListeningSocket(host: "127.0.0.1", port: 0, backlog: 16)
        defer { try? first.close() }
        XCTAssertThrowsError(try ListeningSocket(host: "127.0.0.1", port: first.port, backlog: 16)) { error in
            let systemError = error as? SystemError
            XCTAssertEqual(systemError?.call, "bind")
            XCTAssertEqual(systemError?.errno, EADDRINUSE)
            XCTAssertTrue("\(error)".contains("Address already in use"), "\(error)")
        }
    }

    func testUnresolvableHostIsAGetaddrinfoError() {
        XCTAssertThrowsError(try ListeningSocket(host: "no such host!", port: 0, backlog: 16)) { error in
            XCTAssertTrue((error as? SystemError)?.call.hasPrefix("getaddrinfo(no such host!)") ?? false, "\(error)")
        }
    }

    func testIPv6LoopbackBinds() throws {
        guard let listener = try? ListeningSocket(host: "::1", port: 0, backlog: 16) else {
            throw XCTSkip("no IPv6 loopback here")
        }
        XCTAssertGreaterThan(listener.port, 0)
        try listener.close()
    }

    func testAcceptWouldBlockThenAcceptsAWaitingConnection() throws {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0, backlog: 16)
        defer { try? listener.close() }
        guard case .wouldBlock = try listener.accept() else { return XCTFail("accepted with nobody connecting") }
        let client = try RawHTTPClient(port: listener.port)
        defer { client.close() }
        guard case .accepted(let socket) = try listener.accept() else { return XCTFail("no connection accepted") }
        defer { try? socket.close() }
        // Accepted sockets are non-blocking: reading with nothing sent would block.
        var buffer = [UInt8](repeating: 0, count: 16)
        let result = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
        guard case .wouldBlock = result else { return XCTFail("read on an empty non-blocking socket: \(result)") }
    }

    func testAcceptBacksOffWhenOutOfDescriptorsAndRecovers() throws {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0, backlog: 16)
        defer { try? listener.close() }
        let client = try RawHTTPClient(port: listener.port)
        defer { client.close() }

        var original = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &original)
        // The lowest free descriptor number is the count of open ones here (near enough): allow none more.
        let probe = Glibc.dup(0)
        Glibc.close(probe)
        var tight = original
        tight.rlim_cur = rlim_t(probe)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &tight), 0)
        let result = try listener.accept()
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &original), 0)

        guard case .backOff(let error) = result else { return XCTFail("expected a back-off, got \(result)") }
        XCTAssertEqual(error.errno, EMFILE)
        guard case .accepted(let socket) = try listener.accept() else {
            return XCTFail("the connection was lost instead of staying queued")
        }
        try socket.close()
    }

    // MARK: Socket

    func testSocketClosesOnceAndRefusesUseAfterClose() throws {
        let (socket, peer) = try Self.connectedPair()
        defer { peer.close() }
        try socket.close()
        XCTAssertFalse(socket.isOpen)
        XCTAssertThrowsError(try socket.close()) { XCTAssertEqual(($0 as? SystemError)?.errno, EBADF) }
        var buffer = [UInt8](repeating: 0, count: 4)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }) {
            XCTAssertEqual(($0 as? SystemError)?.errno, EBADF)
        }
    }

    func testWritingToAClosedPeerIsAnErrorNotSIGPIPE() throws {
        let (socket, peer) = try Self.connectedPair()
        defer { try? socket.close() }
        peer.close()
        let bytes = [UInt8](repeating: 7, count: 64 * 1024)
        var failure: SystemError?
        // The first write may be accepted into the buffer; the peer's reset makes a later one fail.
        for _ in 0..<100 where failure == nil {
            do {
                _ = try bytes.withUnsafeBytes { try socket.write($0) }
                usleep(1000)
            } catch {
                failure = error as? SystemError
            }
        }
        XCTAssertTrue([EPIPE, ECONNRESET].contains(failure?.errno ?? 0), "\(String(describing: failure))")
    }

    func testPeerClosingReadsAsZeroBytes() throws {
        let (socket, peer) = try Self.connectedPair()
        defer { try? socket.close() }
        try peer.send("hi")
        peer.close()
        usleep(50_000)
        var buffer = [UInt8](repeating: 0, count: 16)
        guard case .processed(2) = try buffer.withUnsafeMutableBytes({ try socket.read(into: $0) }) else {
            return XCTFail("expected the two bytes")
        }
        guard case .processed(0) = try buffer.withUnsafeMutableBytes({ try socket.read(into: $0) }) else {
            return XCTFail("expected end of stream")
        }
    }

    // MARK: TimerHeap

    func testTimerHeapPopsInDeadlineOrderAndEqualDeadlinesFirstInFirstOut() {
        let t0 = ContinuousClock.now
        var heap = TimerHeap<String>()
        var random = SystemRandomNumberGenerator()
        var expected: [(Int, String)] = []
        for index in 0..<200 {
            let offset = Int.random(in: 0..<20, using: &random)
            heap.push("\(offset)-\(index)", at: t0 + .milliseconds(offset))
            expected.append((offset, "\(offset)-\(index)"))
        }
        XCTAssertNil(heap.popExpired(now: t0 - .milliseconds(1)))
        var popped: [String] = []
        while let value = heap.popExpired(now: t0 + .seconds(1)) { popped.append(value) }
        // A stable sort by deadline is exactly the order wanted.
        XCTAssertEqual(popped, expected.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map(\.element.1))
        XCTAssertTrue(heap.isEmpty)
    }

    func testTimerHeapKeepsEntriesThatAreNotDue() {
        let t0 = ContinuousClock.now
        var heap = TimerHeap<Int>()
        heap.push(2, at: t0 + .seconds(2))
        heap.push(1, at: t0 + .seconds(1))
        XCTAssertEqual(heap.popExpired(now: t0 + .seconds(1)), 1)
        XCTAssertNil(heap.popExpired(now: t0 + .seconds(1)))
        XCTAssertEqual(heap.nextDeadline, t0 + .seconds(2))
    }

    // MARK: EventLoop and mailbox

    func testLoopRunsTimersAtTheirDeadlinesAndMessagesPostedFromOtherThreads() throws {
        let outcome = Mutex<[String]>([])
        let mailbox = try EventLoopMailbox<String>()
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let loop = try! EventLoop()
            let start = ContinuousClock.now
            var fired: [(String, Duration)] = []
            loop.schedule(at: start + .milliseconds(200)) { fired.append(("b", ContinuousClock.now - start)) }
            loop.schedule(at: start + .milliseconds(100)) { fired.append(("a", ContinuousClock.now - start)) }
            try! loop.register(mailbox.pollDescriptor, for: .readable) { _ in
                for message in mailbox.drain() {
                    outcome.withLock { $0.append("message \(message)") }
                    if message == "stop" { loop.stop() }
                }
            }
            try! loop.run()
            loop.deregister(mailbox.pollDescriptor)
            _ = mailbox.close()
            loop.close()
            outcome.withLock { result in
                for (name, elapsed) in fired {
                    result.append("\(name) \(elapsed >= .milliseconds(name == "a" ? 100 : 200) ? "on time" : "early")")
                }
            }
            finished.signal()
        }
        XCTAssertTrue(mailbox.post("one"))
        usleep(400_000)
        XCTAssertTrue(mailbox.post("stop"))
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(outcome.withLock { $0 }, ["message one", "message stop", "a on time", "b on time"])
        XCTAssertFalse(mailbox.post("late"), "posting after close is refused")
    }

    // MARK: Helpers

    /// A server-side `Socket` and the client connected to it.
    static func connectedPair() throws -> (Socket, RawHTTPClient) {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0, backlog: 4)
        defer { try? listener.close() }
        let client = try RawHTTPClient(port: listener.port)
        guard case .accepted(let socket) = try listener.accept() else {
            throw RawClientError(description: "not accepted")
        }
        return (socket, client)
    }
}
