// "A 202 is a promise": a job whose createJob returned survives the process being killed with SIGKILL. The test
// re-runs this test binary as a child (selected by an environment variable) that creates a job, prints
// "committed <id>" and keeps writing more jobs until the parent kills it mid-write; the parent then reopens the
// database, finds the job, and checks `PRAGMA integrity_check` and that no half-written job survived.
import Foundation
import XCTest

@testable import Server

final class CrashDurabilityTests: XCTestCase {
    /// Set in the child's environment to the database path; its presence makes the test act as the child.
    private static let childDatabaseVariable = "ANOMALY_CLUSTERING_STORAGE_CRASH_CHILD_DB"

    /// Jobs the child commits after the announced one before it says "streaming".
    private static let jobsBeforeStreaming = 5

    private let images = (0..<16).map { storageTestImage(String(format: "%03d.png", $0)) }

    func testCommittedJobSurvivesSIGKILL() throws {
        if let path = ProcessInfo.processInfo.environment[Self.childDatabaseVariable] {
            try actAsChild(databasePath: path)
        }
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("jobs.sqlite").path
            let child = Process()
            child.executableURL = URL(fileURLWithPath: try testBinaryPath())
            // XCTest on Linux runs only the named test: "Module.Class/method".
            child.arguments = ["\(String(reflecting: Self.self))/testCommittedJobSurvivesSIGKILL"]
            child.environment = ProcessInfo.processInfo.environment.merging([Self.childDatabaseVariable: path]) { $1 }
            let output = Pipe()
            child.standardOutput = output
            child.standardError = FileHandle.nullDevice
            try child.run()

            // Read until the child is committing a stream of later jobs (or its output ends, if it failed), then
            // kill it: the kill lands in the middle of one of those writes.
            var text = ""
            while !text.contains("streaming\n") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "child output:\n\(text)")
            XCTAssertEqual(child.terminationStatus, SIGKILL)
            let committed = text.split(separator: "\n").first { $0.hasPrefix("committed ") }
            let id = try XCTUnwrap(committed?.dropFirst("committed ".count).description, "no commit; output:\n\(text)")
            // Killed with its connection open: the WAL was never checkpointed, so recovery reads it.
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-wal"))

            let store = try JobStore(path: path)
            defer { store.close() }
            let job = try XCTUnwrap(try store.job(id: id), "the acknowledged job is gone")
            XCTAssertEqual(job.status, .queued)
            XCTAssertEqual(try store.images(jobID: id).map(\.image), images)
            let (integrity, partial, total) = try store.database.read { db in
                (
                    try db.fetchOne("PRAGMA integrity_check")?[0] as String?,
                    try db.fetchOne(
                        """
                        SELECT count(*) FROM jobs AS j
                        WHERE image_count <> (SELECT count(*) FROM images WHERE job_id = j.id)
                        """
                    )?[0] as Int?,
                    try db.fetchOne("SELECT count(*) FROM jobs")?[0] as Int?
                )
            }
            XCTAssertEqual(integrity, "ok")
            XCTAssertEqual(partial, 0, "a job survived without all its images")
            XCTAssertGreaterThanOrEqual(total ?? 0, 1 + Self.jobsBeforeStreaming)
        }
    }

    /// The child: commit one job and announce it, commit a few more and say "streaming", then keep committing
    /// until killed (30 s at most, so a parent that died first cannot leave it running forever).
    private func actAsChild(databasePath: String) throws -> Never {
        let store = try JobStore(path: databasePath)
        let job = try store.createJob(options: "{}", images: images, normals: [])
        // FileHandle writes go straight to write(2): nothing sits in a stdio buffer when SIGKILL arrives.
        FileHandle.standardOutput.write(Data("committed \(job.id)\n".utf8))
        let deadline = Date().addingTimeInterval(30)
        var count = 0
        while Date() < deadline {
            let next = try store.createJob(options: "{}", images: images, normals: [])
            _ = try store.markRunning(id: next.id)
            count += 1
            if count == Self.jobsBeforeStreaming { FileHandle.standardOutput.write(Data("streaming\n".utf8)) }
        }
        exit(0)
    }

    /// This test binary (the `.xctest` executable SwiftPM builds on Linux).
    private func testBinaryPath() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }
}
