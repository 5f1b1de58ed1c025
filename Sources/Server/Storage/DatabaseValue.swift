// One SQLite value, as bound to a statement parameter or read from a result column. SQLite has exactly five
// storage classes (https://www.sqlite.org/datatype3.html §2); the enum has one case for each, so every value
// that crosses the C boundary is typed, and "what was in that column" is never a guess.

/// A value in one of SQLite's five storage classes.
enum DatabaseValue: Sendable, Equatable {
    case null
    /// A 64-bit signed integer (SQLite INTEGER, 1 to 8 bytes on disk).
    case integer(Int64)
    /// An IEEE 754 double (SQLite REAL). SQLite stores NaN as NULL, so a NaN bound here reads back as `.null`.
    case double(Double)
    /// UTF-8 text. Bound with its byte count, so an embedded NUL survives.
    case text(String)
    /// Raw bytes. An empty blob stays an empty blob, not NULL.
    case blob([UInt8])

    /// SQLite's name for the storage class, for error messages ("column `x` holds TEXT").
    var storageClass: String {
        switch self {
        case .null: return "NULL"
        case .integer: return "INTEGER"
        case .double: return "REAL"
        case .text: return "TEXT"
        case .blob: return "BLOB"
        }
    }
}

// Conveniences so call sites bind optional Swift values without spelling out `map … ?? .null`.
extension DatabaseValue {
    /// `.integer`, or `.null` for nil.
    init(_ value: Int?) {
        self = value.map { .integer(Int64($0)) } ?? .null
    }

    /// `.integer`, or `.null` for nil.
    init(_ value: Int64?) {
        self = value.map { .integer($0) } ?? .null
    }

    /// `.double`, or `.null` for nil.
    init(_ value: Double?) {
        self = value.map { .double($0) } ?? .null
    }

    /// `.text`, or `.null` for nil.
    init(_ value: String?) {
        self = value.map { .text($0) } ?? .null
    }

    /// `.integer(1)` or `.integer(0)`: SQLite has no boolean type (https://www.sqlite.org/datatype3.html §2.1).
    init(_ value: Bool) {
        self = .integer(value ? 1 : 0)
    }
}
