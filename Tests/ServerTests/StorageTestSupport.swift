// Helpers shared by the storage tests: run one test body against an in-memory database and against a file in a
// fresh temporary directory (GRDB's `Test(test).run { … }` with `runAtTemporaryDatabasePath`), and a clock
// the tests set by hand, so several jobs can share one timestamp.
import Foundation
import XCTest

@testable import Server

/// Where a test database lives.
enum StorageTestLocation: String, CaseIterable {
    case memory, file
}

/// A fresh temporary directory, removed when `body` returns.
func withStorageTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("storage-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Runs `body` twice: with `:memory:` and with a database file in a fresh temporary directory. The location is
/// passed along for assertion messages.
func forEachStorageLocation(_ body: (_ path: String, _ location: StorageTestLocation) throws -> Void) throws {
    for location in StorageTestLocation.allCases {
        switch location {
        case .memory:
            try body(":memory:", location)
        case .file:
            try withStorageTemporaryDirectory { directory in
                try body(directory.appendingPathComponent("test.sqlite").path, location)
            }
        }
    }
}

/// A clock for `JobStore(now:)` that returns what the test set, in milliseconds since the Unix epoch.
final class StorageTestClock: @unchecked Sendable {
    // @unchecked: `milliseconds` is only accessed under `lock`.
    private let lock = NSLock()
    private var milliseconds: Int64

    init(_ milliseconds: Int64 = 1_700_000_000_000) {
        self.milliseconds = milliseconds
    }

    /// The current time; does not advance by itself.
    var now: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return milliseconds
    }

    /// Sets the time returned from now on.
    func set(_ value: Int64) {
        lock.lock()
        milliseconds = value
        lock.unlock()
    }

    /// Moves the time forward atomically (tests also use this as a thread-safe counter).
    func advance(by delta: Int64) {
        lock.lock()
        milliseconds += delta
        lock.unlock()
    }

    /// The closure `JobStore` takes.
    var function: @Sendable () -> Int64 { { self.now } }
}

/// A plausible image for `createJob`, its stored name derived from `name`.
func storageTestImage(_ name: String, label: String? = "crack") -> NewImage {
    NewImage(name: name, label: label, storedPath: "stored-\(name)", width: 64, height: 48, format: "png")
}

/// Asserts that `expression` throws a `DatabaseError` and hands it to `check`.
func assertThrowsDatabaseError<T>(
    _ expression: @autoclosure () throws -> T, _ message: String = "", file: StaticString = #filePath,
    line: UInt = #line, _ check: (DatabaseError) -> Void = { _ in }
) {
    XCTAssertThrowsError(try expression(), message, file: file, line: line) { error in
        guard let error = error as? DatabaseError else {
            return XCTFail("expected a DatabaseError, got \(error) \(message)", file: file, line: line)
        }
        check(error)
    }
}
