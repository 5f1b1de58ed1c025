// JobStore: creating and reading jobs, the newest-first listing with equal timestamps, state moves, results
// written all-or-nothing, cancel and delete with their cascades, and the start-up recovery of jobs a crash left
// running. Bodies run against `:memory:` and a file; the crash simulations need a file.
import XCTest

@testable import Server

final class JobStoreTests: XCTestCase {
    private let images = [
        storageTestImage("001.png"), storageTestImage("002.png", label: nil), storageTestImage("défaut 3.png"),
    ]
    private let normals = [storageTestImage("good.png", label: "good")]

    /// A store at `path` with a hand-set clock.
    private func makeStore(_ path: String, clock: StorageTestClock = StorageTestClock()) throws -> JobStore {
        try JobStore(path: path, now: clock.function)
    }

    private func count(_ store: JobStore, _ table: String, jobID: String) throws -> Int {
        // Table names are literals from these tests; the id is bound.
        try store.database.read { db in
            try db.fetchOne("SELECT count(*) FROM \(table) WHERE job_id = ?", arguments: [.text(jobID)])?[0] ?? -1
        }
    }

    /// Runs a job through to success with α for every image.
    @discardableResult
    private func finishJob(_ store: JobStore, _ id: String, imageCount: Int, markRunning: Bool = true) throws -> Bool {
        if markRunning { XCTAssertTrue(try store.markRunning(id: id)) }
        let alphas = (0..<imageCount).map {
            AlphaMap(position: $0, gridHeight: 2, gridWidth: 2, weights: [0.25, 0.25, 0.25, 0.25])
        }
        return try store.finish(
            id: id, clusters: 2, assignments: (0..<imageCount).map { $0 % 2 }, metrics: nil, timings: "{}",
            alphas: alphas)
    }

    // MARK: Creating and reading

    func testCreateJobRecordsTheJobAndItsImages() throws {
        try forEachStorageLocation { path, location in
            let clock = StorageTestClock(1_700_000_000_123)
            let store = try makeStore(path, clock: clock)
            let job = try store.createJob(options: #"{"clusters":"auto"}"#, images: images, normals: normals)
            XCTAssertEqual(job.id.count, 32)
            XCTAssertTrue(job.id.allSatisfy { "0123456789abcdef".contains($0) }, job.id)
            XCTAssertEqual(job.status, .queued)
            XCTAssertEqual(job.createdAt, 1_700_000_000_123)
            XCTAssertEqual(job.updatedAt, job.createdAt)
            XCTAssertEqual(job.optionsJSON, #"{"clusters":"auto"}"#)
            XCTAssertEqual(job.imageCount, 3)
            XCTAssertEqual(job.normalCount, 1)
            XCTAssertEqual(job.attempt, 1)
            XCTAssertEqual(job.progress, 0)
            XCTAssertNil(job.stage)
            XCTAssertNil(job.clusterCount)
            XCTAssertEqual(try store.job(id: job.id), job, location.rawValue)
            XCTAssertNil(try store.job(id: "0123456789abcdef0123456789abcdef"))

            let expected =
                images.enumerated().map { ImageRecord(position: $0, isNormal: false, image: $1) }
                + normals.enumerated().map { ImageRecord(position: $0, isNormal: true, image: $1) }
            XCTAssertEqual(try store.images(jobID: job.id), expected, location.rawValue)

            let other = try store.createJob(options: "{}", images: [], normals: [])
            XCTAssertNotEqual(other.id, job.id)
            XCTAssertEqual(try store.images(jobID: other.id), [])
        }
    }

    func testAnIdempotencyKeyMakesOneJobUntilThatJobIsDeleted() throws {
        try forEachStorageLocation { path, location in
            let store = try makeStore(path)
            let key = IdempotencyKey(key: "retry-1", requestSHA256: String(repeating: "a", count: 64))
            guard case .created(let job) = try store.createJob(options: "{}", images: images, normals: [], idempotency: key) else {
                return XCTFail("the first upload with a key made no job (\(location))")
            }
            XCTAssertEqual(try store.createJob(options: "{}", images: images, normals: [], idempotency: key),
                           .existing(job, sameRequest: true), location.rawValue)
            var other = key
            other.requestSHA256 = String(repeating: "b", count: 64)
            XCTAssertEqual(try store.createJob(options: "{}", images: images, normals: [], idempotency: other),
                           .existing(job, sameRequest: false), location.rawValue)
            XCTAssertEqual(try store.job(idempotencyKey: "retry-1")?.0, job)
            XCTAssertNil(try store.job(idempotencyKey: "retry-2"))
            let jobs = try store.database.read { db in try db.fetchOne("SELECT count(*) FROM jobs")?[0] as Int? }
            XCTAssertEqual(jobs, 1, "a repeated key recorded a job (\(location))")
            // Jobs without a key are not affected by the unique index.
            _ = try store.createJob(options: "{}", images: [], normals: [])
            _ = try store.createJob(options: "{}", images: [], normals: [])
            // Deleting the job frees its key.
            XCTAssertNotNil(try store.delete(id: job.id))
            guard case .created(let again) = try store.createJob(options: "{}", images: images, normals: [], idempotency: key) else {
                return XCTFail("the key of a deleted job was not free (\(location))")
            }
            XCTAssertNotEqual(again.id, job.id)
        }
    }

    func testCreateJobIsAllOrNothingAndRefusesPathLikeStoredNames() throws {
        try forEachStorageLocation { path, location in
            let store = try makeStore(path)
            for stored in ["", ".", "..", "../escape.png", "/etc/passwd", "a/b.png"] {
                var bad = storageTestImage("last.png")
                bad.storedPath = stored
                assertThrowsDatabaseError(
                    try store.createJob(options: "{}", images: images + [bad], normals: normals),
                    "\(stored.debugDescription) in \(location)"
                ) { error in
                    XCTAssertEqual(error.extendedCode, 275)  // SQLITE_CONSTRAINT_CHECK
                }
            }
            let rows = try store.database.read { db in
                try db.fetchOne("SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM images)")?[0] as Int?
            }
            XCTAssertEqual(rows, 0, location.rawValue)
        }
    }

    // MARK: Listing

    func testListingIsNewestFirstAndStableWithEqualTimestamps() throws {
        try forEachStorageLocation { path, location in
            let clock = StorageTestClock()
            let store = try makeStore(path, clock: clock)
            // Four jobs share one millisecond, three another, two an earlier one: ties are ordered by id.
            var created: [JobRecord] = []
            for (time, count) in [(2_000, 4), (3_000, 3), (1_000, 2)] as [(Int64, Int)] {
                clock.set(time)
                for _ in 0..<count { created.append(try store.createJob(options: "{}", images: [], normals: [])) }
            }
            let expected = created.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)

            var seen: [String] = []
            var cursor: JobCursor?
            var pages = 0
            repeat {
                let page = try store.listJobs(limit: 4, before: cursor)
                seen += page.jobs.map(\.id)
                cursor = page.next
                pages += 1
                if pages == 1 {
                    // A job arriving between pages is newer than the cursor: later pages do not see it.
                    clock.set(9_000)
                    _ = try store.createJob(options: "{}", images: [], normals: [])
                }
            } while cursor != nil && pages < 10
            XCTAssertEqual(seen, expected, location.rawValue)
            XCTAssertEqual(pages, 3)  // 4 + 4 + 1

            let exact = try store.listJobs(limit: 10, before: nil)
            XCTAssertEqual(exact.jobs.count, 10)
            XCTAssertNil(exact.next)  // exactly the number of jobs: no empty last page
        }
    }

    func testCursorTextRoundTrips() {
        let cursor = JobCursor(createdAt: 1_700_000_000_123, id: "00ff")
        XCTAssertEqual(cursor.description, "1700000000123-00ff")
        XCTAssertEqual(JobCursor(cursor.description), cursor)
        for bad in ["", "-", "12", "12-", "x-00ff", "1.5-00ff"] {
            XCTAssertNil(JobCursor(bad), bad)
        }
    }

    func testQueuedJobsComeInCreationOrderEvenWithinOneMillisecond() throws {
        let store = try makeStore(":memory:")
        let ids = try (0..<5).map { _ in try store.createJob(options: "{}", images: [], normals: []).id }
        XCTAssertTrue(try store.markRunning(id: ids[1]))
        XCTAssertEqual(try store.queuedJobs().map(\.id), [ids[0], ids[2], ids[3], ids[4]])
    }

    // MARK: Running

    func testProgressIsRecordedOnlyWhileRunning() throws {
        try forEachStorageLocation { path, location in
            let clock = StorageTestClock(1_000)
            let store = try makeStore(path, clock: clock)
            let id = try store.createJob(options: "{}", images: images, normals: []).id
            XCTAssertFalse(try store.updateProgress(id: id, stage: "features", progress: 0.5))
            clock.set(2_000)
            XCTAssertTrue(try store.markRunning(id: id))
            XCTAssertFalse(try store.markRunning(id: id))  // only from queued
            clock.set(3_000)
            XCTAssertTrue(try store.updateProgress(id: id, stage: "features", progress: 0.25))
            let job = try XCTUnwrap(try store.job(id: id))
            XCTAssertEqual(job.status, .running, location.rawValue)
            XCTAssertEqual(job.stage, "features")
            XCTAssertEqual(job.progress, 0.25)
            XCTAssertEqual(job.updatedAt, 3_000)
            XCTAssertEqual(job.createdAt, 1_000)
            for bad in [1.5, -0.1, .nan] {
                assertThrowsDatabaseError(try store.updateProgress(id: id, stage: "x", progress: bad), "\(bad)") {
                    XCTAssertTrue($0.isConstraintViolation)
                }
            }
            XCTAssertFalse(try store.updateProgress(id: "missing", stage: "x", progress: 0))
        }
    }

    func testFinishRecordsEveryResult() throws {
        try forEachStorageLocation { path, location in
            let store = try makeStore(path)
            let id = try store.createJob(options: "{}", images: images, normals: normals).id
            XCTAssertTrue(try store.markRunning(id: id))
            let weights: [Float] = [1.0 / 3.0, .leastNonzeroMagnitude, 0, .greatestFiniteMagnitude, -0.0, 1e-30]
            let alpha = AlphaMap(position: 2, gridHeight: 2, gridWidth: 3, weights: weights)
            XCTAssertTrue(
                try store.finish(
                    id: id, clusters: 2, assignments: [1, 0, 1], metrics: #"{"nmi":0.5}"#, timings: #"{"total":1.5}"#,
                    alphas: [alpha]))
            let job = try XCTUnwrap(try store.job(id: id))
            XCTAssertEqual(job.status, .succeeded, location.rawValue)
            XCTAssertEqual(job.clusterCount, 2)
            XCTAssertEqual(job.progress, 1)
            XCTAssertEqual(job.metricsJSON, #"{"nmi":0.5}"#)
            XCTAssertEqual(job.timingsJSON, #"{"total":1.5}"#)
            XCTAssertEqual(try store.assignments(jobID: id), [1, 0, 1])
            let stored = try XCTUnwrap(try store.alpha(jobID: id, position: 2))
            XCTAssertEqual(stored.weights.map(\.bitPattern), weights.map(\.bitPattern))  // bit-exact, -0 included
            XCTAssertEqual(stored, alpha)
            XCTAssertNil(try store.alpha(jobID: id, position: 0))
            XCTAssertFalse(
                try store.finish(id: id, clusters: 2, assignments: [0, 0, 0], metrics: nil, timings: "{}", alphas: []))
        }
    }

    func testAlphaIsStoredLittleEndian() throws {
        let alpha = AlphaMap(position: 0, gridHeight: 1, gridWidth: 2, weights: [1, -2])
        XCTAssertEqual(alpha.littleEndianBytes, [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        XCTAssertThrowsError(try AlphaMap(position: 0, gridHeight: 1, gridWidth: 2, littleEndianBytes: [0, 0, 0x80]))
        XCTAssertThrowsError(try AlphaMap(position: 0, gridHeight: .max, gridWidth: 2, littleEndianBytes: []))
    }

    func testFinishWritesNothingWhenItFailsHalfWay() throws {
        try forEachStorageLocation { path, location in
            let store = try makeStore(path)
            let id = try store.createJob(options: "{}", images: images, normals: []).id
            XCTAssertTrue(try store.updateProgress(id: id, stage: "ward", progress: 0.9) == false)
            XCTAssertTrue(try store.markRunning(id: id))
            XCTAssertTrue(try store.updateProgress(id: id, stage: "ward", progress: 0.9))
            let alpha = AlphaMap(position: 1, gridHeight: 1, gridWidth: 1, weights: [1])
            // The jobs row and all three assignments are written before the second α hits the primary key.
            assertThrowsDatabaseError(
                try store.finish(
                    id: id, clusters: 2, assignments: [0, 1, 1], metrics: nil, timings: "{}", alphas: [alpha, alpha]),
                location.rawValue
            ) { XCTAssertEqual($0.extendedCode, 1555) }  // SQLITE_CONSTRAINT_PRIMARYKEY
            // Results that do not fit the job are refused before anything is written.
            XCTAssertThrowsError(
                try store.finish(id: id, clusters: 2, assignments: [0, 1], metrics: nil, timings: "{}", alphas: [])
            ) { XCTAssertTrue($0 is JobResultError, "\($0)") }
            XCTAssertThrowsError(
                try store.finish(
                    id: id, clusters: 2, assignments: [0, 1, 1], metrics: nil, timings: "{}",
                    alphas: [AlphaMap(position: 3, gridHeight: 1, gridWidth: 1, weights: [1])])
            ) { XCTAssertTrue($0 is JobResultError, "\($0)") }

            let job = try XCTUnwrap(try store.job(id: id))
            XCTAssertEqual(job.status, .running, location.rawValue)
            XCTAssertEqual(job.stage, "ward")
            XCTAssertEqual(job.progress, 0.9)
            XCTAssertNil(job.clusterCount)
            XCTAssertNil(job.timingsJSON)
            XCTAssertEqual(try count(store, "assignments", jobID: id), 0)
            XCTAssertEqual(try count(store, "alphas", jobID: id), 0)
            // And the job can still finish properly.
            XCTAssertTrue(
                try store.finish(
                    id: id, clusters: 2, assignments: [0, 1, 1], metrics: nil, timings: "{}", alphas: [alpha]))
        }
    }

    /// The test-only hook tools/crash_test.sh pauses in: every result row is written, nothing is committed.
    func testBeforeResultCommitRunsInsideTheResultTransaction() throws {
        try withStorageTemporaryDirectory { directory in
            var store = try makeStore(directory.appendingPathComponent("hook.sqlite").path)
            let id = try store.createJob(options: "{}", images: images, normals: []).id
            XCTAssertTrue(try store.markRunning(id: id))
            let seen = StorageTestClock(0)  // a thread-safe counter
            store.beforeResultCommit = { [store] hookID in
                XCTAssertEqual(hookID, id)
                // The read-only connection does not see the uncommitted results.
                XCTAssertEqual(try? store.job(id: id)?.status, .running)
                XCTAssertEqual(try? store.assignments(jobID: id), [])
                seen.advance(by: 1)
            }
            XCTAssertTrue(try finishJob(store, id, imageCount: 3, markRunning: false))
            XCTAssertEqual(seen.now, 1)
            XCTAssertEqual(try store.assignments(jobID: id), [0, 1, 0])
        }
    }

    func testFailRecordsCodeAndMessageOnceOnly() throws {
        let store = try makeStore(":memory:")
        let id = try store.createJob(options: "{}", images: images, normals: []).id
        XCTAssertTrue(try store.markRunning(id: id))
        XCTAssertTrue(try store.fail(id: id, code: "image_decode", message: "002.png is not a PNG"))
        XCTAssertFalse(try store.fail(id: id, code: "other", message: "later"))
        let job = try XCTUnwrap(try store.job(id: id))
        XCTAssertEqual(job.status, .failed)
        XCTAssertEqual(job.errorCode, "image_decode")
        XCTAssertEqual(job.errorMessage, "002.png is not a PNG")
        XCTAssertNil(job.stage)
        XCTAssertFalse(try store.markRunning(id: id))
    }

    // MARK: Cancelling and deleting

    func testCancelStopsLiveJobsOnly() throws {
        try forEachStorageLocation { path, location in
            let store = try makeStore(path)
            let queued = try store.createJob(options: "{}", images: images, normals: []).id
            let running = try store.createJob(options: "{}", images: images, normals: []).id
            let done = try store.createJob(options: "{}", images: images, normals: []).id
            XCTAssertTrue(try finishJob(store, done, imageCount: images.count))
            XCTAssertTrue(try store.markRunning(id: running))

            XCTAssertEqual(try store.cancel(id: queued)?.status, .cancelled, location.rawValue)
            XCTAssertFalse(try store.markRunning(id: queued))
            XCTAssertEqual(try store.cancel(id: running)?.status, .cancelled)
            // The worker learns at its next write, and its results are dropped.
            XCTAssertFalse(try store.updateProgress(id: running, stage: "ward", progress: 0.5))
            XCTAssertFalse(
                try store.finish(
                    id: running, clusters: 1, assignments: [0, 0, 0], metrics: nil, timings: "{}", alphas: []))
            XCTAssertEqual(try count(store, "assignments", jobID: running), 0)
            XCTAssertEqual(try store.cancel(id: running)?.status, .cancelled)  // idempotent
            XCTAssertEqual(try store.cancel(id: done)?.status, .succeeded)  // too late: unchanged
            XCTAssertNil(try store.cancel(id: "missing"))
        }
    }

    func testDeleteCascadesAndReturnsTheStoredFiles() throws {
        try forEachStorageLocation { path, location in
            let store = try makeStore(path)
            let doomed = try store.createJob(options: "{}", images: images, normals: normals).id
            let kept = try store.createJob(options: "{}", images: images, normals: normals).id
            try finishJob(store, doomed, imageCount: images.count)
            try finishJob(store, kept, imageCount: images.count)

            let files = try store.delete(id: doomed)
            XCTAssertEqual(files, (images + normals).map(\.storedPath), location.rawValue)
            XCTAssertNil(try store.job(id: doomed))
            for table in ["images", "assignments", "alphas"] {
                XCTAssertEqual(try count(store, table, jobID: doomed), 0, "\(table) in \(location)")
                XCTAssertGreaterThan(try count(store, table, jobID: kept), 0, "\(table) in \(location)")
            }
            XCTAssertNil(try store.delete(id: doomed))
            XCTAssertEqual(try store.job(id: kept)?.status, .succeeded)
        }
    }

    func testStatusCountsIncludeZeros() throws {
        let store = try makeStore(":memory:")
        XCTAssertEqual(try store.statusCounts(), [.queued: 0, .running: 0, .succeeded: 0, .failed: 0, .cancelled: 0])
        let ids = try (0..<4).map { _ in try store.createJob(options: "{}", images: images, normals: []).id }
        try finishJob(store, ids[0], imageCount: images.count)
        XCTAssertTrue(try store.markRunning(id: ids[1]))
        _ = try store.cancel(id: ids[2])
        XCTAssertEqual(try store.statusCounts(), [.queued: 1, .running: 1, .succeeded: 1, .failed: 0, .cancelled: 1])
    }

    // MARK: Recovery after a crash

    func testRunningJobsAreRequeuedAfterAnUncleanStop() throws {
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("jobs.sqlite").path
            let clock = StorageTestClock(5_000)
            let before = try makeStore(path, clock: clock)
            let ids = try (0..<4).map { _ in try before.createJob(options: "{}", images: images, normals: []).id }
            XCTAssertTrue(try before.markRunning(id: ids[2]))
            XCTAssertTrue(try before.markRunning(id: ids[0]))
            XCTAssertTrue(try before.updateProgress(id: ids[0], stage: "alpha", progress: 0.4))
            try finishJob(before, ids[3], imageCount: images.count)
            // The process "dies": the connection goes away without any job being finished or failed.
            before.close()

            let after = try makeStore(path, clock: clock)
            let report = try after.requeueInterrupted()
            XCTAssertEqual(report, RecoveryReport(requeued: [ids[0], ids[2]], abandoned: []))  // creation order
            for id in [ids[0], ids[2]] {
                let job = try XCTUnwrap(try after.job(id: id))
                XCTAssertEqual(job.status, .queued)
                XCTAssertEqual(job.attempt, 2)
                XCTAssertEqual(job.progress, 0)
                XCTAssertNil(job.stage)
            }
            XCTAssertEqual(try after.queuedJobs().map(\.id), [ids[0], ids[1], ids[2]])
            XCTAssertEqual(try after.job(id: ids[3])?.status, .succeeded)
            XCTAssertEqual(try after.requeueInterrupted(), RecoveryReport(requeued: [], abandoned: []))
        }
    }

    func testAJobInterruptedOnItsLastAttemptFails() throws {
        let store = try makeStore(":memory:")
        let id = try store.createJob(options: "{}", images: images, normals: []).id
        XCTAssertTrue(try store.markRunning(id: id))
        XCTAssertEqual(try store.requeueInterrupted(maxAttempts: 2), RecoveryReport(requeued: [id], abandoned: []))
        XCTAssertTrue(try store.markRunning(id: id))
        XCTAssertEqual(try store.requeueInterrupted(maxAttempts: 2), RecoveryReport(requeued: [], abandoned: [id]))
        let job = try XCTUnwrap(try store.job(id: id))
        XCTAssertEqual(job.status, .failed)
        XCTAssertEqual(job.errorCode, "interrupted")
        XCTAssertEqual(job.attempt, 2)
    }
}
