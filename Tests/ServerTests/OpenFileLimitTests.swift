// The open-file limit and the connection cap: the service raises its soft limit to the hard one and serves no
// more connections than its descriptors allow, so that a flood of connections cannot take the descriptors a
// running job needs for its images. The flood test runs the service in a child process with `ulimit -n 256`.
import Foundation
import Glibc
import XCTest

@testable import Server

final class OpenFileLimitTests: XCTestCase {
    func testTheCapLeavesDescriptorsForFilesAndJobs() {
        XCTAssertEqual(OpenFileLimit.connectionCap(configured: 512, openFileLimit: 1_048_576), 512)
        XCTAssertEqual(OpenFileLimit.connectionCap(configured: 512, openFileLimit: 1_024), 320)  // (1024 − 64) / 3
        XCTAssertEqual(OpenFileLimit.connectionCap(configured: 512, openFileLimit: 256), 64)
        XCTAssertEqual(OpenFileLimit.connectionCap(configured: 512, openFileLimit: 16), 1)
    }

    func testTheServiceRaisesTheSoftLimitToTheHardOne() throws {
        _ = try weightsDirectoryOrSkip()
        var original = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &original), 0)
        guard original.rlim_max > 512 else { throw XCTSkip("hard open-file limit \(original.rlim_max) too low to lower") }
        var lowered = rlimit(rlim_cur: 512, rlim_max: original.rlim_max)
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lowered), 0)
        defer { _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &original) }
        let service = try TestService()
        XCTAssertEqual(OpenFileLimit.current().soft, OpenFileLimit.current().hard)
        XCTAssertEqual(service.service.server.configuration.maxConnections, 512)
    }

    /// Before the fix, with `ulimit -n 256` and the default cap of 512: 400 idle connections took every
    /// descriptor, the running job failed as `image_unreadable` (its next image could not be opened), and a new
    /// client waited unanswered in the listen backlog until header timeouts freed descriptors.
    func testAConnectionFloodUnderALowOpenFileLimitNeitherFailsAJobNorHangsClients() throws {
        try ServiceChild.actAsServiceIfChild()
        _ = try weightsDirectoryOrSkip()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("open-files-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let child = try ServiceChild.start(
            test: "\(String(reflecting: Self.self))/testAConnectionFloodUnderALowOpenFileLimitNeitherFailsAJobNorHangsClients",
            data: data, openFiles: 256)
        defer { child.kill() }

        // Twelve images: two batches, the second read while the flood holds the connections.
        let parts = try (0..<2).flatMap { round in
            try twoGroupParts().map { FormPart(name: $0.name, filename: $0.filename!.replacingOccurrences(of: "/", with: "/\(round)-"), data: $0.data) }
        }
        let id = try ServiceClient.object(try child.client.post(parts))["id"] as! String
        var flood: [RawHTTPClient] = []
        for _ in 0..<400 { flood.append(try RawHTTPClient(port: child.client.port, timeout: .seconds(5))) }

        // A new client is answered (503: the cap of (256 − 64) / 3 = 64 is taken) or closed at once, not left waiting.
        let started = Date()
        let probe = try RawHTTPClient(port: child.client.port, timeout: .seconds(5))
        try probe.send("GET /healthz HTTP/1.1\nHost: x\n\n")
        let answer = try? probe.readResponse()
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "the probe waited for an answer: \(String(describing: answer?.status))")
        if let answer { XCTAssertEqual(answer.status, 503, answer.bodyText) }
        probe.close()

        Thread.sleep(forTimeInterval: 3)
        for client in flood { client.close() }
        let (job, _) = try child.client.waitForJob(id, timeout: 120)
        XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)")
    }
}
