// The server live on 127.0.0.1 port 0, through raw sockets (and curl where it is the natural client):
// keep-alive, pipelining, HEAD, bodies streamed to disk without growing memory, 100-continue, every limit
// and timeout as a client meets it, the connection cap, 200 concurrent clients, disk full, and shutdown.
// Timing assertions leave wide margins (seconds against limits of ~1 s) because test machines are shared.
import Foundation
import Glibc
import Synchronization
import XCTest

@testable import Server

final class HTTPServerTests: XCTestCase {
    // MARK: Keep-alive, pipelining, HEAD

    func testHundredRequestsOnOneKeepAliveConnection() throws {
        let live = try LiveServer()
        let client = try live.client()
        for index in 0..<100 {
            try client.send("GET /hello?n=\(index) HTTP/1.1\nHost: x\n\n")
            let response = try client.expectResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.bodyText, "hello")
            XCTAssertEqual(response.header("Connection"), "keep-alive")
        }
        XCTAssertEqual(live.server.metrics.snapshot.acceptedConnections, 1)
        // Counted just after the bytes reach the kernel, so possibly a moment after the client read them.
        XCTAssertTrue(LiveServer.eventually { live.server.metrics.snapshot.responsesByStatus[200] == 100 })
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let live = try LiveServer()
        let client = try live.client()
        // The slow request first: a server answering out of order would send `hello` before `slept 300`.
        try client.send("GET /sleep?ms=300 HTTP/1.1\nHost: x\n\nGET /hello HTTP/1.1\nHost: x\n\n"
            + "POST /echo HTTP/1.1\nHost: x\nContent-Length: 4\n\nping" + "GET /sleep?ms=50 HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try client.expectResponse().bodyText, "slept 300")
        XCTAssertEqual(try client.expectResponse().bodyText, "hello")
        XCTAssertEqual(try client.expectResponse().bodyText, "ping")
        XCTAssertEqual(try client.expectResponse().bodyText, "slept 50")
    }

    func testHeadResponseHasTheLengthButNoBody() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("HEAD /hello HTTP/1.1\nHost: x\n\n")
        let head = try client.expectResponse(bodyless: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "5")
        // Had a body been sent, it would now be read as the start of this response.
        try client.send("GET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try client.expectResponse().bodyText, "hello")
        try client.send("HEAD /download?bytes=100000 HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try client.expectResponse(bodyless: true).header("Content-Length"), "100000")
        try client.send("GET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try client.expectResponse().bodyText, "hello")
    }

    func testHTTP10ConnectionClosesAfterTheResponseUnlessKeepAlive() throws {
        let live = try LiveServer()
        let plain = try live.client()
        try plain.send("GET /hello HTTP/1.0\n\n")
        XCTAssertEqual(try plain.expectResponse().header("Connection"), "close")
        XCTAssertTrue(plain.waitForClose())

        let keepAlive = try live.client()
        try keepAlive.send("GET /hello HTTP/1.0\nConnection: keep-alive\n\n")
        XCTAssertEqual(try keepAlive.expectResponse().header("Connection"), "keep-alive")
        try keepAlive.send("GET /hello HTTP/1.0\nConnection: keep-alive\n\n")
        XCTAssertEqual(try keepAlive.expectResponse().status, 200)
    }

    func testKeepAliveConnectionIdleTooLongIsClosedSilently() throws {
        let live = try LiveServer { $0.timeouts.keepAlive = .milliseconds(300) }
        let client = try live.client()
        try client.send("GET /hello HTTP/1.1\nHost: x\n\n")
        _ = try client.expectResponse()
        let start = ContinuousClock.now
        XCTAssertNil(try client.readResponse(), "closed without a response")
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(3))
    }

    // MARK: Bodies

    func testTwentyMegabyteChunkedUploadIsStreamedToDiskWithoutGrowingMemory() throws {
        let live = try LiveServer()
        let client = try live.client(timeout: .seconds(30))
        let total = 20 * 1024 * 1024
        let chunkSize = 256 * 1024
        var hash = FNV1a()
        let baseline = LiveServer.residentKiB()
        var peak = baseline
        try client.send("POST /upload/big HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n")
        var sent = 0
        while sent < total {
            let chunk = LiveServerData.bytes(from: sent, count: min(chunkSize, total - sent))
            hash.add(chunk)
            try client.send(Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Array("\r\n".utf8))
            sent += chunk.count
            peak = max(peak, LiveServer.residentKiB())
        }
        try client.send(Array("0\r\n\r\n".utf8))
        let response = try client.expectResponse()
        peak = max(peak, LiveServer.residentKiB())
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(live.seenBodies, [SeenBody(path: "/upload/big", storage: "file", byteCount: total,
                                                  checksum: hash.value, mode: 0o600)])
        // Held in memory, 20 MiB would show as 20,480 KiB or more; the margin allows for allocator noise.
        XCTAssertLessThan(peak - baseline, 8 * 1024, "RSS grew from \(baseline) to \(peak) KiB")
        XCTAssertTrue(LiveServer.eventually { live.temporaryFiles.isEmpty }, "\(live.temporaryFiles) left behind")
    }

    func testSmallBodiesStayInMemoryAndLargeOnesGoToDisk() throws {
        let live = try LiveServer { $0.memoryBodyLimit = 1000 }
        let client = try live.client()
        for count in [0, 10, 1000, 1001] {
            let body = LiveServerData.bytes(count: count)
            try client.send(Array("PUT /size HTTP/1.1\r\nHost: x\r\nContent-Length: \(count)\r\n\r\n".utf8) + body)
            XCTAssertEqual(try client.expectResponse().status, 200)
        }
        XCTAssertEqual(live.seenBodies.map(\.storage), ["none", "memory", "memory", "file"])
        XCTAssertEqual(live.seenBodies.map(\.byteCount), [0, 10, 1000, 1001])
    }

    func testHandlerThatMovesTheBodyFileKeepsIt() throws {
        let live = try LiveServer { $0.memoryBodyLimit = 10 }
        let client = try live.client()
        try client.send("PUT /keep HTTP/1.1\nHost: x\nContent-Length: 20\n\n01234567890123456789")
        let keptPath = try client.expectResponse().bodyText
        defer { try? FileManager.default.removeItem(atPath: keptPath) }
        XCTAssertEqual(try String(contentsOfFile: keptPath, encoding: .utf8), "01234567890123456789")
        XCTAssertTrue(LiveServer.eventually { live.temporaryFiles.isEmpty })
    }

    func testCurlUploadWithExpectContinue() throws {
        let live = try LiveServer()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("curl-upload-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        let body = LiveServerData.bytes(count: 3 * 1024 * 1024)
        try Data(body).write(to: file)
        var hash = FNV1a()
        hash.add(body)
        let (status, output, errors) = try Self.curl(
            ["-sS", "-v", "-H", "Expect: 100-continue", "-H", "Content-Type: application/octet-stream",
             "--data-binary", "@\(file.path)", "http://127.0.0.1:\(live.port)/size"])
        XCTAssertEqual(status, 0, errors)
        XCTAssertTrue(errors.contains("HTTP/1.1 100 Continue"), errors)
        XCTAssertEqual(output, "{\"bytes\":\(body.count),\"storage\":\"file\",\"fnv\":\(hash.value)}")
    }

    func testCurlGetsARejectedUploadsFinalStatusWithoutSendingTheBody() throws {
        let live = try LiveServer()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("curl-reject-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(count: 2 * 1024 * 1024).write(to: file)
        let (_, output, errors) = try Self.curl(
            ["-sS", "-v", "-H", "Expect: 100-continue", "--data-binary", "@\(file.path)",
             "http://127.0.0.1:\(live.port)/nowhere"])
        XCTAssertFalse(errors.contains("100 Continue"), errors)
        XCTAssertTrue(errors.contains("HTTP/1.1 404"), errors)
        XCTAssertTrue(output.contains("\"not_found\""), output)
    }

    func testExpectContinueIsAnsweredBeforeTheBodyIsSent() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("PUT /size HTTP/1.1\nHost: x\nContent-Length: 5\nExpect: 100-continue\n\n")
        XCTAssertEqual(try client.expectResponse().status, 100)
        try client.send("hello")
        XCTAssertEqual(try client.expectResponse().status, 200)
    }

    // MARK: Limits

    func testOverLimitContentLengthIs413WithoutReadingTheBody() throws {
        let live = try LiveServer { $0.limits.maxBodyBytes = 1024 * 1024 }
        let client = try live.client()
        // The body is never sent: the 413 must come from the head alone.
        try client.send("PUT /upload/x HTTP/1.1\nHost: x\nContent-Length: 1073741824\n\n")
        let response = try client.expectResponse()
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(response.bodyText.contains("\"body_too_large\""), response.bodyText)
        XCTAssertTrue(client.waitForClose())
        XCTAssertTrue(live.temporaryFiles.isEmpty)
    }

    func testChunkedBodyPassingTheLimitIs413AndItsFileRemoved() throws {
        let live = try LiveServer { $0.limits.maxBodyBytes = 300_000 }
        let client = try live.client()
        try client.send("POST /upload/x HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n")
        let chunk = LiveServerData.bytes(count: 100_000)
        for _ in 0..<3 {
            try client.send(Array("186a0\r\n".utf8) + chunk + Array("\r\n".utf8))
        }
        try client.send(Array("186a0\r\n".utf8))  // one more 100,000-byte chunk announced: over the limit
        let response = try client.expectResponse()
        XCTAssertEqual(response.status, 413)
        XCTAssertTrue(LiveServer.eventually { live.temporaryFiles.isEmpty }, "\(live.temporaryFiles)")
    }

    func testHeaderTooLargeIs431AndTheServerKeepsServing() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("GET /hello HTTP/1.1\nHost: x\nX-Big: \(String(repeating: "a", count: 20_000))\n\n")
        let response = try client.expectResponse()
        XCTAssertEqual(response.status, 431)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertEqual(response.header("Content-Type"), "application/json")
        XCTAssertTrue(response.bodyText.hasPrefix("{\"error\":{\"code\":\"header_too_large\""), response.bodyText)
        XCTAssertTrue(client.waitForClose())

        let next = try live.client()
        try next.send("GET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try next.expectResponse().status, 200)
    }

    func testProtocolErrorIsAnsweredOnceThenClosed() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("GET /hello HTTP/1.1\nHost: x\n\nNOT A REQUEST\n\nGET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try client.expectResponse().status, 200)
        let error = try client.expectResponse()
        XCTAssertEqual(error.status, 400)
        XCTAssertEqual(error.header("Connection"), "close")
        XCTAssertEqual(error.bodyText, HTTPResponse.errorBody(code: "invalid_request_line",
                                                              message: HTTPParserError.invalidRequestLine.message))
        XCTAssertNil(try client.readResponse(), "nothing after the error reply")
    }

    func testUnknownRouteWithABodyIsRejectedBeforeTheBody() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("POST /nowhere HTTP/1.1\nHost: x\nContent-Length: 100000000\n\n")
        let response = try client.expectResponse()
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(response.header("Connection"), "close")
    }

    // MARK: Timeouts and slow clients

    func testSlowlorisIsCutOffWhileAnotherClientIsServedPromptly() throws {
        let live = try LiveServer { $0.timeouts.header = .seconds(1) }
        let port = live.port
        // Another client, 300 ms into the slow one's trickle, on its own thread.
        let otherLatency = Mutex<Duration?>(nil)
        let otherDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            usleep(300_000)
            let start = ContinuousClock.now
            if let other = try? RawHTTPClient(port: port), (try? other.send("GET /hello HTTP/1.1\nHost: x\n\n")) != nil,
                (try? other.readResponse())??.status == 200
            {
                otherLatency.withLock { $0 = ContinuousClock.now - start }
            }
            otherDone.signal()
        }

        let slow = try live.client()
        let padding = String(repeating: "p", count: 100)
        let request = Array("GET /hello HTTP/1.1\r\nHost: x\r\nX-Padding: \(padding)\r\n\r\n".utf8)
        let start = ContinuousClock.now
        var sentBytes = 0
        // One byte every 200 ms (5 bytes a second; the head needs 26 s at that rate) until the server answers.
        while sentBytes < request.count, !slow.hasDataAvailable(waiting: .milliseconds(200)) {
            try slow.send([request[sentBytes]])
            sentBytes += 1
        }
        let response = try slow.readResponse()
        let elapsed = ContinuousClock.now - start
        XCTAssertEqual(response?.status, 408)
        XCTAssertEqual(response?.header("Connection"), "close")
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(900), "cut off before the header timeout")
        XCTAssertLessThan(elapsed, .seconds(4), "not cut off near the 1 s header timeout")
        XCTAssertLessThan(sentBytes, request.count, "the slow client managed to send its whole head")

        XCTAssertEqual(otherDone.wait(timeout: .now() + 10), .success)
        let latency = try XCTUnwrap(otherLatency.withLock { $0 }, "the other client was not served")
        XCTAssertLessThan(latency, .milliseconds(500), "the slow client delayed another")
    }

    func testSilentConnectionIsClosedAfterTheHeaderTimeout() throws {
        let live = try LiveServer { $0.timeouts.header = .milliseconds(300) }
        let client = try live.client()
        XCTAssertNil(try client.readResponse(), "closed without a response")
    }

    func testStalledBodyIs408() throws {
        let live = try LiveServer { $0.timeouts.bodyIdle = .milliseconds(300) }
        let client = try live.client()
        try client.send("PUT /upload/x HTTP/1.1\nHost: x\nContent-Length: 100\n\nonly some")
        XCTAssertEqual(try client.expectResponse().status, 408)
        XCTAssertTrue(LiveServer.eventually { live.temporaryFiles.isEmpty })
    }

    // MARK: Connections

    func testConnectionsOverTheCapAreAnswered503AndClosed() throws {
        let live = try LiveServer { $0.maxConnections = 2 }
        let first = try live.client()
        let second = try live.client()
        try first.send("GET /hello HTTP/1.1\nHost: x\n\n")
        _ = try first.expectResponse()
        try second.send("GET /hello HTTP/1.1\nHost: x\n\n")
        _ = try second.expectResponse()

        let third = try live.client()
        let response = try third.expectResponse()
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(third.waitForClose())
        XCTAssertEqual(live.server.metrics.snapshot.rejectedConnections, 1)

        first.close()
        XCTAssertTrue(LiveServer.eventually { live.server.metrics.snapshot.openConnections == 1 })
        let fourth = try live.client()
        try fourth.send("GET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try fourth.expectResponse().status, 200, "a freed slot is used again")
    }

    func testServerBacksOffWhenOutOfDescriptorsAndAcceptsOnceTheyAreBack() throws {
        let live = try LiveServer()
        var original = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &original)
        // Room for exactly one more descriptor (the lowest free number is taken by the client's socket),
        // so the server's accept fails with EMFILE while the connection waits in the kernel's queue.
        let probe = Glibc.dup(0)
        Glibc.close(probe)
        var tight = original
        tight.rlim_cur = rlim_t(probe + 1)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &tight), 0)
        let client = Result { try live.client() }
        // Accept fails and the listener is paused and retried (10 ms, 20 ms, …). Kept short: the limit is
        // process-wide, and other threads of the test process cannot open files meanwhile.
        usleep(50_000)
        let acceptedUnderTheLimit = live.server.metrics.snapshot.acceptedConnections
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &original), 0)

        let connected = try client.get()
        XCTAssertEqual(acceptedUnderTheLimit, 0, "accepted despite the limit")
        try connected.send("GET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try connected.expectResponse().status, 200, "the listener was kept and resumed")
    }

    func testClientClosingMidBodyRemovesTheTemporaryFile() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("PUT /upload/partial HTTP/1.1\nHost: x\nContent-Length: 10000000\n\n")
        try client.send(LiveServerData.bytes(count: 1_000_000))
        XCTAssertTrue(LiveServer.eventually { live.temporaryFiles.count == 1 }, "the body is being stored")
        client.close()
        XCTAssertTrue(LiveServer.eventually { live.temporaryFiles.isEmpty }, "\(live.temporaryFiles) left behind")
        XCTAssertTrue(live.seenBodies.isEmpty, "the handler never saw the partial body")

        let next = try live.client()
        try next.send("GET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try next.expectResponse().status, 200)
    }

    func testTwoHundredConcurrentConnectionsTenRequestsEach() throws {
        let live = try LiveServer()
        let threads = 8
        let perThread = 25
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            do {
                let clients = try (0..<perThread).map { _ in try live.client(timeout: .seconds(30)) }
                for round in 0..<10 {
                    // Every connection has a request in flight before any answer is read.
                    for (index, client) in clients.enumerated() {
                        try client.send("POST /echo HTTP/1.1\nHost: x\nContent-Length: 11\n\n"
                            + String(format: "t%02dc%02dr%02d__", thread, index, round))
                    }
                    for (index, client) in clients.enumerated() {
                        let response = try client.expectResponse()
                        let expected = String(format: "t%02dc%02dr%02d__", thread, index, round)
                        if response.status != 200 || response.bodyText != expected {
                            failures.withLock { $0.append("\(expected): \(response.status) \(response.bodyText)") }
                        }
                    }
                }
            } catch {
                failures.withLock { $0.append("thread \(thread): \(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { Array($0.prefix(5)) }, [])
        XCTAssertTrue(LiveServer.eventually {
            live.server.metrics.snapshot.responsesByStatus[200] == threads * perThread * 10
        }, "\(live.server.metrics.snapshot)")
        XCTAssertEqual(live.server.metrics.snapshot.acceptedConnections, threads * perThread)
    }

    func testDownloadIsStreamedFromAFile() throws {
        let live = try LiveServer()
        let client = try live.client()
        let count = 3 * 1024 * 1024 + 17
        try client.send("GET /download?bytes=\(count) HTTP/1.1\nHost: x\n\n")
        let response = try client.expectResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body.count, count)
        XCTAssertTrue(response.body == LiveServerData.bytes(count: count))
        try client.send("GET /hello HTTP/1.1\nHost: x\n\n")
        XCTAssertEqual(try client.expectResponse().bodyText, "hello")
    }

    // MARK: Disk full

    func testDiskFullWhileStoringABodyIs507AndThePartialFileIsRemoved() throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: mountPoint) }
        // A 1 MiB tmpfs gives a real ENOSPC. Mounting needs root (which the CI machine has).
        let mount = try? Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.path])
        guard mount?.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (not root?); RequestBodyWriterTests covers ENOSPC with /dev/full")
        }
        defer { _ = try? Self.run("/bin/umount", [mountPoint.path]) }

        let live = try LiveServer { $0.temporaryDirectory = mountPoint }
        let client = try live.client()
        try client.send("PUT /upload/x HTTP/1.1\nHost: x\nContent-Length: 3000000\n\n")
        // The server stops reading after the 507, so a blocked send is expected; the response is not.
        try? client.send(LiveServerData.bytes(count: 3_000_000))
        let response = try client.expectResponse()
        XCTAssertEqual(response.status, 507)
        XCTAssertTrue(response.bodyText.contains("\"insufficient_storage\""), response.bodyText)
        XCTAssertTrue(LiveServer.eventually {
            ((try? FileManager.default.contentsOfDirectory(atPath: mountPoint.path)) ?? ["?"]).isEmpty
        })
    }

    // MARK: Log, metrics, shutdown

    func testRequestLogHasOneLinePerResponse() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("GET /hello HTTP/1.1\nHost: x\n\n")
        _ = try client.expectResponse()
        try client.send("BAD\n\n")
        _ = try client.expectResponse()
        XCTAssertTrue(LiveServer.eventually { live.logLines.count == 2 })
        let lines = live.logLines
        XCTAssertTrue(lines[0].hasPrefix("GET /hello 200 5B "), lines[0])
        XCTAssertTrue(lines[0].hasSuffix("ms"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("- - 400 "), lines[1])
        XCTAssertTrue(LiveServer.eventually { live.server.metrics.snapshot.responsesByStatus == [200: 1, 400: 1] })
    }

    func testShutdownFinishesTheRequestInProgressThenStopsListening() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("GET /sleep?ms=500 HTTP/1.1\nHost: x\n\n")
        usleep(100_000)
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            live.server.shutdown()
            stopped.signal()
        }
        let response = try client.expectResponse()
        XCTAssertEqual(response.bodyText, "slept 500")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertEqual(stopped.wait(timeout: .now() + 10), .success)
        XCTAssertThrowsError(try live.client(), "still accepting after shutdown")
    }

    // MARK: Helpers

    /// Runs curl with `arguments`; returns its exit status, standard output and standard error.
    static func curl(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
            throw XCTSkip("curl is not installed")
        }
        return try run("/usr/bin/curl", ["--max-time", "30"] + arguments)
    }

    static func run(_ executable: String, _ arguments: [String]) throws
        -> (status: Int32, output: String, errors: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self),
                String(decoding: errorData, as: UTF8.self))
    }
}
