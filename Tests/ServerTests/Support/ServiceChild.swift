// The real service in a child process: this test binary run again for one named test, which acts as the
// service when it finds `dataVariable` in its environment. For tests that kill the service with SIGKILL
// (ServiceCrashTests) or give it resource limits of its own (OpenFileLimitTests) without touching the test
// process itself.
import Foundation
import Glibc
import XCTest

@testable import Server

/// A service child process and a client for it.
struct ServiceChild {
    /// The child's data directory; its presence in the environment makes the named test act as the service.
    static let dataVariable = "ANOMALY_CLUSTERING_SERVICE_CHILD_DATA"
    /// Optional: the open-file limit (soft and hard) the child sets before starting the service.
    static let openFilesVariable = "ANOMALY_CLUSTERING_SERVICE_CHILD_OPEN_FILES"

    let process: Process
    let client: ServiceClient

    /// Starts `test` ("Module.Class/method") as the service over `data` and waits for its port.
    /// - Parameter openFiles: the child's RLIMIT_NOFILE, soft and hard (lowering needs no privilege).
    static func start(test: String, data: URL, openFiles: Int? = nil) throws -> ServiceChild {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = [test]
        var environment = ProcessInfo.processInfo.environment
        environment[dataVariable] = data.path
        environment[openFilesVariable] = openFiles.map(String.init)
        child.environment = environment
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
        return ServiceChild(process: child, client: ServiceClient(port: port))
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Call first in a test that can be the child: in the child, runs the real service on port 0 over the
    /// data directory, prints its port and never returns (it exits after 120 s, so that a parent that died
    /// first cannot leave it running); in the parent, returns at once.
    static func actAsServiceIfChild() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let dataDirectory = environment[dataVariable] else { return }
        if let text = environment[openFilesVariable], let openFiles = rlim_t(text) {
            var limit = rlimit(rlim_cur: openFiles, rlim_max: openFiles)
            precondition(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, "setrlimit failed")
        }
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
