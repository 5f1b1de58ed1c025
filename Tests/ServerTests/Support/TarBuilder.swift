// Tar archives built block by block for the tar reader's tests and for tar uploads.

/// Writes tar archives block by block, with every field under the test's control.
struct TarBuilder {
    var bytes: [UInt8] = []

    static let posixMagic = Array("ustar\u{0}00".utf8)
    static let gnuMagic = Array("ustar  \u{0}".utf8)

    /// Appends a header block. `sizeField` replaces the octal size; `checksum` can be corrupted or signed.
    mutating func header(
        name: [UInt8], size: Int, typeflag: Character = "0", prefix: String = "", magic: [UInt8] = posixMagic,
        sizeField: [UInt8]? = nil, signedChecksum: Bool = false, checksumDelta: Int = 0
    ) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int) {
            for (index, byte) in value.enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: width - 1 - digits.count) + digits).utf8) + [0]
        }
        put(Array(name.prefix(100)), at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(sizeField ?? octal(size, width: 12), at: 124)
        put(octal(1_700_000_000, width: 12), at: 136)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        block[156] = typeflag.asciiValue ?? 0
        put(magic, at: 257)
        put(Array(prefix.utf8), at: 345)
        let sum = signedChecksum
            ? block.reduce(0) { $0 + Int(Int8(bitPattern: $1)) } : block.reduce(0) { $0 + Int($1) }
        put(Array(octal(sum + checksumDelta, width: 7)) + [UInt8(ascii: " ")], at: 148)
        bytes += block
    }

    mutating func data(_ data: [UInt8]) {
        bytes += data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    mutating func file(_ name: String, _ data: [UInt8], typeflag: Character = "0") {
        header(name: Array(name.utf8), size: data.count, typeflag: typeflag)
        self.data(data)
    }

    /// A pax extended header with these records.
    mutating func pax(_ records: [(String, String)], typeflag: Character = "x") {
        var data: [UInt8] = []
        for (key, value) in records {
            let body = " \(key)=\(value)\n".utf8.count
            var length = body + 1
            while String(length).utf8.count + body != length { length += 1 }
            data += Array("\(length) \(key)=\(value)\n".utf8)
        }
        header(name: Array("PaxHeader".utf8), size: data.count, typeflag: typeflag)
        self.data(data)
    }

    mutating func end() {
        bytes += [UInt8](repeating: 0, count: 1024)
    }
}
