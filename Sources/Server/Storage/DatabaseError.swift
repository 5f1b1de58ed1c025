// The one error type of the SQLite layer: what SQLite said went wrong (extended result code and message) and
// the SQL it was running, as GRDB's `DatabaseError` reports "… - while executing `…`". Mistakes only our own
// code can make (a wrong argument count, a nested transaction) are preconditions, not errors.
import CSQLite

/// An error reported by SQLite, or found while setting up a connection.
struct DatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The extended result code (https://www.sqlite.org/rescode.html#extrc), e.g. 2067
    /// (SQLITE_CONSTRAINT_UNIQUE). Connections are opened with SQLITE_OPEN_EXRESCODE, so this is what the
    /// API returned.
    var extendedCode: Int32
    /// SQLite's own message (`sqlite3_errmsg`), e.g. "UNIQUE constraint failed: jobs.id".
    var message: String
    /// The statement that failed, or nil when the error is not about one statement (opening a file).
    var sql: String?

    /// The primary result code: the low 8 bits of the extended one (SQLITE_CONSTRAINT is 19 for all
    /// constraint kinds).
    var primaryCode: Int32 { extendedCode & 0xFF }

    /// A constraint failed: UNIQUE, PRIMARY KEY, FOREIGN KEY, CHECK or NOT NULL.
    var isConstraintViolation: Bool { primaryCode == SQLITE_CONSTRAINT }

    /// The database could not grow: its disk is full (SQLite reports a write's ENOSPC as SQLITE_FULL) or
    /// `PRAGMA max_page_count` was reached. The statement or transaction changed nothing, and the same write
    /// can succeed once there is room (https://www.sqlite.org/rescode.html#full).
    var isDiskFull: Bool { primaryCode == SQLITE_FULL }

    init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    /// Reads the last error of `connection`. Call it right after the failing call: the next call on the
    /// connection overwrites it.
    init(connection: OpaquePointer, sql: String?) {
        self.extendedCode = sqlite3_extended_errcode(connection)
        self.message = String(cString: sqlite3_errmsg(connection))
        self.sql = sql
    }

    /// "SQLite error 19 (constraint failed, extended 2067): UNIQUE constraint failed: t.id - while executing
    /// `INSERT INTO t …`". The generic text comes from `sqlite3_errstr`, which needs no connection.
    var description: String {
        let generic = String(cString: sqlite3_errstr(primaryCode))
        var text = "SQLite error \(primaryCode) (\(generic)"
        if extendedCode != primaryCode { text += ", extended \(extendedCode)" }
        text += "): \(message)"
        if let sql { text += " - while executing `\(sql)`" }
        return text
    }
}
