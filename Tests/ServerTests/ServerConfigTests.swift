// The service's settings: the file, then AC_* variables, then flags, each overriding the one before; every
// bad value is an error naming its source and key.
import Foundation
import XCTest

@testable import Server

final class ServerConfigTests: XCTestCase {
    private func file(_ json: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testTheShippedFileIsTheDefaults() throws {
        let shipped = try ServerConfig.load(
            file: repositoryRoot.appendingPathComponent("config/server.json").path, environment: [:], flags: [])
        XCTAssertEqual(shipped, ServerConfig())
    }

    func testLayersOverrideInOrderFileEnvironmentFlags() throws {
        let path = try file(#"{"port": 9001, "data_dir": "/srv/a", "workers": 2, "token": null, "host": "0.0.0.0"}"#)
        let config = try ServerConfig.load(
            file: path, environment: ["AC_PORT": "9002", "AC_DATA_DIR": "/srv/b", "AC_TOKEN": "0123456789abcdefXYZ", "OTHER": "x"],
            flags: [("port", "9003")])
        XCTAssertEqual(config.port, 9003)
        XCTAssertEqual(config.dataDirectory, "/srv/b")
        XCTAssertEqual(config.workers, 2)
        XCTAssertEqual(config.host, "0.0.0.0")
        XCTAssertEqual(config.token, "0123456789abcdefXYZ")
        XCTAssertEqual(config.databasePath, "/srv/b/jobs.sqlite")
    }

    /// The crash test's pause before the result COMMIT comes from its environment variable only.
    func testThePauseBeforeCommitIsATestOnlyEnvironmentVariable() throws {
        XCTAssertNil(try ServerConfig.load(file: nil, environment: [:], flags: []).testPauseBeforeCommit)
        let config = try ServerConfig.load(file: nil, environment: ["AC_TEST_PAUSE_BEFORE_COMMIT": "1500"], flags: [])
        XCTAssertEqual(config.testPauseBeforeCommit, 1500)
        XCTAssertFalse(ServerConfig.keys.contains("test_pause_before_commit"), "not a key of the file or a flag")
        XCTAssertThrowsError(try ServerConfig.load(file: nil, environment: ["AC_TEST_PAUSE_BEFORE_COMMIT": "0"], flags: [])) {
            XCTAssertEqual("\($0)", "environment variable AC_TEST_PAUSE_BEFORE_COMMIT: must be milliseconds from 1 to 600000; got '0'")
        }
    }

    func testBadValuesNameTheirSourceAndKey() throws {
        func message(file json: String? = nil, environment: [String: String] = [:], flags: [(key: String, value: String)] = []) throws -> String {
            do {
                _ = try ServerConfig.load(file: try json.map(file), environment: environment, flags: flags)
                return ""
            } catch { return "\(error)" }
        }
        XCTAssert(try message(file: #"{"prot": 1}"#).hasSuffix(": unknown key 'prot'; known: " + ServerConfig.keys.joined(separator: ", ")))
        XCTAssert(try message(file: #"{"port": true}"#).hasSuffix(": not a JSON object of numbers, strings and nulls"))
        XCTAssert(try message(file: "[1]").hasSuffix(": not a JSON object of numbers, strings and nulls"))
        XCTAssertEqual(try message(environment: ["AC_PORT": "80a"]), "environment variable AC_PORT: 'port' must be an integer from 0 to 65535; got '80a'")
        XCTAssertEqual(try message(flags: [("workers", "0")]), "--workers: 'workers' must be an integer from 1 to 64; got '0'")
        XCTAssertEqual(try message(environment: ["AC_TOKEN": "short"]), "environment variable AC_TOKEN: 'token' must be at least 16 visible ASCII characters")
        XCTAssertEqual(try message(flags: [("data_dir", "")]), "--data-dir: 'data_dir' must be a non-empty single line")
        XCTAssertEqual(
            try { () throws -> String in
                do { _ = try ServerConfig.load(file: "/nonexistent/server.json", environment: [:], flags: []); return "" } catch { return "\(error)" }
            }(), "/nonexistent/server.json: cannot be read")
    }
}
