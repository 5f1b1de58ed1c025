// A prepared statement: owns one `sqlite3_stmt`, finalized in deinit (GRDB `Core/Statement.swift`). Values are
// always bound by position, never spliced into the SQL text. `execute`, `fetchAll` and `fetchOne` leave the
// statement reset, so a cached statement never holds a read snapshot open between uses: in WAL mode an
// unfinished statement pins its snapshot and keeps checkpoints from finishing.
import CSQLite

/// One SQL statement, prepared once and run any number of times with fresh arguments.
final class Statement {
    /// The SQL text, kept for error messages and as the statement cache key.
    let sql: String
    /// The number of `?` / `?NNN` parameters; `bind` insists on exactly this many arguments.
    let parameterCount: Int
    private let handle: OpaquePointer

    /// Prepares `sql`, which must hold exactly one statement.
    /// - Parameter persistent: a hint that the statement will be reused for a long time
    ///   (SQLITE_PREPARE_PERSISTENT), true for cached statements.
    /// - Throws: `DatabaseError` for a syntax error or a missing table, with the SQL in its message.
    convenience init(connection: OpaquePointer, sql: String, persistent: Bool) throws {
        var prepared: OpaquePointer?
        var remainder = ""
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection, text, -1, flags, &prepared, &tail)
            remainder = tail.map { String(cString: $0) } ?? ""
            return code
        }
        guard code == SQLITE_OK else { throw DatabaseError(connection: connection, sql: sql) }
        guard let prepared else { preconditionFailure("no statement in `\(sql)`") }
        // A second statement would be silently ignored by sqlite3_prepare: that is our bug, not input.
        precondition(
            !Statement.holdsStatement(remainder, connection: connection),
            "more than one statement in `\(sql)`; use Database.executeScript")
        self.init(handle: prepared, sql: sql)
    }

    /// Adopts a statement already prepared by the caller (the script runner in `Database`).
    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
        self.parameterCount = Int(sqlite3_bind_parameter_count(handle))
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: Binding

    /// Resets the statement, clears the previous bindings and binds `arguments` to parameters 1…n.
    /// Text and blobs are copied by SQLite (SQLITE_TRANSIENT): the Swift buffers they come from are
    /// temporary, so their lifetime is never guaranteed here.
    func bind(_ arguments: [DatabaseValue]) throws {
        precondition(
            arguments.count == parameterCount,
            "`\(sql)` takes \(parameterCount) arguments, got \(arguments.count)")
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in arguments.enumerated() {
            let code = bind(value, at: Int32(offset + 1))
            // SQLITE_RANGE cannot happen after the count check; TOOBIG and NOMEM can, for huge values.
            guard code == SQLITE_OK else { throw DatabaseError(connection: connection, sql: sql) }
        }
    }

    private func bind(_ value: DatabaseValue, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let v):
            return sqlite3_bind_int64(handle, index, v)
        case .double(let v):
            return sqlite3_bind_double(handle, index, v)
        case .text(var string):
            return string.withUTF8 { bytes in
                // An empty String may have no buffer at all, and a NULL pointer would bind SQL NULL.
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite3_bind_text64(handle, index, "", 0, csqlite_transient(), UInt8(SQLITE_UTF8))
                }
                let text = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
                return sqlite3_bind_text64(
                    handle, index, text, UInt64(bytes.count), csqlite_transient(), UInt8(SQLITE_UTF8))
            }
        case .blob(let bytes):
            return bytes.withUnsafeBytes { raw in
                // Same trap as text: a NULL pointer binds NULL, so an empty blob is bound as a zero-length
                // zeroblob, which reads back as a BLOB of 0 bytes.
                guard let base = raw.baseAddress, !raw.isEmpty else { return sqlite3_bind_zeroblob(handle, index, 0) }
                return sqlite3_bind_blob64(handle, index, base, UInt64(raw.count), csqlite_transient())
            }
        }
    }

    // MARK: Stepping

    /// Runs the statement one step. Returns true when a row is ready (read it with `currentRow`), false when
    /// the statement has finished.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw DatabaseError(connection: connection, sql: sql)
        }
    }

    /// Rewinds the statement so it can run again; the bindings stay. Its return code repeats the last step's
    /// error, which `step` has already thrown, so it is ignored.
    func reset() {
        sqlite3_reset(handle)
    }

    /// The column names of the result, e.g. `["id", "status"]`.
    func columnNames() -> [String] {
        (0..<sqlite3_column_count(handle)).map { column in
            sqlite3_column_name(handle, column).map { String(cString: $0) } ?? ""
        }
    }

    /// Copies the current row out of the statement. Only valid after `step` returned true.
    func currentRow(columnNames: [String]) -> Row {
        let values = (0..<Int32(columnNames.count)).map(columnValue)
        return Row(columnNames: columnNames, values: values)
    }

    private func columnValue(_ column: Int32) -> DatabaseValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_NULL:
            return .null
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .double(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            // Pointer first, then the byte count, as https://www.sqlite.org/c3ref/column_blob.html advises.
            // Invalid UTF-8 (written by another tool) decodes with U+FFFD rather than trapping.
            guard let text = sqlite3_column_text(handle, column) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            // A zero-length blob comes back as a NULL pointer with type BLOB.
            guard let blob = sqlite3_column_blob(handle, column) else { return .blob([]) }
            let count = Int(sqlite3_column_bytes(handle, column))
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        case let type:
            preconditionFailure("sqlite3_column_type returned \(type)")
        }
    }

    // MARK: Running

    /// Binds `arguments` and runs the statement to completion, discarding any rows.
    func execute(_ arguments: [DatabaseValue] = []) throws {
        try bind(arguments)
        defer { reset() }
        while try step() {}
    }

    /// Binds `arguments` and returns every row.
    func fetchAll(_ arguments: [DatabaseValue] = []) throws -> [Row] {
        try bind(arguments)
        defer { reset() }
        var rows: [Row] = []
        var names: [String]?
        while try step() {
            // Names are read after the first step: a statement re-prepared after a schema change may have
            // new columns.
            let columns = names ?? columnNames()
            names = columns
            rows.append(currentRow(columnNames: columns))
        }
        return rows
    }

    /// Binds `arguments` and returns the first row, or nil when there is none. Further rows are not read.
    func fetchOne(_ arguments: [DatabaseValue] = []) throws -> Row? {
        try bind(arguments)
        defer { reset() }
        guard try step() else { return nil }
        return currentRow(columnNames: columnNames())
    }

    private var connection: OpaquePointer {
        guard let connection = sqlite3_db_handle(handle) else { preconditionFailure("statement without connection") }
        return connection
    }

    /// Whether `sql` (what followed the first statement) holds another statement rather than only
    /// whitespace, semicolons and comments.
    private static func holdsStatement(_ sql: String, connection: OpaquePointer) -> Bool {
        if sql.allSatisfy({ $0.isWhitespace || $0 == ";" }) { return false }
        var next: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, sql, -1, &next, nil)
        sqlite3_finalize(next)
        return code != SQLITE_OK || next != nil
    }
}
