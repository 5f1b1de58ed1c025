// The SQLite wrapper: connection set-up, binding and reading every storage class, the errors SQLite reports
// (with their SQL), the statement cache, transactions and the serialized queue. Each test body runs against
// `:memory:` and a file unless it is about files. Extended result codes: https://www.sqlite.org/rescode.html.
import Foundation
import XCTest

@testable import Server

final class DatabaseTests: XCTestCase {
    // MARK: Opening

    func testFileDatabaseRunsInWALWithNormalSyncAndForeignKeys() throws {
        try withStorageTemporaryDirectory { directory in
            let db = try Database(path: directory.appendingPathComponent("wal.sqlite").path)
            defer { db.close() }
            XCTAssertEqual(try db.fetchOne("PRAGMA journal_mode")?["journal_mode"], "wal")
            XCTAssertEqual(try db.fetchOne("PRAGMA synchronous")?[0], 1)  // 1 = NORMAL
            XCTAssertEqual(try db.fetchOne("PRAGMA foreign_keys")?[0], 1)
            XCTAssertEqual(try db.fetchOne("PRAGMA busy_timeout")?[0], 5_000)
        }
    }

    func testMemoryDatabaseKeepsMemoryJournal() throws {
        let db = try Database(path: ":memory:")
        XCTAssertTrue(db.isInMemory)
        XCTAssertEqual(try db.fetchOne("PRAGMA journal_mode")?[0], "memory")
        XCTAssertEqual(try db.fetchOne("PRAGMA foreign_keys")?[0], 1)
    }

    func testOpenFailureNamesThePath() {
        let path = "/nonexistent-\(UUID().uuidString)/jobs.sqlite"
        assertThrowsDatabaseError(try Database(path: path)) { error in
            XCTAssertEqual(error.primaryCode, 14)  // SQLITE_CANTOPEN
            XCTAssertTrue(error.message.contains(path), error.message)
        }
    }

    func testClosingTheLastConnectionCheckpointsAndRemovesTheWAL() throws {
        try withStorageTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("wal.sqlite").path
            let db = try Database(path: path)
            try db.execute("CREATE TABLE t (x INTEGER)")
            try db.execute("INSERT INTO t VALUES (1)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-wal"))
            db.close()
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"))
            let reopened = try Database(path: path)
            XCTAssertEqual(try reopened.fetchOne("SELECT count(*) FROM t")?[0], 1)
        }
    }

    // MARK: Values

    func testEveryStorageClassRoundTrips() throws {
        let values: [(String, DatabaseValue)] = [
            ("null", .null),
            ("zero", .integer(0)),
            ("Int64.min", .integer(.min)),
            ("Int64.max", .integer(.max)),
            ("-1", .integer(-1)),
            ("half", .double(0.5)),
            ("negative zero", .double(-0.0)),
            ("largest double", .double(.greatestFiniteMagnitude)),
            ("smallest subnormal", .double(.leastNonzeroMagnitude)),
            ("infinity", .double(.infinity)),
            ("empty text", .text("")),
            ("unicode text", .text("défaut 🔩 ねじ \u{301}")),
            ("embedded NUL", .text("a\u{0}b")),
            ("empty blob", .blob([])),
            ("bytes", .blob([0, 255, 0, 128])),
            ("1 MiB blob", .blob((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })),
        ]
        try forEachStorageLocation { path, location in
            let db = try Database(path: path)
            // No declared type, hence no affinity: SQLite stores each value exactly as bound.
            try db.execute("CREATE TABLE t (name TEXT, v)")
            for (name, value) in values {
                try db.execute("INSERT INTO t (name, v) VALUES (?, ?)", arguments: [.text(name), value])
            }
            let rows = try db.fetchAll("SELECT name, v, typeof(v) AS type FROM t ORDER BY rowid")
            XCTAssertEqual(rows.count, values.count)
            for (row, (name, value)) in zip(rows, values) {
                XCTAssertEqual(row.value(named: "v"), value, "\(name) in \(location)")
                XCTAssertEqual(try row["type"], value.storageClass.lowercased(), "\(name) in \(location)")
            }
            // -0.0 == 0.0 for Equatable; the sign bit must survive too.
            let negativeZero: Double = try XCTUnwrap(rows.first { try $0["name"] == "negative zero" })["v"]
            XCTAssertEqual(negativeZero.sign, .minus)
        }
    }

    func testNaNIsStoredAsNull() throws {
        // SQLite has no NaN: sqlite3_bind_double stores it as NULL (https://www.sqlite.org/floatingpoint.html).
        let db = try Database(path: ":memory:")
        let row = try db.fetchOne("SELECT ? AS v", arguments: [.double(.nan)])
        XCTAssertEqual(row?.value(at: 0), .null)
    }

    func testTypedReadsCheckTheStorageClass() throws {
        let db = try Database(path: ":memory:")
        let row = try XCTUnwrap(try db.fetchOne("SELECT 'seven' AS word, NULL AS absent, 7 AS number, x'00' AS bytes"))
        XCTAssertEqual(try row["word"] as String, "seven")
        XCTAssertEqual(try row["absent"] as String?, nil)
        XCTAssertEqual(try row["number"] as Int, 7)
        XCTAssertEqual(try row["number"] as Double, 7.0)  // INTEGER widens to Double
        XCTAssertEqual(try row["number"] as Bool, true)
        XCTAssertEqual(try row[3] as [UInt8], [0])
        XCTAssertThrowsError(try row["word"] as Int) { error in
            XCTAssertEqual(
                error as? RowDecodingError, RowDecodingError(column: "word", message: "holds TEXT, expected Int"))
        }
        XCTAssertThrowsError(try row["absent"] as String)
        XCTAssertThrowsError(try row["number"] as String?)  // optional, yet still type-checked
        XCTAssertThrowsError(try row[0] as [UInt8]) { error in
            XCTAssertEqual((error as? RowDecodingError)?.column, "#0")
        }
    }

    // MARK: Errors

    func testConstraintViolationsCarryExtendedCodeMessageAndSQL() throws {
        try forEachStorageLocation { path, location in
            let db = try Database(path: path)
            try db.executeScript(
                """
                CREATE TABLE parent (id INTEGER PRIMARY KEY);
                CREATE TABLE child (
                    id TEXT PRIMARY KEY NOT NULL, code TEXT UNIQUE, n INTEGER NOT NULL CHECK (n > 0),
                    parent INTEGER REFERENCES parent (id));
                INSERT INTO parent VALUES (1);
                """)
            let insert = "INSERT INTO child (id, code, n, parent) VALUES (?, ?, ?, ?)"
            try db.execute(insert, arguments: [.text("a"), .text("x"), .integer(1), .integer(1)])
            let cases: [(String, [DatabaseValue], Int32, String)] = [
                ("primary key", [.text("a"), .null, .integer(1), .null], 1555, "UNIQUE constraint failed: child.id"),
                ("unique", [.text("b"), .text("x"), .integer(1), .null], 2067, "UNIQUE constraint failed: child.code"),
                ("not null", [.text("c"), .null, .null, .null], 1299, "NOT NULL constraint failed: child.n"),
                ("check", [.text("d"), .null, .integer(0), .null], 275, "CHECK constraint failed: n > 0"),
                ("foreign key", [.text("e"), .null, .integer(1), .integer(2)], 787, "FOREIGN KEY constraint failed"),
            ]
            for (name, arguments, code, message) in cases {
                let context = "\(name) in \(location)"
                assertThrowsDatabaseError(try db.execute(insert, arguments: arguments), context) { error in
                    XCTAssertEqual(error.extendedCode, code, name)
                    XCTAssertEqual(error.primaryCode, 19, name)  // SQLITE_CONSTRAINT
                    XCTAssertTrue(error.isConstraintViolation, name)
                    XCTAssertEqual(error.message, message, name)
                    XCTAssertEqual(error.sql, insert, name)
                    XCTAssertTrue(error.description.hasSuffix("while executing `\(insert)`"), error.description)
                }
            }
            // The cached statement was reset after each failure and works again.
            try db.execute(insert, arguments: [.text("f"), .text("z"), .integer(2), .integer(1)])
            XCTAssertEqual(try db.fetchOne("SELECT count(*) FROM child")?[0], 2)
        }
    }

    func testSyntaxErrorNamesTheStatement() throws {
        let db = try Database(path: ":memory:")
        assertThrowsDatabaseError(try db.execute("SELEC 1")) { error in
            XCTAssertEqual(error.primaryCode, 1)  // SQLITE_ERROR
            XCTAssertEqual(error.message, "near \"SELEC\": syntax error")
            XCTAssertEqual(error.sql, "SELEC 1")
            XCTAssertEqual(
                error.description,
                "SQLite error 1 (SQL logic error): near \"SELEC\": syntax error - while executing `SELEC 1`")
        }
        assertThrowsDatabaseError(try db.fetchAll("SELECT * FROM missing")) { error in
            XCTAssertEqual(error.message, "no such table: missing")
        }
    }

    func testScriptErrorNamesTheFailingStatementAndKeepsEarlierOnes() throws {
        let db = try Database(path: ":memory:")
        let script = """
            CREATE TABLE a (x INTEGER);  -- a comment between statements
            INSERT INTO a VALUES (1);
            INSERT INTO nowhere VALUES (2);
            INSERT INTO a VALUES (3);
            """
        assertThrowsDatabaseError(try db.executeScript(script)) { error in
            XCTAssertEqual(error.message, "no such table: nowhere")
            XCTAssertTrue(error.sql?.hasPrefix("INSERT INTO nowhere VALUES (2);") ?? false, error.sql ?? "nil")
        }
        XCTAssertEqual(try db.fetchAll("SELECT x FROM a").map { try $0["x"] as Int }, [1])
    }

    // MARK: Statements

    func testCachedStatementIsReusedAndRebound() throws {
        try forEachStorageLocation { path, _ in
            let db = try Database(path: path)
            let sql = "SELECT ? + ?"
            let first = try db.cachedStatement(sql)
            XCTAssertTrue(first === (try db.cachedStatement(sql)))
            XCTAssertEqual(first.parameterCount, 2)
            XCTAssertEqual(try first.fetchOne([.integer(1), .integer(2)])?[0], 3)
            XCTAssertEqual(try first.fetchOne([.integer(10), .integer(20)])?[0], 30)
            // Numbered parameters count up to the largest number.
            XCTAssertEqual(try db.cachedStatement("SELECT ?2, ?1").parameterCount, 2)
        }
    }

    func testStepReturnsRowsOneAtATime() throws {
        let db = try Database(path: ":memory:")
        let statement = try db.cachedStatement("SELECT value FROM json_each(?)")
        try statement.bind([.text("[4, 5, 6]")])
        var seen: [Int] = []
        while try statement.step() {
            seen.append(try statement.currentRow(columnNames: statement.columnNames())["value"])
        }
        statement.reset()
        XCTAssertEqual(seen, [4, 5, 6])
    }

    // MARK: Transactions

    func testTransactionCommitsOrRollsBackEverything() throws {
        struct Abort: Error {}
        try forEachStorageLocation { path, location in
            let db = try Database(path: path)
            try db.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            let sum = try db.transaction {
                try db.execute("INSERT INTO t VALUES (1)")
                try db.execute("INSERT INTO t VALUES (2)")
                return 3
            }
            XCTAssertEqual(sum, 3)
            XCTAssertThrowsError(
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (3)")
                    throw Abort()
                }
            ) { XCTAssertTrue($0 is Abort, location.rawValue) }
            assertThrowsDatabaseError(
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (4)")
                    try db.execute("INSERT INTO t VALUES (1)")  // duplicate key half-way
                }, location.rawValue)
            XCTAssertFalse(db.isInTransaction)
            XCTAssertEqual(try db.fetchAll("SELECT x FROM t ORDER BY x").map { try $0["x"] as Int }, [1, 2])
        }
    }

    func testFullDurabilityAppliesToOneTransactionOnly() throws {
        try withStorageTemporaryDirectory { directory in
            let db = try Database(path: directory.appendingPathComponent("sync.sqlite").path)
            let inside: Int? = try db.transaction(durability: .full) { try db.fetchOne("PRAGMA synchronous")?[0] }
            XCTAssertEqual(inside, 2)  // FULL
            XCTAssertEqual(try db.fetchOne("PRAGMA synchronous")?[0], 1)  // back to NORMAL
            XCTAssertThrowsError(try db.transaction(durability: .full) { throw CocoaError(.featureUnsupported) })
            XCTAssertEqual(try db.fetchOne("PRAGMA synchronous")?[0], 1)
        }
    }

    func testSynchronousCannotChangeInsideATransaction() throws {
        // Why `transaction(durability:)` sets the level before BEGIN.
        let db = try Database(path: ":memory:")
        try db.transaction {
            assertThrowsDatabaseError(try db.setSynchronous(.full)) { error in
                XCTAssertEqual(error.message, "Safety level may not be changed inside a transaction")
            }
        }
    }

    // MARK: Serialized access

    func testSerializedDatabaseAcceptsWritesFromManyThreads() throws {
        try forEachStorageLocation { path, location in
            let database = try SerializedDatabase(path: path)
            try database.write { try $0.execute("CREATE TABLE t (thread INTEGER, i INTEGER)") }
            let failures = StorageTestClock(0)  // reused as a thread-safe counter
            DispatchQueue.concurrentPerform(iterations: 8) { thread in
                for i in 0..<50 {
                    do {
                        try database.write { db in
                            try db.transaction {
                                try db.execute(
                                    "INSERT INTO t VALUES (?, ?)", arguments: [DatabaseValue(thread), DatabaseValue(i)])
                            }
                        }
                    } catch {
                        failures.advance(by: 1)
                    }
                }
            }
            XCTAssertEqual(failures.now, 0, location.rawValue)
            XCTAssertEqual(try database.read { try $0.fetchOne("SELECT count(*) FROM t")?[0] as Int? }, 400)
            database.close()
        }
    }
}
