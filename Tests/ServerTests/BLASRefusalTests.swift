// A process whose BLAS computes wrong refuses to compute: the service does not start, `cluster` and
// `evaluate` stop before reading an image, `--version` says FAILED; each names the remedy. The wrong BLAS is
// BLASStatus's test hook (an sgemm that adds 1 to its first output), in this process and in the real binary.
import Foundation
import XCTest

@testable import Server

final class BLASRefusalTests: XCTestCase {
    static let wrong = [BLASStatus.testWrongSgemmVariable: "1"]

    func testServiceRefusesToStartOnAWrongSgemm() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("blas-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        var config = ServerConfig()
        config.port = 0
        config.dataDirectory = data.path
        config.weightsDirectory = repositoryRoot.appendingPathComponent("weights").path
        config.registryPath = repositoryRoot.appendingPathComponent("config/backbones.json").path
        let status = BLASStatus.measure(environment: Self.wrong)
        XCTAssertEqual(status.health.check, "failed")
        XCTAssertThrowsError(try Service(config: config, blas: status)) { error in
            XCTAssert("\(error)".contains("computes wrong results on this CPU"), "\(error)")
            XCTAssert("\(error)".contains("Refusing to compute"), "\(error)")
            XCTAssert("\(error)".contains("OPENBLAS_CORETYPE"), "\(error)")
        }
        XCTAssertTrue(BLASStatus.measure(environment: [:]).report.passed)
    }

    /// The executable SwiftPM built beside this test bundle.
    static var executable: URL {
        get throws {
            let bundle = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            return bundle.deletingLastPathComponent().appendingPathComponent("anomaly-clustering")
        }
    }

    func run(_ arguments: [String], environment extra: [String: String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try Self.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        process.currentDirectoryURL = repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func testCommandsRefuseOnAWrongSgemm() throws {
        let binary = try Self.executable
        XCTAssert(FileManager.default.isExecutableFile(atPath: binary.path), "no \(binary.path): build the package first")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("blas-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let images = repositoryRoot.appendingPathComponent("Tests/Fixtures/images").path
        for arguments in [["serve", "--port", "0", "--data-dir", data.path], ["cluster", images],
                          ["evaluate", images, "--output", data.path]] {
            let result = try run(arguments, environment: Self.wrong)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssert(result.stderr.contains("computes wrong results on this CPU"), "\(arguments): \(result.stderr)")
            XCTAssert(result.stderr.contains("OPENBLAS_CORETYPE"), "\(arguments): \(result.stderr)")
        }
        let failed = try run(["--version"], environment: Self.wrong)
        XCTAssertEqual(failed.status, 1)
        XCTAssert(failed.stdout.contains("check FAILED"), failed.stdout)
        let passed = try run(["--version"], environment: [:])
        XCTAssertEqual(passed.status, 0, passed.stderr)
        XCTAssert(passed.stdout.contains("check passed"), passed.stdout)
        XCTAssert(passed.stdout.contains("GFLOP/s"), passed.stdout)
    }
}
