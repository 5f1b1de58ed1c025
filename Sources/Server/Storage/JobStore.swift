// The job database as the server sees it: typed operations over `jobs`, `images`, `assignments` and `alphas`,
// each one closure on the serialized connection, multi-row writes in one transaction. This file opens the
// store, creates jobs and answers queries; `JobStore+Lifecycle.swift` moves jobs through their states.
// Every statement is a literal with `?` parameters; no value is ever interpolated into SQL.
import Foundation

/// The durable record of jobs, their images and their results.
///
/// Durability: the connection runs with `synchronous = NORMAL` (WAL), which survives any crash of the
/// process, and raises it to FULL for the commits that answer a client: creating (the 202), cancelling and
/// deleting a job. Those survive a power cut too. The worker's writes (progress, results, failures) stay at
/// NORMAL: a power cut can only undo a suffix of them, which leaves the job `running` or `queued`, and
/// `requeueInterrupted` runs it again at start-up. FULL costs one fdatasync of the WAL per commit, 0.2–4 ms on
/// the development VM (ext4 on a shared virtio disk; medians of 300, NORMAL and FULL alternating): creating a
/// job with 64 images takes 3.5 ms instead of 0.5 ms, negligible beside receiving its images, while a progress
/// update would take 3.9 ms instead of 0.04 ms. Hence FULL only where a client holds the answer.
struct JobStore: Sendable {
    /// The connection; exposed for tests and for /metrics' `PRAGMA` queries, not for ad-hoc SQL elsewhere.
    let database: SerializedDatabase
    /// The clock, in milliseconds since the Unix epoch; tests pass a fixed one to get equal timestamps.
    let now: @Sendable () -> Int64
    /// Test-only: called with the job id inside `finish`'s transaction, after every result row is written
    /// and before COMMIT, so that tools/crash_test.sh can kill the process while the result write is open.
    /// The service sets it only when `AC_TEST_PAUSE_BEFORE_COMMIT` is (`ServerConfig.testPauseBeforeCommit`).
    var beforeResultCommit: (@Sendable (String) -> Void)?
    /// Test-only: called with the job id inside `delete`'s transaction, before its DELETE; throwing from it
    /// fails the delete (`ServerConfig.testDeletesFailingAsDiskFull`).
    var beforeDelete: (@Sendable (String) throws -> Void)?

    /// Opens the database at `path` (or `:memory:`) and applies the missing migration steps.
    /// - Throws: `DatabaseError`, or `MigrationError.unknownMigrations` for a database from a newer build.
    init(path: String, now: @escaping @Sendable () -> Int64 = { JobStore.currentMilliseconds() }) throws {
        try self.init(database: SerializedDatabase(path: path), now: now)
    }

    /// Uses an open connection and applies the missing migration steps.
    init(
        database: SerializedDatabase, now: @escaping @Sendable () -> Int64 = { JobStore.currentMilliseconds() }
    ) throws {
        try database.write { db in try JobSchema.migrator.migrate(db) }
        self.database = database
        self.now = now
    }

    /// Closes the connection. The store must not be used afterwards.
    func close() {
        database.close()
    }

    /// Wall-clock milliseconds since the Unix epoch.
    static func currentMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// A new job id: 128 bits from the system's CSPRNG as 32 lowercase hex digits. Unguessable, so knowing
    /// one job's URL reveals no other; a collision (2^-64 odds at four billion jobs) fails the insert.
    static func makeJobID() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = [generator.next() as UInt64, generator.next() as UInt64]
        return words.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    // MARK: Creating

    /// Records a new `queued` job with its images to cluster and its normal references, in one transaction
    /// committed with FULL durability. Answer 202 only after this returns: then the job survives a crash or
    /// a power cut. (The image files it names must already be written and fsynced by the upload layer.)
    /// - Parameters:
    ///   - optionsJSON: the resolved options, JSON text, stored as given.
    ///   - images: the images to cluster; position = index.
    ///   - normals: the normal reference images; position = index.
    /// - Throws: `DatabaseError`, e.g. a CHECK violation for a path-like `storedPath`; nothing is recorded.
    ///   - estimateJSON: the cost estimate, JSON text, stored as given.
    func createJob(
        options optionsJSON: String, estimate estimateJSON: String? = nil, images: [NewImage], normals: [NewImage]
    ) throws -> JobRecord {
        guard case .created(let job) = try createJob(
            options: optionsJSON, estimate: estimateJSON, images: images, normals: normals, idempotency: nil)
        else { preconditionFailure("a job without a key cannot exist already") }
        return job
    }

    /// As `createJob`, for an upload that carries an Idempotency-Key: when a job with that key exists, nothing
    /// is recorded and that job is returned, with whether its request had the same SHA-256. The lookup and
    /// the insert are one transaction on the single writer, so two uploads with one key make one job.
    func createJob(
        options optionsJSON: String, estimate estimateJSON: String? = nil, images: [NewImage], normals: [NewImage],
        idempotency: IdempotencyKey?
    ) throws -> JobCreation {
        let id = Self.makeJobID()
        let time = now()
        return try database.write { db in
            try db.transaction(durability: .full) {
                if let idempotency, let (job, sha256) = try Self.fetchJob(db, idempotencyKey: idempotency.key) {
                    return .existing(job, sameRequest: sha256 == idempotency.requestSHA256)
                }
                try db.execute(
                    """
                    INSERT INTO jobs
                        (id, created_at, updated_at, status, options_json, image_count, normal_count, estimate_json,
                         idempotency_key, request_sha256)
                    VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)
                    """,
                    arguments: [
                        .text(id), .integer(time), .integer(time), .text(optionsJSON), DatabaseValue(images.count),
                        DatabaseValue(normals.count), DatabaseValue(estimateJSON), DatabaseValue(idempotency?.key),
                        DatabaseValue(idempotency?.requestSHA256),
                    ])
                for (isNormal, list) in [(false, images), (true, normals)] {
                    for (position, image) in list.enumerated() {
                        try db.execute(
                            """
                            INSERT INTO images
                                (job_id, is_normal, position, name, label, stored_path, width, height, format)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                            arguments: [
                                .text(id), DatabaseValue(isNormal), DatabaseValue(position), .text(image.name),
                                DatabaseValue(image.label), .text(image.storedPath), DatabaseValue(image.width),
                                DatabaseValue(image.height), .text(image.format),
                            ])
                    }
                }
                guard let job = try Self.fetchJob(db, id: id) else { preconditionFailure("job \(id) vanished") }
                return .created(job)
            }
        }
    }

    // MARK: Reading

    /// The job with this id, or nil.
    func job(id: String) throws -> JobRecord? {
        try database.read { db in try Self.fetchJob(db, id: id) }
    }

    static func fetchJob(_ db: Database, id: String) throws -> JobRecord? {
        try db.fetchOne("SELECT " + JobRecord.columns + " FROM jobs WHERE id = ?", arguments: [.text(id)])
            .map(JobRecord.init(row:))
    }

    /// The job created with this Idempotency-Key, and the SHA-256 of its request; nil when none exists.
    func job(idempotencyKey key: String) throws -> (JobRecord, requestSHA256: String)? {
        try database.read { db in try Self.fetchJob(db, idempotencyKey: key) }
    }

    static func fetchJob(_ db: Database, idempotencyKey key: String) throws -> (JobRecord, requestSHA256: String)? {
        guard let row = try db.fetchOne(
            "SELECT id, request_sha256 FROM jobs WHERE idempotency_key = ?", arguments: [.text(key)])
        else { return nil }
        guard let job = try fetchJob(db, id: row[0]) else { return nil }
        return (job, try row[1])
    }

    /// Up to `limit` jobs, newest first, strictly after `cursor` in that order (from the newest when nil).
    /// Ordered by (created_at, id) descending: a total order, so pages neither repeat nor skip jobs.
    /// - Precondition: `limit > 0` (the route clamps the client's value).
    func listJobs(limit: Int, before cursor: JobCursor? = nil) throws -> JobPage {
        precondition(limit > 0, "limit must be positive")
        // One row more than asked tells whether another page exists.
        let rows = try database.read { db in
            if let cursor {
                // A row-value comparison, which SQLite answers from the (created_at, id) index.
                return try db.fetchAll(
                    "SELECT " + JobRecord.columns
                        + " FROM jobs WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
                    arguments: [.integer(cursor.createdAt), .text(cursor.id), DatabaseValue(limit + 1)])
            }
            return try db.fetchAll(
                "SELECT " + JobRecord.columns + " FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?",
                arguments: [DatabaseValue(limit + 1)])
        }
        let jobs = try rows.prefix(limit).map(JobRecord.init(row:))
        return JobPage(jobs: jobs, next: rows.count > limit ? jobs.last?.cursor : nil)
    }

    /// The `queued` jobs in creation order (ties within a millisecond broken by insertion order, the rowid):
    /// what the worker queue is filled with at start-up.
    func queuedJobs() throws -> [JobRecord] {
        try database.read { db in
            try db.fetchAll(
                "SELECT " + JobRecord.columns + " FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid"
            )
            .map(JobRecord.init(row:))
        }
    }

    /// The job's images: those to cluster by position, then the normal references by position.
    func images(jobID: String) throws -> [ImageRecord] {
        try database.read { db in
            try db.fetchAll(
                """
                SELECT position, is_normal, name, label, stored_path, width, height, format
                FROM images WHERE job_id = ? ORDER BY is_normal, position
                """,
                arguments: [.text(jobID)]
            ).map(ImageRecord.init(row:))
        }
    }

    /// The cluster of each image to cluster, indexed by position (nil for an image left out of the
    /// clustering by an excluded label); empty unless the job succeeded.
    /// - Throws: `RowDecodingError` if a stored position is outside the job's images (never written so).
    func assignments(jobID: String) throws -> [Int?] {
        try database.read { db in
            guard let job = try Self.fetchJob(db, id: jobID), job.status == .succeeded else { return [] }
            let rows = try db.fetchAll(
                "SELECT position, cluster FROM assignments WHERE job_id = ? ORDER BY position",
                arguments: [.text(jobID)])
            var clusters = [Int?](repeating: nil, count: job.imageCount)
            for row in rows {
                let position: Int = try row["position"]
                guard clusters.indices.contains(position) else {
                    throw RowDecodingError(column: "position", message: "holds \(position) for a job of \(job.imageCount) images")
                }
                clusters[position] = try row["cluster"] as Int
            }
            return clusters
        }
    }

    /// The α heat map of the image to cluster at `position`, or nil.
    func alpha(jobID: String, position: Int) throws -> AlphaMap? {
        let row = try database.read { db in
            try db.fetchOne(
                "SELECT grid_height, grid_width, weights FROM alphas WHERE job_id = ? AND position = ?",
                arguments: [.text(jobID), DatabaseValue(position)])
        }
        guard let row else { return nil }
        return try AlphaMap(
            position: position, gridHeight: try row["grid_height"], gridWidth: try row["grid_width"],
            littleEndianBytes: try row["weights"])
    }

    /// Every stored file name of every job's images (start-up removes files no job names).
    func allStoredPaths() throws -> Set<String> {
        try database.read { db in
            Set(try db.fetchAll("SELECT stored_path FROM images").map { try $0["stored_path"] as String })
        }
    }

    /// How many jobs are in each status, zeros included (for /metrics).
    func statusCounts() throws -> [JobStatus: Int] {
        let rows = try database.read { db in
            try db.fetchAll("SELECT status, count(*) AS count FROM jobs GROUP BY status")
        }
        var counts = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0, 0) })
        for row in rows {
            counts[try JobStatus.decode(row)] = try row["count"]
        }
        return counts
    }
}

/// Results that cannot belong to the job they are reported for: a bug upstream, reported as an error so the
/// worker can fail the job instead of the process trapping.
struct JobResultError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String
    var description: String { message }
}
