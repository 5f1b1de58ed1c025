// One 512-byte tar header block (POSIX.1-2001 ustar, and GNU's variant of it): checksum, magic, name, size
// and type, decoded from fixed offsets. Field layout from POSIX `pax` "ustar Interchange Format":
// name 0..<100, size 124..<136, chksum 148..<156, typeflag 156, magic 257..<263, version 263..<265,
// prefix 345..<500.

/// A decoded tar header block.
struct TarHeader: Sendable, Equatable {
    static let blockSize = 512

    /// The entry name as stored: `prefix/name` for POSIX ustar when the prefix is set, else `name`; NUL
    /// padding removed. pax `path` records and GNU long names override it.
    var name: [UInt8]
    /// The data size in bytes (for links and directories usually 0). A pax `size` record overrides it.
    var size: Int
    /// The type flag byte: `0`/NUL regular file, `5` directory, `x`/`g` pax, `L`/`K` GNU long names, …
    var typeflag: UInt8

    /// Whether `block` is all zero bytes (an end-of-archive block).
    static func isZeroBlock(_ block: ArraySlice<UInt8>) -> Bool {
        block.allSatisfy { $0 == 0 }
    }

    /// Decodes and checks a header block.
    /// - Parameters:
    ///   - block: exactly 512 bytes.
    ///   - offset: the block's byte offset in the archive, for error messages.
    init(block: ArraySlice<UInt8>, offset: Int) throws(TarError) {
        precondition(block.count == Self.blockSize, "a tar header block is 512 bytes")
        let bytes = Array(block)
        func field(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range] }

        // The checksum is the sum of all header bytes with the checksum field read as eight spaces. POSIX says
        // unsigned bytes; some old writers summed signed chars, so (like Python's tarfile and GNU tar) either
        // sum is accepted.
        guard let stored = Self.parseNumber(field(148..<156)) else {
            throw .invalidHeaderField(name: "checksum", offset: offset)
        }
        var unsignedSum = 0
        var signedSum = 0
        for (index, byte) in bytes.enumerated() {
            let value = (148..<156).contains(index) ? UInt8(ascii: " ") : byte
            unsignedSum += Int(value)
            signedSum += Int(Int8(bitPattern: value))
        }
        guard stored == unsignedSum || stored == signedSum else { throw .badChecksum(offset: offset) }

        let magic = Array(field(257..<265))
        let isPOSIX = magic == Array("ustar\u{0}00".utf8)
        let isGNU = magic == Array("ustar  \u{0}".utf8)
        guard isPOSIX || isGNU else { throw .unsupportedFormat(offset: offset) }

        var name = Array(Self.untilNUL(field(0..<100)))
        // GNU headers use the prefix area for other fields (atime, ctime, sparse data); only POSIX has a prefix.
        let prefix = Self.untilNUL(field(345..<500))
        if isPOSIX, !prefix.isEmpty {
            name = Array(prefix) + [UInt8(ascii: "/")] + name
        }
        guard let size = Self.parseNumber(field(124..<136)) else {
            throw .invalidHeaderField(name: "size", offset: offset)
        }
        self.name = name
        self.size = size
        self.typeflag = bytes[156]
    }

    /// The bytes before the first NUL.
    static func untilNUL(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        bytes.prefix { $0 != 0 }
    }

    /// A numeric field: octal digits with optional leading spaces, ended by NUL or space (POSIX), or GNU
    /// base-256 (first byte 0x80, then a big-endian binary number), which tar writers use for sizes of
    /// 8 GiB and over. Negative base-256 (first byte 0xFF), other bytes, or overflow: nil. An all-NUL or
    /// all-space field is 0.
    static func parseNumber(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            guard first == 0x80 else { return nil }
            var value = 0
            for byte in field.dropFirst() {
                guard value <= (Int.max >> 8) else { return nil }
                value = value << 8 | Int(byte)
            }
            return value
        }
        let digits = field.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
        let rest = field[digits.endIndex...]
        guard rest.allSatisfy({ $0 == 0 || $0 == UInt8(ascii: " ") }) else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit), value <= (Int.max >> 3) else {
                return nil
            }
            value = value << 3 | Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    /// A readable name for a type flag we reject, for error messages.
    static func typeName(_ typeflag: UInt8) -> String {
        switch typeflag {
        case UInt8(ascii: "1"): return "hard link"
        case UInt8(ascii: "2"): return "symbolic link"
        case UInt8(ascii: "3"): return "character device"
        case UInt8(ascii: "4"): return "block device"
        case UInt8(ascii: "6"): return "FIFO"
        default:
            let printable = (0x21...0x7E).contains(typeflag)
            return printable ? "entry of type '\(Character(Unicode.Scalar(typeflag)))'" : "entry of type \(typeflag)"
        }
    }
}
