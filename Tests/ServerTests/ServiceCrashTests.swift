// kill -9 at any moment loses nothing: the test runs the real service in a child process (`ServiceChild`),
// kills it with SIGKILL while a job computes and while an upload is half sent, restarts it on the same data
// directory, and checks that the job completes with the same clusters as an uninterrupted run, that no stray
// file is left, and that `PRAGMA integrity_check` is ok.
import Foundation
import XCTest

@testable import Server

final class ServiceCrashTests: XCTestCase {
    func testAJobKilledMidRunCompletesAfterRestartWithTheSameClusters() throws {
        try ServiceChild.actAsServiceIfChild()
        _ = try weightsDirectoryOrSkip()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        // Twelve images: the features stage lasts long enough to be killed in.
        let parts = try (0..<2).flatMap { round in
            try twoGroupParts().map { FormPart(name: $0.name, filename: $0.filename!.replacingOccurrences(of: "/", with: "/\(round)-"), data: $0.data) }
        }

        var child = try startService(data)
        let id = try ServiceClient.object(try child.client.post(parts))["id"] as! String
        var stage: String?
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let job = try ServiceClient.object(try child.client.request("GET", "/v1/jobs/\(id)"))
            stage = job["stage"] as? String
            if job["status"] as? String == "running" && stage == "features" { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertEqual(stage, "features")
        child.kill()

        // Also die in the middle of an upload: half a body sent, then SIGKILL.
        child = try startService(data)
        let (contentType, body) = multipartBody(parts)
        let upload = try RawHTTPClient(port: child.client.port)
        try upload.send(Array("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body.prefix(body.count / 2))
        Thread.sleep(forTimeInterval: 0.3)
        child.kill()
        upload.close()

        child = try startService(data)
        let (recovered, _) = try child.client.waitForJob(id)
        XCTAssertEqual(recovered["status"] as? String, "succeeded", "\(recovered)")
        // Killed while it ran, and (almost always) once more: the second service takes it up again at once,
        // before the upload is killed.
        XCTAssert([2, 3].contains(recovered["attempt"] as? Int), "attempt \(recovered["attempt"] ?? "nil")")
        // The same images once more, uninterrupted: the same clusters.
        let again = try ServiceClient.object(try child.client.post(parts))["id"] as! String
        XCTAssertEqual(try child.client.waitForJob(again).job["status"] as? String, "succeeded")
        func assignments(_ id: String) throws -> [Int] {
            let clusters = try ServiceClient.object(try child.client.request("GET", "/v1/jobs/\(id)/clusters"))
            return (clusters["assignments"] as! [[String: Any]]).map { $0["cluster"] as! Int }
        }
        XCTAssertEqual(try assignments(id), try assignments(again))
        let list = try ServiceClient.object(try child.client.request("GET", "/v1/jobs"))
        XCTAssertEqual((list["jobs"] as! [[String: Any]]).count, 2, "the half-sent upload must not become a job")
        child.kill()

        // Every stored image belongs to one of the two jobs (the half upload's files were swept), and the
        // database is intact.
        let stored = try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("images").path)
        XCTAssertEqual(stored.count, 2 * parts.count)
        let store = try JobStore(path: data.appendingPathComponent("jobs.sqlite").path)
        defer { store.close() }
        XCTAssertEqual(try store.allStoredPaths(), Set(stored))
        XCTAssertEqual(try store.database.read { try $0.fetchOne("PRAGMA integrity_check")?[0] as String? }, "ok")
    }

    private func startService(_ data: URL) throws -> ServiceChild {
        try ServiceChild.start(
            test: "\(String(reflecting: Self.self))/testAJobKilledMidRunCompletesAfterRestartWithTheSameClusters", data: data)
    }
}
