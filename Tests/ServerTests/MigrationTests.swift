// Migrations: each step applied once, in order, and recorded with it; re-opening changes nothing; a failing
// step rolls back alone (GRDB `testMigrationFailureTriggersRollback`); a database recording a step this build
// does not know is refused, naming the step.
import XCTest

@testable import Server

final class MigrationTests: XCTestCase {
    /// Steps that each log their run in `log`, so a step that runs twice shows up as a duplicate row.
    private func loggingMigrator(_ names: [String]) -> Migrator {
        var migrator = Migrator()
        for name in names {
            migrator.register(name) { db in
                try db.execute("CREATE TABLE IF NOT EXISTS log (step TEXT NOT NULL)")
                try db.execute("CREATE TABLE \(name) (x INTEGER)")  // names are test literals, not input
                try db.execute("INSERT INTO log (step) VALUES (?)", arguments: [.text(name)])
            }
        }
        return migrator
    }

    private func log(_ db: Database) throws -> [String] {
        try db.fetchAll("SELECT step FROM log ORDER BY rowid").map { try $0["step"] }
    }

    private func tableNames(_ db: Database) throws -> Set<String> {
        Set(try db.fetchAll("SELECT name FROM sqlite_schema WHERE type = 'table'").map { try $0["name"] })
    }

    func testStepsRunOnceInOrder() throws {
        try forEachStorageLocation { path, location in
            let db = try Database(path: path)
            let migrator = loggingMigrator(["a", "b", "c"])
            try migrator.migrate(db)
            XCTAssertEqual(try migrator.appliedMigrations(db), ["a", "b", "c"], location.rawValue)
            XCTAssertTrue(try migrator.isUpToDate(db))
            try migrator.migrate(db)
            XCTAssertEqual(try log(db), ["a", "b", "c"], location.rawValue)
        }
    }

    func testReopeningAMigratedFileChangesNothing() throws {
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("m.sqlite").path
            let migrator = loggingMigrator(["a", "b"])
            let first = try Database(path: path)
            try migrator.migrate(first)
            first.close()

            let second = try Database(path: path)
            XCTAssertTrue(try migrator.isUpToDate(second))
            try migrator.migrate(second)
            XCTAssertEqual(try log(second), ["a", "b"])
            XCTAssertEqual(try migrator.appliedMigrations(second), ["a", "b"])
        }
    }

    func testAppendedStepRunsAloneOnTheNextOpen() throws {
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("m.sqlite").path
            let old = try Database(path: path)
            try loggingMigrator(["a"]).migrate(old)
            old.close()

            let new = try Database(path: path)
            let migrator = loggingMigrator(["a", "b"])
            XCTAssertFalse(try migrator.isUpToDate(new))
            try migrator.migrate(new)
            XCTAssertEqual(try log(new), ["a", "b"])
        }
    }

    func testFailingStepRollsBackAndKeepsEarlierSteps() throws {
        struct StepFailed: Error {}
        try forEachStorageLocation { path, location in
            // One step fails on SQL, the other on a Swift error after its DDL ran: both must vanish entirely.
            let failures: [(String, @Sendable (Database) throws -> Void)] = [
                (
                    "sql",
                    { db in
                        try db.executeScript(
                            "CREATE TABLE t2 (x INTEGER); INSERT INTO t2 VALUES (1); INSERT INTO t2 VALUES ('x', 'y');")
                    }
                ),
                (
                    "swift",
                    { db in
                        try db.executeScript("CREATE TABLE t2 (x INTEGER); INSERT INTO t2 VALUES (1);")
                        throw StepFailed()
                    }
                ),
            ]
            for (kind, failingStep) in failures {
                let db = try Database(path: path)
                var migrator = Migrator()
                migrator.register("one") { db in try db.execute("CREATE TABLE t1 (x INTEGER)") }
                migrator.register("two", failingStep)
                migrator.register("three") { db in try db.execute("CREATE TABLE t3 (x INTEGER)") }
                XCTAssertThrowsError(try migrator.migrate(db), "\(kind) in \(location)")
                XCTAssertEqual(try migrator.appliedMigrations(db), ["one"], "\(kind) in \(location)")
                XCTAssertEqual(try tableNames(db), ["schema_migrations", "t1"], "\(kind) in \(location)")
                XCTAssertFalse(db.isInTransaction)
                db.close()
                if location == .file { try FileManager.default.removeItem(atPath: path) }
            }
        }
    }

    func testUnknownStepIsRefusedByName() throws {
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("m.sqlite").path
            let newer = try Database(path: path)
            try loggingMigrator(["a", "b", "c"]).migrate(newer)
            newer.close()

            let db = try Database(path: path)
            let older = loggingMigrator(["a"])
            XCTAssertThrowsError(try older.migrate(db)) { error in
                XCTAssertEqual(error as? MigrationError, .unknownMigrations(["b", "c"]))
                XCTAssertTrue("\(error)".contains("`b`, `c`"), "\(error)")
            }
            XCTAssertEqual(try log(db), ["a", "b", "c"])  // nothing ran
        }
    }

    func testJobStoreRefusesADatabaseFromANewerBuild() throws {
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("jobs.sqlite").path
            try JobStore(path: path).close()
            let db = try Database(path: path)
            try db.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('v9-future', 0)")
            db.close()
            XCTAssertThrowsError(try JobStore(path: path)) { error in
                XCTAssertEqual(error as? MigrationError, .unknownMigrations(["v9-future"]))
            }
        }
    }

    func testJobSchemaIsComplete() throws {
        let store = try JobStore(path: ":memory:")
        let names = try store.database.read { db in try tableNames(db) }
        XCTAssertEqual(names, ["schema_migrations", "jobs", "images", "assignments", "alphas"])
        let applied = try store.database.read { db in try JobSchema.migrator.appliedMigrations(db) }
        XCTAssertEqual(applied, ["v1-jobs", "v2-estimates", "v3-idempotency-keys"])
        let problems = try store.database.read { db in try db.fetchAll("PRAGMA foreign_key_check") }
        XCTAssertTrue(problems.isEmpty)
    }

    /// A database of the first release (schema v1) opens in this build: v2 and v3 are applied, its jobs keep
    /// their data and have no estimate, and new jobs can carry an Idempotency-Key.
    func testAVersion1DatabaseIsMigratedKeepingItsJobs() throws {
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("jobs.sqlite").path
            let old = try JobStore(path: path)
            let job = try old.createJob(options: "{}", images: [], normals: [])
            old.close()
            let db = try Database(path: path)  // back to v1: the columns, index and records of v2 and v3 removed
            try db.execute("DROP INDEX jobs_by_idempotency_key")
            try db.execute("ALTER TABLE jobs DROP COLUMN request_sha256")
            try db.execute("ALTER TABLE jobs DROP COLUMN idempotency_key")
            try db.execute("ALTER TABLE jobs DROP COLUMN estimate_json")
            try db.execute("DELETE FROM schema_migrations WHERE name IN ('v2-estimates', 'v3-idempotency-keys')")
            db.close()

            let store = try JobStore(path: path)
            defer { store.close() }
            XCTAssertEqual(try store.database.read { try JobSchema.migrator.appliedMigrations($0) }, ["v1-jobs", "v2-estimates", "v3-idempotency-keys"])
            let migrated = try XCTUnwrap(try store.job(id: job.id))
            XCTAssertEqual(migrated.optionsJSON, "{}")
            XCTAssertNil(migrated.estimateJSON)
            let new = try store.createJob(options: "{}", estimate: #"{"weights_flops": 1}"#, images: [], normals: [])
            XCTAssertEqual(try store.job(id: new.id)?.estimateJSON, #"{"weights_flops": 1}"#)
            let keyed = try store.createJob(options: "{}", images: [], normals: [],
                                            idempotency: IdempotencyKey(key: "k", requestSHA256: "0"))
            guard case .created(let job) = keyed else { return XCTFail("\(keyed)") }
            XCTAssertEqual(try store.job(idempotencyKey: "k")?.0, job)
        }
    }
}
