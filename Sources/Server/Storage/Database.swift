// One SQLite connection: opening and configuring it (WAL, synchronous, busy timeout, foreign keys), running
// SQL through a statement cache keyed by SQL text, and closing it. Not thread-safe by design: it is only ever
// used on the serial queue of `SerializedDatabase`, which explains the threading choice.
import CSQLite

/// An open SQLite connection to a file or to a private in-memory database.
final class Database {
    /// The file path, or `:memory:`.
    let path: String
    /// True for `:memory:` (and the empty path, a private temporary database): WAL does not apply.
    var isInMemory: Bool { path == ":memory:" || path.isEmpty }

    private let connection: OpaquePointer
    /// Prepared statements by SQL text. Bounded because every SQL string in this service is a literal:
    /// values are bound, never interpolated, so no two calls make different texts for the same query.
    private var statementCache: [String: Statement] = [:]
    private var isClosed = false

    /// Opens (creating if needed) and configures a connection.
    /// - Parameters:
    ///   - path: a file path, or `:memory:` for a private in-memory database (tests).
    ///   - busyTimeoutMilliseconds: how long a statement waits for a lock held by another connection (an
    ///     operator's `sqlite3` shell, a backup) before failing with SQLITE_BUSY. The server itself uses one
    ///     connection, so it never waits on itself.
    /// - Throws: `DatabaseError` when the file cannot be opened, WAL cannot be enabled, or foreign keys
    ///   are unavailable.
    ///   - readOnly: a connection that only reads (SQLITE_OPEN_READONLY); the file must exist, in WAL mode.
    init(path: String, busyTimeoutMilliseconds: Int32 = 5_000, readOnly: Bool = false) throws {
        // SQLITE_OPEN_NOMUTEX selects the multi-thread mode, which is only safe when the library itself was
        // built thread-safe (Debian's is, SQLITE_THREADSAFE=1). See SerializedDatabase for the reasoning.
        precondition(sqlite3_threadsafe() != 0, "libsqlite3 was built with SQLITE_THREADSAFE=0")
        let access = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        let flags = access | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var opened: OpaquePointer?
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            // Even a failed open usually allocates a handle that carries the message and must be closed.
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(opened)
            throw DatabaseError(extendedCode: code, message: "\(message): \(path)")
        }
        self.path = path
        self.connection = opened
        do {
            try configure(busyTimeoutMilliseconds: busyTimeoutMilliseconds, readOnly: readOnly)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    /// WAL lets readers (an operator's shell, a backup) proceed while we write, and a commit only appends to the
    /// log: at most one fsync (FULL), none at NORMAL, where the rollback journal needs several. `PRAGMA
    /// journal_mode` answers with the mode actually in force and silently keeps the old one when it cannot
    /// switch (GRDB `Database.setUpWALMode` checks the same way).
    private func configure(busyTimeoutMilliseconds: Int32, readOnly: Bool) throws {
        sqlite3_busy_timeout(connection, busyTimeoutMilliseconds)
        if readOnly {
            // The journal mode is the file's (the writer set WAL); a reader only checks it.
            let mode: String? = try fetchOne("PRAGMA journal_mode")?[0]
            guard mode == "wal" else {
                throw DatabaseError(extendedCode: SQLITE_ERROR, message: "read-only connection to a database not in WAL mode: \(path)")
            }
            return
        }
        if !isInMemory {
            let sql = "PRAGMA journal_mode = WAL"
            let mode: String? = try fetchOne(sql)?[0]
            guard mode == "wal" else {
                throw DatabaseError(
                    extendedCode: SQLITE_ERROR,
                    message: "could not enable WAL: journal_mode is \(mode ?? "nil") at \(path)",
                    sql: sql)
            }
        }
        try setSynchronous(.normal)
        // Off by default for backwards compatibility (https://www.sqlite.org/foreignkeys.html §2), and a no-op
        // in a build without foreign keys: read it back.
        try execute("PRAGMA foreign_keys = ON")
        let foreignKeys: Int? = try fetchOne("PRAGMA foreign_keys")?[0]
        guard foreignKeys == 1 else {
            throw DatabaseError(
                extendedCode: SQLITE_ERROR, message: "foreign keys unavailable in this SQLite build",
                sql: "PRAGMA foreign_keys = ON")
        }
    }

    // MARK: Running SQL

    /// The prepared statement for `sql`, prepared on first use and cached for the connection's lifetime.
    /// `sql` must hold exactly one statement.
    func cachedStatement(_ sql: String) throws -> Statement {
        precondition(!isClosed, "database \(path) is closed")
        if let statement = statementCache[sql] { return statement }
        let statement = try Statement(connection: connection, sql: sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// Runs one statement with `arguments` bound to its parameters, discarding any rows.
    func execute(_ sql: String, arguments: [DatabaseValue] = []) throws {
        try cachedStatement(sql).execute(arguments)
    }

    /// Runs one query with `arguments` and returns all its rows.
    func fetchAll(_ sql: String, arguments: [DatabaseValue] = []) throws -> [Row] {
        try cachedStatement(sql).fetchAll(arguments)
    }

    /// Runs one query with `arguments` and returns its first row, if any.
    func fetchOne(_ sql: String, arguments: [DatabaseValue] = []) throws -> Row? {
        try cachedStatement(sql).fetchOne(arguments)
    }

    /// Runs several `;`-separated statements without arguments, one after the other, uncached: for
    /// migrations, whose DDL runs once. Each statement is prepared only when the previous one has run, so a
    /// `CREATE TABLE` can be followed by statements using the table.
    /// - Throws: `DatabaseError` naming the statement that failed; the earlier ones stay applied unless the
    ///   caller wraps the script in a transaction.
    func executeScript(_ script: String) throws {
        precondition(!isClosed, "database \(path) is closed")
        try script.withCString { start in
            var cursor = start
            while cursor.pointee != 0 {
                var prepared: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let code = sqlite3_prepare_v2(connection, cursor, -1, &prepared, &tail)
                guard code == SQLITE_OK else {
                    throw DatabaseError(connection: connection, sql: Self.trimmed(String(cString: cursor)))
                }
                guard let prepared, let tail else { return }  // only whitespace or comments were left
                let text = UnsafeRawBufferPointer(start: cursor, count: tail - cursor)
                try Statement(handle: prepared, sql: Self.trimmed(String(decoding: text, as: UTF8.self))).execute()
                cursor = tail
            }
        }
    }

    private static func trimmed(_ sql: String) -> String {
        String(sql.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    // MARK: State

    /// Rows changed by the most recent INSERT, UPDATE or DELETE (not counting cascades and triggers).
    var changes: Int { Int(sqlite3_changes64(connection)) }

    /// True between BEGIN and COMMIT or ROLLBACK (SQLite's autocommit flag is off).
    var isInTransaction: Bool { sqlite3_get_autocommit(connection) == 0 }

    /// The `PRAGMA synchronous` levels we use. PRAGMA values cannot be bound, hence one literal each.
    enum Synchronous {
        /// In WAL mode: fsync at checkpoints only. Survives any crash of the process; a power cut or kernel
        /// crash can lose the latest commits, never the database's integrity.
        case normal
        /// In WAL mode: also fsync the WAL at every commit, so a commit survives a power cut.
        case full
    }

    /// Sets `PRAGMA synchronous` for this connection; takes effect at the next transaction.
    func setSynchronous(_ level: Synchronous) throws {
        switch level {
        case .normal: try execute("PRAGMA synchronous = NORMAL")
        case .full: try execute("PRAGMA synchronous = FULL")
        }
    }

    /// Finalizes the cached statements and closes the connection; later calls do nothing. In WAL mode the
    /// last connection to close checkpoints the log back into the database file and removes it.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        statementCache.removeAll()
        // sqlite3_close_v2 rather than sqlite3_close: should a Statement still be alive somewhere, the
        // connection becomes a "zombie" that closes once that statement is finalized, instead of failing
        // with SQLITE_BUSY and leaking (https://www.sqlite.org/c3ref/close.html).
        sqlite3_close_v2(connection)
    }
}
