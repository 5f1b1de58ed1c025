// A job's moves between states: queued → running → succeeded | failed, cancelled from either live state,
// deleted at any time, and back to queued when a restart finds it running. Every move is one conditional
// UPDATE (`… WHERE status = 'running'`), so a worker racing a cancel learns it lost instead of overwriting.

extension JobStore {
    /// queued → running, at the start of a run; stage and progress start from nothing.
    /// - Returns: false if the job is gone or no longer queued (cancelled meanwhile): do not run it.
    func markRunning(id: String) throws -> Bool {
        let time = now()
        return try database.write { db in
            try db.execute(
                """
                UPDATE jobs SET status = 'running', stage = NULL, progress = 0, updated_at = ?
                WHERE id = ? AND status = 'queued'
                """,
                arguments: [.integer(time), .text(id)])
            return db.changes == 1
        }
    }

    /// Records the running stage and fraction done (0…1).
    /// - Returns: false if the job is no longer running (cancelled or deleted): the worker should stop.
    /// - Throws: `DatabaseError` for a progress outside 0…1 (CHECK) or NaN (NOT NULL: SQLite stores NaN as NULL).
    func updateProgress(id: String, stage: String, progress: Double) throws -> Bool {
        let time = now()
        return try database.write { db in
            try db.execute(
                "UPDATE jobs SET stage = ?, progress = ?, updated_at = ? WHERE id = ? AND status = 'running'",
                arguments: [.text(stage), .double(progress), .integer(time), .text(id)])
            return db.changes == 1
        }
    }

    /// running → succeeded, with every result, in one transaction: a reader sees either no results or all of
    /// them. Committed at NORMAL durability; if a power cut undoes it, the job is re-run (see `JobStore`).
    /// - Parameters:
    ///   - clusterCount: the number of clusters found.
    ///   - assignments: the cluster of each image to cluster, indexed by position (one per image; nil for an
    ///     image whose label was excluded from the clustering).
    ///   - metricsJSON: metrics against ground-truth labels, JSON text, when labels were given.
    ///   - timingsJSON: per-stage durations, JSON text.
    ///   - alphas: α of the images to cluster, positions unique and in range.
    /// - Returns: false, writing nothing, if the job is gone or no longer running (cancelled meanwhile).
    /// - Throws: `JobResultError` when the results do not fit the job (wrong count, position out of range),
    ///   `DatabaseError` for a constraint violation (a duplicate α position); nothing is written.
    func finish(
        id: String, clusters clusterCount: Int, assignments: [Int?], metrics metricsJSON: String?,
        timings timingsJSON: String, alphas: [AlphaMap]
    ) throws -> Bool {
        let time = now()
        return try database.write { db in
            try db.transaction {
                let row = try db.fetchOne("SELECT status, image_count FROM jobs WHERE id = ?", arguments: [.text(id)])
                guard let row, try JobStatus.decode(row) == .running else { return false }
                let imageCount: Int = try row["image_count"]
                guard assignments.count == imageCount else {
                    throw JobResultError(
                        message: "\(assignments.count) assignments for \(imageCount) images in job \(id)")
                }
                if let stray = alphas.first(where: { !(0..<imageCount).contains($0.position) }) {
                    throw JobResultError(
                        message: "α for position \(stray.position) of \(imageCount) images in job \(id)")
                }
                try db.execute(
                    """
                    UPDATE jobs SET status = 'succeeded', stage = NULL, progress = 1, cluster_count = ?,
                        metrics_json = ?, timings_json = ?, updated_at = ?
                    WHERE id = ?
                    """,
                    arguments: [
                        DatabaseValue(clusterCount), DatabaseValue(metricsJSON), .text(timingsJSON), .integer(time),
                        .text(id),
                    ])
                for (position, cluster) in assignments.enumerated() {
                    guard let cluster else { continue }
                    try db.execute(
                        "INSERT INTO assignments (job_id, position, cluster) VALUES (?, ?, ?)",
                        arguments: [.text(id), DatabaseValue(position), DatabaseValue(cluster)])
                }
                for alpha in alphas {
                    try db.execute(
                        """
                        INSERT INTO alphas (job_id, position, grid_height, grid_width, weights)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                        arguments: [
                            .text(id), DatabaseValue(alpha.position), DatabaseValue(alpha.gridHeight),
                            DatabaseValue(alpha.gridWidth), .blob(alpha.littleEndianBytes),
                        ])
                }
                beforeResultCommit?(id)
                return true
            }
        }
    }

    /// queued or running → failed, with a machine-readable code and a message for the client.
    /// - Returns: false if the job is gone or already final.
    func fail(id: String, code: String, message: String) throws -> Bool {
        let time = now()
        return try database.write { db in
            try db.execute(
                """
                UPDATE jobs SET status = 'failed', stage = NULL, error_code = ?, error_message = ?, updated_at = ?
                WHERE id = ? AND status IN ('queued', 'running')
                """,
                arguments: [.text(code), .text(message), .integer(time), .text(id)])
            return db.changes == 1
        }
    }

    /// queued or running → cancelled, committed with FULL durability (the client is told it is cancelled).
    /// A running worker finds out at its next `updateProgress` or `finish`, which return false.
    /// - Returns: the job afterwards (unchanged if it was already final), or nil if there is no such job.
    func cancel(id: String) throws -> JobRecord? {
        let time = now()
        return try database.write { db in
            try db.transaction(durability: .full) {
                try db.execute(
                    """
                    UPDATE jobs SET status = 'cancelled', stage = NULL, updated_at = ?
                    WHERE id = ? AND status IN ('queued', 'running')
                    """,
                    arguments: [.integer(time), .text(id)])
                return try Self.fetchJob(db, id: id)
            }
        }
    }

    /// Deletes the job; its images, assignments and α go with it (ON DELETE CASCADE). FULL durability.
    /// - Returns: the stored file names of its images, for the caller to unlink after this returns (files go
    ///   after the rows, so a crash in between leaves orphan files, never rows pointing at missing files);
    ///   nil if there is no such job.
    func delete(id: String) throws -> [String]? {
        try database.write { db in
            try db.transaction(durability: .full) {
                let files: [String] = try db.fetchAll(
                    "SELECT stored_path FROM images WHERE job_id = ? ORDER BY is_normal, position",
                    arguments: [.text(id)]
                ).map { try $0["stored_path"] }
                try beforeDelete?(id)
                try db.execute("DELETE FROM jobs WHERE id = ?", arguments: [.text(id)])
                return db.changes == 1 ? files : nil
            }
        }
    }

    /// At start-up, before workers start: every job still `running` was interrupted (crash, kill -9, power
    /// cut) and goes back to `queued` with `attempt + 1`, so it runs again. A job interrupted on its
    /// `maxAttempts`-th run fails with code `interrupted` instead: a job that kills the process (out of
    /// memory) would otherwise crash every restart.
    /// - Returns: the requeued and the abandoned ids, each in creation order.
    func requeueInterrupted(maxAttempts: Int = 3) throws -> RecoveryReport {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        let time = now()
        return try database.write { db in
            try db.transaction {
                let rows = try db.fetchAll(
                    "SELECT id, attempt FROM jobs WHERE status = 'running' ORDER BY created_at, rowid")
                var report = RecoveryReport(requeued: [], abandoned: [])
                for row in rows {
                    let id: String = try row["id"]
                    let attempt: Int = try row["attempt"]
                    if attempt < maxAttempts {
                        try db.execute(
                            """
                            UPDATE jobs SET status = 'queued', attempt = attempt + 1, stage = NULL, progress = 0,
                                updated_at = ?
                            WHERE id = ?
                            """,
                            arguments: [.integer(time), .text(id)])
                        report.requeued.append(id)
                    } else {
                        try db.execute(
                            """
                            UPDATE jobs SET status = 'failed', stage = NULL, error_code = 'interrupted',
                                error_message = ?, updated_at = ?
                            WHERE id = ?
                            """,
                            arguments: [
                                .text("the server stopped during each of this job's \(attempt) runs"), .integer(time),
                                .text(id),
                            ])
                        report.abandoned.append(id)
                    }
                }
                return report
            }
        }
    }
}
