// One result row, copied out of the statement when it was stepped, so it stays valid after the statement is
// reset or reused (SQLite's column pointers do not: https://www.sqlite.org/c3ref/column_blob.html). Typed
// reads check the storage class and throw on a mismatch rather than trap: the file on disk is input too.

/// The values of one result row, with the column names of its statement.
struct Row: Sendable {
    /// Column names as SQLite reports them (`sqlite3_column_name`): the alias after AS, else the column.
    let columnNames: [String]
    /// One value per column, in the statement's column order.
    let values: [DatabaseValue]

    /// The value at `index`. An index out of range is a bug in our SQL, hence a precondition.
    func value(at index: Int) -> DatabaseValue {
        precondition(values.indices.contains(index), "column index \(index) out of range 0..<\(values.count)")
        return values[index]
    }

    /// The value of the column called `name`. A name the statement does not select is a bug in our SQL.
    func value(named name: String) -> DatabaseValue {
        guard let index = columnNames.firstIndex(of: name) else {
            preconditionFailure("no column `\(name)` among \(columnNames)")
        }
        return values[index]
    }

    /// The column at `index`, decoded as `T` (`let n: Int = try row[0]`).
    /// - Throws: `RowDecodingError` when the stored value has another storage class.
    subscript<T: DatabaseValueDecodable>(_ index: Int) -> T {
        get throws { try Self.decode(value(at: index), column: "#\(index)") }
    }

    /// The column called `name`, decoded as `T` (`let label: String? = try row["label"]`).
    /// - Throws: `RowDecodingError` when the stored value has another storage class.
    subscript<T: DatabaseValueDecodable>(_ name: String) -> T {
        get throws { try Self.decode(value(named: name), column: name) }
    }

    private static func decode<T: DatabaseValueDecodable>(_ value: DatabaseValue, column: String) throws -> T {
        guard let decoded = T.decode(value) else {
            throw RowDecodingError(column: column, message: "holds \(value.storageClass), expected \(T.self)")
        }
        return decoded
    }
}

/// A stored value that is not what the code reading it expects.
struct RowDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The column name, or `#i` for a column read by index.
    var column: String
    /// What was wrong, e.g. "holds NULL, expected String".
    var message: String

    var description: String { "column `\(column)` \(message)" }
}

/// A Swift type that can be read from a column. `decode` returns nil when the storage class does not fit;
/// it never converts text to numbers or numbers to text (SQLite would, silently).
protocol DatabaseValueDecodable {
    static func decode(_ value: DatabaseValue) -> Self?
}

extension Int64: DatabaseValueDecodable {
    static func decode(_ value: DatabaseValue) -> Int64? {
        if case .integer(let v) = value { return v }
        return nil
    }
}

extension Int: DatabaseValueDecodable {
    /// Int is 64-bit on every platform we build for; `exactly` keeps a 32-bit build from trapping.
    static func decode(_ value: DatabaseValue) -> Int? {
        if case .integer(let v) = value { return Int(exactly: v) }
        return nil
    }
}

extension Bool: DatabaseValueDecodable {
    /// 0 is false, any other integer is true, as in SQLite's own boolean expressions.
    static func decode(_ value: DatabaseValue) -> Bool? {
        if case .integer(let v) = value { return v != 0 }
        return nil
    }
}

extension Double: DatabaseValueDecodable {
    /// Accepts INTEGER too: an expression such as `SELECT 1` or `sum(x)` over whole numbers is an INTEGER
    /// where the reader wants a Double (a REAL column itself always reads back as REAL). Int64 → Double
    /// rounds beyond 2^53.
    static func decode(_ value: DatabaseValue) -> Double? {
        switch value {
        case .double(let v): return v
        case .integer(let v): return Double(v)
        default: return nil
        }
    }
}

extension String: DatabaseValueDecodable {
    static func decode(_ value: DatabaseValue) -> String? {
        if case .text(let v) = value { return v }
        return nil
    }
}

extension Array: DatabaseValueDecodable where Element == UInt8 {
    static func decode(_ value: DatabaseValue) -> [UInt8]? {
        if case .blob(let v) = value { return v }
        return nil
    }
}

extension Optional: DatabaseValueDecodable where Wrapped: DatabaseValueDecodable {
    /// NULL decodes as `.some(nil)`; any other value must decode as `Wrapped`, or the result is nil (a
    /// mismatch), so `String?` still refuses an INTEGER.
    static func decode(_ value: DatabaseValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.decode(value).map { .some($0) }
    }
}
