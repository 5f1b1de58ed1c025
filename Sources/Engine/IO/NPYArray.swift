// NumPy `.npy` reader and writer for the float arrays the engine exchanges with Python tooling
// (embeddings, scores). Files are untrusted: every size is bounded, every way a file can be wrong
// has its own `NPYError` naming the file, and nothing input-derived can trap. Only little-endian
// float32/float64 C-order arrays are accepted; values always land in memory as a flat `[Float]`.

import Foundation

/// A dense n-dimensional float array read from or written to NumPy's `.npy` format.
///
/// `values` is row-major (C order) with `shape.reduce(1, *)` elements; an empty `shape` is a
/// scalar holding one value. Float64 files are narrowed to `Float` on read.
public struct NPYArray: Sendable {
    /// Extent of each axis, outermost first. `[]` is a scalar (one element).
    public var shape: [Int]
    /// Elements in row-major (C) order.
    public var values: [Float]

    /// Largest accepted extent of one axis (2^40): far beyond any real file, yet small enough
    /// that a corrupt header cannot make later arithmetic on a single dimension overflow.
    public static let maxDimension = 1 << 40
    /// Largest accepted header (1 MiB). NumPy itself writes a few hundred bytes at most.
    public static let maxHeaderBytes = 1 << 20
    /// Largest accepted number of axes (NumPy's own limit is 64).
    public static let maxAxes = 64

    /// Creates an array; `values.count` should equal the product of `shape`
    /// (checked when encoding, not here, so building one never fails).
    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }

    /// Reads a `.npy` file, refusing files larger than `maxBytes` before reading anything.
    ///
    /// The file is memory-mapped and converted in a single pass, so only the `[Float]` result
    /// occupies anonymous memory. Errors name the file (its last path component).
    public static func read(from url: URL, maxBytes: Int = 1 << 36) throws(NPYError) -> NPYArray {
        let file = url.lastPathComponent
        let data: Data
        do { data = try readBoundedFile(url, maxBytes: maxBytes, mapped: true) } catch {
            switch error {
            case .unreadable(let reason): throw .unreadable(file: file, reason: reason)
            case .tooLarge(let bytes): throw .fileTooLarge(file: file, bytes: bytes, limit: maxBytes)
            }
        }
        return try NPYArray(parsing: data, source: file)
    }

    /// Parses the bytes of a `.npy` file. `source` names the input in error messages.
    public init(parsing data: Data, source: String = "<data>") throws(NPYError) {
        // Result bridges the typed error out of `withUnsafeBytes`, which only rethrows untyped.
        let result: Result<NPYArray, NPYError> = data.withUnsafeBytes { raw in
            Result { () throws(NPYError) -> NPYArray in try NPYArray.parse(raw, file: source) }
        }
        self = try result.get()
    }

    /// Encodes as a version 1.0 `.npy` file with dtype `'<f4'`, byte for byte as `np.save`
    /// writes it (same key order, growth padding, 64-byte data alignment, trailing newline).
    /// Throws if `values.count` is not the product of `shape` or a dimension is out of range.
    public static func encode(shape: [Int], values: [Float]) throws(NPYError) -> Data {
        try encode(shape: shape, values: values, file: "<encode>")
    }

    /// The exact header (magic, version, length, padded dict) `np.save` writes for a `'<f4'`
    /// C-order array of `shape`; the data bytes follow it directly. Useful to stream values out.
    public static func encodeHeader(shape: [Int]) throws(NPYError) -> Data {
        try encodeHeader(shape: shape, file: "<encode>")
    }

    /// Writes the array to `url` in the format of `encode(shape:values:)`, atomically: readers
    /// see the old file or the complete new one, never a partial write.
    public func write(to url: URL) throws(NPYError) {
        let file = url.lastPathComponent
        #if _endian(little)
        // Stream header then values straight from the array into a temporary file beside the
        // target, then rename it into place: no second in-memory copy of a large array.
        let count = try NPYArray.elementCount(shape: shape, file: file)
        guard count == values.count else {
            throw .shapeMismatch(file: file, shape: shape, valueCount: values.count)
        }
        let header = try NPYArray.encodeHeader(shape: shape, file: file)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(file).\(UUID().uuidString).tmp")
        do {
            guard FileManager.default.createFile(atPath: temporary.path, contents: header) else {
                throw NPYError.writeFailed(file: file, reason: "cannot create \(temporary.lastPathComponent)")
            }
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                try handle.seekToEnd()
                try values.withUnsafeBytes { try handle.write(contentsOf: $0) }
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            guard rename(temporary.path, url.path) == 0 else {
                throw NPYError.writeFailed(file: file, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? NPYError { throw error }
            throw .writeFailed(file: file, reason: error.localizedDescription)
        }
        #else
        let data = try NPYArray.encode(shape: shape, values: values, file: file)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw .writeFailed(file: file, reason: error.localizedDescription)
        }
        #endif
    }

    /// Index of the first NaN or infinity in `values`, or nil if all are finite.
    /// Readers accept non-finite values (they are valid floats); callers that cannot use them
    /// reject the array with this.
    public func firstNonFinite() -> Int? {
        values.firstIndex { !$0.isFinite }
    }
}

/// Every way a `.npy` input (or an array to encode) can be wrong. `file` is the file's name, or
/// the `source` given to `NPYArray(parsing:source:)`.
public enum NPYError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read, or is not a regular file.
    case unreadable(file: String, reason: String)
    /// The file is larger than the caller's limit.
    case fileTooLarge(file: String, bytes: Int, limit: Int)
    /// The file does not start with `\x93NUMPY`.
    case badMagic(file: String)
    /// A format version other than 1.0, 2.0 or 3.0.
    case unsupportedVersion(file: String, major: UInt8, minor: UInt8)
    /// The header (or its length field) extends past the end of the file.
    case truncatedHeader(file: String, neededBytes: Int, availableBytes: Int)
    /// The header length field exceeds `NPYArray.maxHeaderBytes`.
    case headerTooLarge(file: String, length: Int, limit: Int)
    /// The header is not a Python dict literal of the expected form.
    case malformedHeader(file: String, reason: String)
    /// One of 'descr', 'fortran_order', 'shape' is absent.
    case missingKey(file: String, key: String)
    /// The header dict has a key other than the three above (NumPy rejects these too).
    case unexpectedKey(file: String, key: String)
    /// The dtype is not `'<f4'` or `'<f8'`.
    case unsupportedDType(file: String, descr: String)
    /// `fortran_order` is True; only C order is supported.
    case fortranOrder(file: String)
    /// A shape entry is negative or larger than `NPYArray.maxDimension`; `value` is its text.
    case invalidDimension(file: String, axis: Int, value: String)
    /// The element count or byte count of the shape does not fit in `Int`.
    case shapeOverflow(file: String, shape: [Int])
    /// Fewer data bytes than the shape and dtype require.
    case truncatedData(file: String, expectedBytes: Int, actualBytes: Int)
    /// More data bytes than the shape and dtype require.
    case trailingData(file: String, expectedBytes: Int, actualBytes: Int)
    /// A finite float64 value too large in magnitude for Float.
    case valueOutOfRange(file: String, index: Int, value: Double)
    /// Encoding: `values.count` does not match the product of `shape`.
    case shapeMismatch(file: String, shape: [Int], valueCount: Int)
    /// Encoding or writing failed.
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read .npy file: \(reason)"
        case let .fileTooLarge(file, bytes, limit):
            return "\(file): file is \(bytes) bytes, more than the limit of \(limit) bytes"
        case let .badMagic(file):
            return "\(file): not a .npy file (does not start with \\x93NUMPY)"
        case let .unsupportedVersion(file, major, minor):
            return "\(file): .npy format version \(major).\(minor) is not supported (expected 1.0, 2.0 or 3.0)"
        case let .truncatedHeader(file, needed, available):
            return "\(file): header is truncated: needs \(needed) bytes but the file has \(available)"
        case let .headerTooLarge(file, length, limit):
            return "\(file): header length \(length) exceeds the limit of \(limit) bytes"
        case let .malformedHeader(file, reason):
            return "\(file): malformed header: \(reason)"
        case let .missingKey(file, key):
            return "\(file): header has no '\(key)' key"
        case let .unexpectedKey(file, key):
            return "\(file): header has unexpected key '\(key)' (expected only 'descr', 'fortran_order', 'shape')"
        case let .unsupportedDType(file, descr):
            return "\(file): dtype '\(descr)' is not supported (expected '<f4' or '<f8')"
        case let .fortranOrder(file):
            return "\(file): fortran_order True is not supported (save a C-order array, e.g. np.ascontiguousarray)"
        case let .invalidDimension(file, axis, value):
            return "\(file): shape dimension \(axis) is \(value) (must be between 0 and 2^40)"
        case let .shapeOverflow(file, shape):
            return "\(file): shape \(shape) is too large (its size overflows)"
        case let .truncatedData(file, expected, actual):
            return "\(file): data is truncated: expected \(expected) bytes, got \(actual)"
        case let .trailingData(file, expected, actual):
            return "\(file): unexpected trailing data: expected \(expected) bytes, got \(actual)"
        case let .valueOutOfRange(file, index, value):
            return "\(file): float64 value \(value) at index \(index) is outside the float32 range"
        case let .shapeMismatch(file, shape, count):
            return "\(file): shape \(shape) does not match \(count) values"
        case let .writeFailed(file, reason):
            return "\(file): cannot write .npy file: \(reason)"
        }
    }
}

// MARK: - Reading

extension NPYArray {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    /// Parses a whole file image. Every check happens before the result is allocated, so a
    /// corrupt header can never cause a huge allocation.
    fileprivate static func parse(_ raw: UnsafeRawBufferPointer, file: String) throws(NPYError) -> NPYArray {
        guard raw.count >= magic.count, raw.prefix(magic.count).elementsEqual(magic) else {
            throw .badMagic(file: file)
        }
        guard raw.count >= 8 else { throw .truncatedHeader(file: file, neededBytes: 8, availableBytes: raw.count) }
        let major = raw[6], minor = raw[7]
        // Version 1.0 has a 2-byte header length; 2.0 and 3.0 (UTF-8 header) have 4 bytes.
        let lengthFieldSize: Int
        switch (major, minor) {
        case (1, 0): lengthFieldSize = 2
        case (2, 0), (3, 0): lengthFieldSize = 4
        default: throw .unsupportedVersion(file: file, major: major, minor: minor)
        }
        let headerStart = 8 + lengthFieldSize
        guard raw.count >= headerStart else {
            throw .truncatedHeader(file: file, neededBytes: headerStart, availableBytes: raw.count)
        }
        var headerLength = 0
        for i in 0..<lengthFieldSize {  // little-endian
            headerLength |= Int(raw[8 + i]) << (8 * i)
        }
        guard headerLength <= maxHeaderBytes else {
            throw .headerTooLarge(file: file, length: headerLength, limit: maxHeaderBytes)
        }
        let dataStart = headerStart + headerLength  // both bounded, cannot overflow
        guard raw.count >= dataStart else {
            throw .truncatedHeader(file: file, neededBytes: dataStart, availableBytes: raw.count)
        }

        var parser = HeaderParser(bytes: Array(raw[headerStart..<dataStart]), file: file)
        let header = try parser.parseHeader()

        let itemSize: Int
        switch header.descr {
        case "<f4": itemSize = 4
        case "<f8": itemSize = 8
        default: throw .unsupportedDType(file: file, descr: header.descr)
        }
        if header.fortranOrder { throw .fortranOrder(file: file) }

        var count = 1  // the empty shape is a scalar
        for dimension in header.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .shapeOverflow(file: file, shape: header.shape) }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else { throw .shapeOverflow(file: file, shape: header.shape) }
        let available = raw.count - dataStart
        guard available >= byteCount else {
            throw .truncatedData(file: file, expectedBytes: byteCount, actualBytes: available)
        }
        guard available == byteCount else {
            throw .trailingData(file: file, expectedBytes: byteCount, actualBytes: available)
        }

        let body = UnsafeRawBufferPointer(rebasing: raw[dataStart..<raw.count])
        if itemSize == 4 {
            return NPYArray(shape: header.shape, values: convertFloat32(body, count: count))
        }
        switch convertFloat64(body, count: count) {
        case .success(let values):
            return NPYArray(shape: header.shape, values: values)
        case .failure(let bad):
            throw .valueOutOfRange(file: file, index: bad.index, value: bad.value)
        }
    }

    /// Copies little-endian float32 data; a plain memcpy on little-endian hosts.
    private static func convertFloat32(_ body: UnsafeRawBufferPointer, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: body)
            #else
            for i in 0..<count {
                let bits = body.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                buffer[i] = Float(bitPattern: UInt32(littleEndian: bits))
            }
            #endif
            initialized = count
        }
    }

    private struct OutOfRange: Error { var index: Int; var value: Double }

    /// Narrows little-endian float64 data in one pass. A finite value that would become
    /// infinite is an error (silently turning data into inf would hide corruption);
    /// NaN and infinities pass through unchanged for `firstNonFinite()` to report.
    private static func convertFloat64(_ body: UnsafeRawBufferPointer, count: Int) -> Result<[Float], OutOfRange> {
        var bad: OutOfRange?
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            for i in 0..<count {
                let bits = UInt64(littleEndian: body.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
                let double = Double(bitPattern: bits)
                let float = Float(double)
                if double.isFinite && !float.isFinite {
                    bad = OutOfRange(index: i, value: double)
                    return
                }
                buffer[i] = float
                initialized = i + 1
            }
        }
        if let bad { return .failure(bad) }
        return .success(values)
    }
}

/// The three fields NumPy's header dict must hold.
private struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
}

/// The subset of Python literals a `.npy` header can contain.
private indirect enum PyLiteral {
    case string(String)
    case integer(String)  // kept as text: validated (and bounded) only where a dimension is expected
    case bool(Bool)
    case none
    case sequence([PyLiteral], isTuple: Bool)
}

/// Recursive-descent parser for the header: a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` followed by space padding
/// and a newline. Nesting depth is bounded so a hostile header cannot exhaust the stack.
private struct HeaderParser {
    let bytes: [UInt8]
    let file: String
    var position = 0
    static let maxDepth = 16

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    mutating func parseHeader() throws(NPYError) -> NPYHeader {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else {
            throw fail("header is not a Python dict literal (expected '{', found \(describeNext()))")
        }
        position += 1
        var fields: [String: (value: PyLiteral, text: String)] = [:]
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { position += 1; break }
            guard case .string(let key) = try parseValue(depth: 1) else {
                throw fail("dict keys must be strings")
            }
            guard ["descr", "fortran_order", "shape"].contains(key) else {
                throw .unexpectedKey(file: file, key: key)
            }
            guard fields[key] == nil else { throw fail("duplicate key '\(key)'") }
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            let start = position
            let value = try parseValue(depth: 1)
            fields[key] = (value, text(start..<position))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            if peek() == UInt8(ascii: "}") { position += 1; break }
            throw fail("expected ',' or '}', found \(describeNext())")
        }
        skipWhitespace()  // NumPy pads with spaces and ends with '\n'
        guard position == bytes.count else {
            throw fail("unexpected \(describeNext()) after the header dict")
        }

        guard let descrField = fields["descr"] else { throw .missingKey(file: file, key: "descr") }
        guard let orderField = fields["fortran_order"] else { throw .missingKey(file: file, key: "fortran_order") }
        guard let shapeField = fields["shape"] else { throw .missingKey(file: file, key: "shape") }

        // A structured dtype has a list descr; report its text as the unsupported dtype.
        let descr: String
        if case .string(let text) = descrField.value { descr = text } else { descr = Self.clip(descrField.text) }
        guard case .bool(let fortranOrder) = orderField.value else {
            throw .malformedHeader(file: file, reason: "'fortran_order' must be True or False, got \(Self.clip(orderField.text))")
        }
        guard case .sequence(let items, isTuple: true) = shapeField.value else {
            throw .malformedHeader(file: file, reason: "'shape' must be a tuple of integers, got \(Self.clip(shapeField.text))")
        }
        guard items.count <= NPYArray.maxAxes else {
            throw .malformedHeader(file: file, reason: "shape has \(items.count) dimensions (at most \(NPYArray.maxAxes) are supported)")
        }
        var shape: [Int] = []
        for (axis, item) in items.enumerated() {
            guard case .integer(let text) = item else {
                throw .malformedHeader(file: file, reason: "'shape' must be a tuple of integers, got \(Self.clip(shapeField.text))")
            }
            guard let dimension = Self.dimension(text) else {
                throw .invalidDimension(file: file, axis: axis, value: Self.clip(text))
            }
            shape.append(dimension)
        }
        return NPYHeader(descr: descr, fortranOrder: fortranOrder, shape: shape)
    }

    /// Parses a non-negative integer no larger than `NPYArray.maxDimension`, or nil.
    private static func dimension(_ text: String) -> Int? {
        var digits = Substring(text)
        if digits.last == "L" || digits.last == "l" { digits = digits.dropLast() }  // Python 2 long
        if digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value = 0
        for character in digits.utf8 {
            guard character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(character - UInt8(ascii: "0"))
            // Checked every digit, so `value * 10` stays far from overflow.
            guard value <= NPYArray.maxDimension else { return nil }
        }
        return value
    }

    private mutating func parseValue(depth: Int) throws(NPYError) -> PyLiteral {
        guard depth <= Self.maxDepth else { throw fail("values nested more than \(Self.maxDepth) deep") }
        guard let byte = peek() else { throw fail("unexpected end of header") }
        switch byte {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString(quote: byte))
        case UInt8(ascii: "("), UInt8(ascii: "["):
            return try parseSequence(depth: depth)
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            position += 1
            while let next = peek(), Self.isDigit(next) || next == UInt8(ascii: "L") || next == UInt8(ascii: "l") {
                position += 1
            }
            return .integer(text(start..<position))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
            let start = position
            while let next = peek(), Self.isLetter(next) { position += 1 }
            switch text(start..<position) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case let word:
                position = start
                throw fail("unexpected name '\(Self.clip(word))'")
            }
        default:
            throw fail("unexpected \(describeNext())")
        }
    }

    /// Parses `'...'` or `"..."`. A backslash escapes the next byte (kept verbatim: no valid
    /// float dtype contains one, so exact unescaping does not matter).
    private mutating func parseString(quote: UInt8) throws(NPYError) -> String {
        let opening = position
        position += 1
        var content: [UInt8] = []
        while let byte = peek() {
            position += 1
            if byte == quote { return String(decoding: content, as: UTF8.self) }
            if byte == UInt8(ascii: "\\"), let escaped = peek() {
                content.append(escaped)
                position += 1
            } else {
                content.append(byte)
            }
        }
        position = opening
        throw fail("unterminated string")
    }

    /// Parses a tuple or list. As in Python, `(5)` is just the integer 5; only `(5,)` is a tuple.
    private mutating func parseSequence(depth: Int) throws(NPYError) -> PyLiteral {
        let isTuple = peek() == UInt8(ascii: "(")
        let closing = isTuple ? UInt8(ascii: ")") : UInt8(ascii: "]")
        position += 1
        var items: [PyLiteral] = []
        var sawComma = false
        while true {
            skipWhitespace()
            if peek() == closing { position += 1; break }
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { position += 1; sawComma = true; continue }
            if peek() == closing { position += 1; break }
            throw fail("expected ',' or '\(Character(Unicode.Scalar(closing)))', found \(describeNext())")
        }
        if isTuple && items.count == 1 && !sawComma { return items[0] }
        return .sequence(items, isTuple: isTuple)
    }

    private mutating func expect(_ character: Unicode.Scalar) throws(NPYError) {
        guard peek() == UInt8(ascii: character) else {
            throw fail("expected '\(character)', found \(describeNext())")
        }
        position += 1
    }

    private func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    private func fail(_ reason: String) -> NPYError {
        .malformedHeader(file: file, reason: "\(reason) at header offset \(position)")
    }

    /// The next byte, quoted for an error message; non-printable bytes as \xNN.
    private func describeNext() -> String {
        guard let byte = peek() else { return "end of header" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte \\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
    }

    /// Keeps untrusted text in error messages short.
    private static func clip(_ text: String) -> String {
        text.count <= 80 ? text : String(text.prefix(80)) + "..."
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

// MARK: - Writing

extension NPYArray {
    /// Format alignment of the data section, as NumPy's `ARRAY_ALIGN`.
    private static let arrayAlign = 64
    /// NumPy leaves room to rewrite the growth axis in place: `GROWTH_AXIS_MAX_DIGITS`.
    private static let growthAxisMaxDigits = 21

    fileprivate static func encode(shape: [Int], values: [Float], file: String) throws(NPYError) -> Data {
        let count = try elementCount(shape: shape, file: file)
        guard count == values.count else {
            throw .shapeMismatch(file: file, shape: shape, valueCount: values.count)
        }
        var data = try encodeHeader(shape: shape, file: file)
        data.reserveCapacity(data.count + values.count * 4)
        #if _endian(little)
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        #else
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        #endif
        return data
    }

    /// Element count of a shape to encode: dimensions in 0...maxDimension, no overflow.
    private static func elementCount(shape: [Int], file: String) throws(NPYError) -> Int {
        guard shape.count <= maxAxes else {
            throw .writeFailed(file: file, reason: "\(shape.count) dimensions (at most \(maxAxes) are supported)")
        }
        var count = 1
        for (axis, dimension) in shape.enumerated() {
            guard dimension >= 0, dimension <= maxDimension else {
                throw .invalidDimension(file: file, axis: axis, value: String(dimension))
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .shapeOverflow(file: file, shape: shape) }
            count = product
        }
        return count
    }

    fileprivate static func encodeHeader(shape: [Int], file: String) throws(NPYError) -> Data {
        _ = try elementCount(shape: shape, file: file)
        // Mirrors numpy.lib.format._write_array_header: sorted keys, repr() values, a trailing
        // ", " after each item, then spaces so the first axis can grow to 21 digits in place.
        let shapeRepr: String
        switch shape.count {
        case 0: shapeRepr = "()"
        case 1: shapeRepr = "(\(shape[0]),)"
        default: shapeRepr = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeRepr), }"
        if let first = shape.first {
            dict += String(repeating: " ", count: max(0, growthAxisMaxDigits - String(first).count))
        }
        // _wrap_header: pad with spaces + '\n' so the data starts on a 64-byte boundary.
        // NumPy's formula pads a full 64 bytes when already aligned; keep that for byte equality.
        let dictBytes = Array(dict.utf8)
        let lineLength = dictBytes.count + 1  // + '\n'
        // Version 1.0 always suffices: with at most 64 axes of at most 13 digits the header stays
        // far below the 65535 bytes its 2-byte length field can describe.
        let padding = arrayAlign - ((magic.count + 2 + 2 + lineLength) % arrayAlign)
        let headerLength = lineLength + padding

        var data = Data()
        data.reserveCapacity(magic.count + 4 + headerLength)
        data.append(contentsOf: magic)
        data.append(contentsOf: [1, 0])  // version 1.0
        data.append(UInt8(truncatingIfNeeded: headerLength))  // little-endian UInt16
        data.append(UInt8(truncatingIfNeeded: headerLength >> 8))
        data.append(contentsOf: dictBytes)
        data.append(contentsOf: [UInt8](repeating: 0x20, count: padding))
        data.append(0x0A)
        return data
    }
}
