// kill -9 at any moment loses nothing: the test runs the real service in a child process (this test binary,
// selected by an environment variable), kills it with SIGKILL while a job computes and while an upload is
// half sent, restarts it on the same data directory, and checks that the job completes with the same
// clusters as an uninterrupted run, that no stray file is left, and that `PRAGMA integrity_check` is ok.
import Foundation
import XCTest

@testable import Server

final class ServiceCrashTests: XCTestCase {
    /// Set in the child's environment to the data directory; its presence makes the test act as the service.
    private static let childDataVariable = "ANOMALY_CLUSTERING_SERVICE_CRASH_CHILD_DATA"

    func testAJobKilledMidRunCompletesAfterRestartWithTheSameClusters() throws {
        if let path = ProcessInfo.processInfo.environment[Self.childDataVariable] { try actAsService(dataDirectory: path) }
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

    /// A service child process and a client for it.
    private struct Child {
        let process: Process
        let client: ServiceClient

        func kill() {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private func startService(_ data: URL) throws -> Child {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["\(String(reflecting: Self.self))/testAJobKilledMidRunCompletesAfterRestartWithTheSameClusters"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childDataVariable: data.path]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        // XCTest prints its own lines first; ours is "port N".
        var text = ""
        func portLine() -> Int? {
            text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                .first { $0.hasPrefix("port ") }.flatMap { Int($0.dropFirst(5)) }
        }
        while portLine() == nil {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let port = portLine() else {
            Glibc.kill(child.processIdentifier, SIGKILL)
            throw RawClientError(description: "the service child did not start: \(text)")
        }
        return Child(process: child, client: ServiceClient(port: port))
    }

    /// The child: the real service on port 0 over `dataDirectory`; prints its port, then runs until killed
    /// (120 s at most, so a parent that died first cannot leave it running).
    private func actAsService(dataDirectory: String) throws -> Never {
        var config = ServerConfig()
        config.port = 0
        config.dataDirectory = dataDirectory
        config.weightsDirectory = repositoryRoot.appendingPathComponent("weights").path
        config.registryPath = repositoryRoot.appendingPathComponent("config/backbones.json").path
        config.defaultBackbone = "efficientnet-lite0"
        let service = try Service(config: config)
        let port = try service.start()
        FileHandle.standardOutput.write(Data("port \(port)\n".utf8))
        Thread.sleep(forTimeInterval: 120)
        exit(0)
    }
}
