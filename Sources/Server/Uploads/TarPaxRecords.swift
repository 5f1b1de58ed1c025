// pax extended header records (POSIX.1-2001 `pax`, "pax Extended Header"): a typeflag `x` or `g` entry
// whose data is a sequence of `"%d %s=%s\n", <length>, <keyword>, <value>` records, the length counting
// the whole record including itself. We read `path` and `size`; other keywords are validated and ignored.

/// Parsing of pax extended header data.
enum TarPaxRecords {
    /// The `(keyword, value)` records of `data`, in order; nil when a record is malformed: a length that is
    /// not decimal or runs past the data, no space after it, no `=`, an empty keyword, or no final LF.
    static func parse(_ data: [UInt8]) -> [(keyword: String, value: [UInt8])]? {
        var records: [(keyword: String, value: [UInt8])] = []
        var start = 0
        while start < data.count {
            // Some writers pad the data with NULs after the last record.
            if data[start...].allSatisfy({ $0 == 0 }) { break }
            var index = start
            var length = 0
            while index < data.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(data[index]) {
                guard length < 1_000_000_000 else { return nil }
                length = length * 10 + Int(data[index] - UInt8(ascii: "0"))
                index += 1
            }
            guard index > start, index < data.count, data[index] == UInt8(ascii: " "),
                length > index - start + 1, start + length <= data.count, data[start + length - 1] == HTTPSyntax.lf
            else { return nil }
            let record = data[(index + 1)..<(start + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")), equals > record.startIndex,
                let keyword = HTTPSyntax.utf8String(record[..<equals])
            else { return nil }
            records.append((keyword, Array(record[(equals + 1)...])))
            start += length
        }
        return records
    }

    /// A pax `size` value: decimal digits only; nil otherwise or on overflow.
    static func parseSize(_ value: [UInt8]) -> Int? {
        guard !value.isEmpty, value.count <= 18,
            value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return value.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
