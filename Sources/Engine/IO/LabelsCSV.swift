// Reader for the labels CSV that pairs each image with its ground-truth label. The file comes
// from users, so it is parsed as RFC 4180 (quoted fields, doubled quotes, CRLF or LF, UTF-8 BOM)
// with a size bound, and every problem is reported as `LabelsCSVError` with file and line so
// the user can fix the file rather than guess.

import Foundation

/// The `image` and `label` columns of a labels CSV, in file order (`images[i]` has `labels[i]`).
///
/// The header row must name an `image` and a `label` column (any order; other columns such as
/// `index` are ignored). Header names are compared after trimming surrounding whitespace and are
/// case-sensitive. Completely empty lines are skipped; values are kept exactly as written.
public struct LabelsCSV: Sendable {
    /// The `image` value of each data row.
    public var images: [String]
    /// The `label` value of each data row; never empty or whitespace-only.
    public var labels: [String]

    /// Reads and parses a labels CSV, refusing files over `maxBytes` before reading them.
    /// Errors name the file by its last path component.
    public static func read(from url: URL, maxBytes: Int = 64 << 20) throws(LabelsCSVError) -> LabelsCSV {
        let file = url.lastPathComponent
        let data: Data
        do { data = try readBoundedFile(url, maxBytes: maxBytes, mapped: false) } catch {
            switch error {
            case .unreadable(let reason): throw .unreadable(file: file, reason: reason)
            case .tooLarge(let bytes): throw .fileTooLarge(file: file, bytes: bytes, limit: maxBytes)
            }
        }
        guard let text = decodeUTF8(data) else {
            throw .notUTF8(file: file, line: firstInvalidUTF8Line(data))
        }
        return try LabelsCSV(parsing: text, source: file)
    }

    /// Parses CSV text. `source` names the input in error messages (usually the file name).
    public init(parsing text: String, source: String) throws(LabelsCSVError) {
        var text = text
        // Parse the UTF-8 bytes directly: every structural character is ASCII, and Swift's
        // Character view would merge "\r\n" into one grapheme.
        let result: Result<LabelsCSV, LabelsCSVError> = text.withUTF8 { bytes in
            Result { () throws(LabelsCSVError) -> LabelsCSV in try LabelsCSV.parse(bytes, file: source) }
        }
        self = try result.get()
    }

    private init(images: [String], labels: [String]) {
        self.images = images
        self.labels = labels
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String) throws(LabelsCSVError) -> LabelsCSV {
        var scanner = CSVScanner(bytes: bytes, file: file)
        guard let header = try scanner.nextRecord() else { throw .missingHeader(file: file) }

        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        func column(_ name: String) throws(LabelsCSVError) -> Int {
            let matches = names.indices.filter { names[$0] == name }
            guard let first = matches.first else {
                throw .missingColumn(file: file, line: header.line, column: name, found: clipped(names))
            }
            guard matches.count == 1 else { throw .duplicateColumn(file: file, line: header.line, column: name) }
            return first
        }
        let imageColumn = try column("image")
        let labelColumn = try column("label")

        var images: [String] = []
        var labels: [String] = []
        while let record = try scanner.nextRecord() {
            guard record.fields.count == names.count else {
                throw .wrongFieldCount(file: file, line: record.line, expected: names.count, got: record.fields.count)
            }
            let image = record.fields[imageColumn]
            let label = record.fields[labelColumn]
            // A blank label would silently become its own class; a blank image matches nothing.
            guard !image.isEmpty else { throw .emptyValue(file: file, line: record.line, column: "image") }
            guard !label.allSatisfy(\.isWhitespace) else {
                throw .emptyValue(file: file, line: record.line, column: "label")
            }
            images.append(image)
            labels.append(label)
        }
        guard !images.isEmpty else { throw .noDataRows(file: file) }
        return LabelsCSV(images: images, labels: labels)
    }

    /// Keeps untrusted header names in error messages short.
    private static func clipped(_ names: [String]) -> [String] {
        names.prefix(20).map { $0.count <= 40 ? $0 : String($0.prefix(40)) + "..." }
    }

    /// Strict UTF-8 decoding. `String(decoding:)` repairs invalid bytes to U+FFFD, so the input
    /// was valid exactly when re-encoding gives the same bytes. (Portable: `String(validating:)`
    /// needs macOS 15.)
    private static func decodeUTF8<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }

    /// 1-based line of the first invalid UTF-8 sequence. Splitting at LF is safe: 0x0A never
    /// occurs inside a multi-byte sequence.
    private static func firstInvalidUTF8Line(_ data: Data) -> Int {
        var line = 1
        for chunk in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if decodeUTF8(chunk) == nil { return line }
            line += 1
        }
        return line
    }
}

/// Every way a labels CSV can be wrong. `file` is the file name (or the `source` given to
/// `LabelsCSV(parsing:source:)`); `line` is the 1-based line where the offending row starts.
public enum LabelsCSVError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read, or is not a regular file.
    case unreadable(file: String, reason: String)
    /// The file is larger than the caller's limit.
    case fileTooLarge(file: String, bytes: Int, limit: Int)
    /// The bytes are not valid UTF-8; `line` holds the first invalid sequence.
    case notUTF8(file: String, line: Int)
    /// The file is empty: there is no header row.
    case missingHeader(file: String)
    /// The header row lacks a required column (`image` or `label`); `found` lists its columns.
    case missingColumn(file: String, line: Int, column: String, found: [String])
    /// A required column appears more than once, so which one to use is ambiguous.
    case duplicateColumn(file: String, line: Int, column: String)
    /// A data row has a different number of fields than the header.
    case wrongFieldCount(file: String, line: Int, expected: Int, got: Int)
    /// The `image` value is empty or the `label` value is empty or whitespace-only.
    case emptyValue(file: String, line: Int, column: String)
    /// A quoted field is never closed; `line` is where it opens.
    case unterminatedQuote(file: String, line: Int)
    /// Text follows a closing quote before the next comma or line end (e.g. `"a"b`).
    case malformedQuote(file: String, line: Int)
    /// The header is present but no data row follows.
    case noDataRows(file: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read labels CSV: \(reason)"
        case let .fileTooLarge(file, bytes, limit):
            return "\(file): file is \(bytes) bytes, more than the limit of \(limit) bytes"
        case let .notUTF8(file, line):
            return "\(file):\(line): not valid UTF-8"
        case let .missingHeader(file):
            return "\(file): file is empty (expected a header row with 'image' and 'label' columns)"
        case let .missingColumn(file, line, column, found):
            return "\(file):\(line): header has no '\(column)' column (found: \(found.joined(separator: ", ")))"
        case let .duplicateColumn(file, line, column):
            return "\(file):\(line): header has more than one '\(column)' column"
        case let .wrongFieldCount(file, line, expected, got):
            return "\(file):\(line): row has \(got) fields, expected \(expected) (one per header column)"
        case let .emptyValue(file, line, column):
            return "\(file):\(line): empty '\(column)' value"
        case let .unterminatedQuote(file, line):
            return "\(file):\(line): quoted field is never closed"
        case let .malformedQuote(file, line):
            return "\(file):\(line): unexpected text after a closing quote (write a literal quote as \"\")"
        case let .noDataRows(file):
            return "\(file): no data rows after the header"
        }
    }
}

/// Splits UTF-8 bytes into RFC 4180 records, tracking physical line numbers so errors can point
/// at the row's first line even when quoted fields span several lines.
private struct CSVScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: String
    var position = 0
    var line = 1

    static let quote = UInt8(ascii: "\"")
    static let comma = UInt8(ascii: ",")
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")

    init(bytes: UnsafeBufferPointer<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
        // A UTF-8 byte order mark is an encoding signature, not part of the first header name.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { position = 3 }
    }

    /// The next record and the line it starts on, or nil at the end of input.
    mutating func nextRecord() throws(LabelsCSVError) -> (fields: [String], line: Int)? {
        // Skip completely empty lines, including the blank lines some tools leave at the end.
        while position < bytes.count, bytes[position] == Self.cr || bytes[position] == Self.lf {
            consumeLineEnd()
        }
        guard position < bytes.count else { return nil }
        let startLine = line
        var fields: [String] = []
        while true {
            fields.append(try nextField())
            guard position < bytes.count else { break }
            if bytes[position] == Self.comma {
                position += 1
                continue  // a comma at the very end still introduces one (empty) field
            }
            consumeLineEnd()  // nextField stops only at a comma, a line end or the end of input
            break
        }
        return (fields, startLine)
    }

    private mutating func nextField() throws(LabelsCSVError) -> String {
        guard position < bytes.count, bytes[position] == Self.quote else {
            // Unquoted: runs to the next comma or line end. A stray quote inside is kept
            // literally, as Python's csv module does.
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == Self.comma || byte == Self.cr || byte == Self.lf { break }
                position += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }
        let openingLine = line
        position += 1
        var content: [UInt8] = []
        while true {
            guard position < bytes.count else { throw .unterminatedQuote(file: file, line: openingLine) }
            let byte = bytes[position]
            if byte == Self.quote {
                if position + 1 < bytes.count && bytes[position + 1] == Self.quote {
                    content.append(Self.quote)  // "" is a literal quote
                    position += 2
                    continue
                }
                position += 1
                break
            }
            if byte == Self.cr || byte == Self.lf {
                // Line breaks inside quotes belong to the value but still advance the line count.
                let end = position
                consumeLineEnd()
                content.append(contentsOf: bytes[end..<position])
                continue
            }
            content.append(byte)
            position += 1
        }
        if position < bytes.count {
            let byte = bytes[position]
            guard byte == Self.comma || byte == Self.cr || byte == Self.lf else {
                throw .malformedQuote(file: file, line: line)
            }
        }
        return String(decoding: content, as: UTF8.self)
    }

    /// Consumes one line ending: CRLF, LF, or a lone CR.
    private mutating func consumeLineEnd() {
        if bytes[position] == Self.cr && position + 1 < bytes.count && bytes[position + 1] == Self.lf {
            position += 2
        } else {
            position += 1
        }
        line += 1
    }
}
