// A streaming multipart/form-data parser (RFC 7578, RFC 2046 §5.1): fed a stored upload body in chunks of
// any size, it reports each part's start, its data as slices, and its end, holding back at most one
// boundary's worth of bytes, so a part of any size passes through without being held in memory.

/// What the multipart parser produces.
enum MultipartEvent: Sendable, Equatable {
    /// A part starts; its data follows.
    case partBegin(name: String, filename: String?, contentType: String?)
    /// Bytes of the current part's data. Usually a slice of the fed bytes; never empty.
    case partData(ArraySlice<UInt8>)
    /// The current part's data is complete.
    case partEnd
    /// The close delimiter `--boundary--` was read; anything after it (the epilogue) is ignored.
    case end
}

/// A streaming `multipart/form-data` parser.
///
/// Grammar (RFC 2046 §5.1.1): an ignored preamble; then per part the delimiter `CRLF--boundary`, optional
/// spaces or tabs, CRLF, header lines, an empty line and data; finally `CRLF--boundary--` and an ignored
/// epilogue. The first delimiter may start the body without the CRLF. All lines here end in CRLF; a bare LF
/// is malformed. A body whose first delimiter is the close delimiter (an empty form) gives just `.end`.
struct MultipartParser: Sendable {
    /// Limits on one body.
    struct Limits: Sendable, Equatable {
        /// Bytes of one part's header section, CRLFs and the final empty line included. Default 16 KiB.
        var maxPartHeaderBytes = 16 * 1024
        /// Parts in one body. Default 10,000 (one image per part).
        var maxParts = 10_000
        /// Whitespace bytes allowed between a boundary and its CRLF (`transport-padding`). Default 64.
        var maxTransportPadding = 64
    }

    private enum State: Sendable, Equatable {
        case preamble
        /// Right after a delimiter: `--` (close), or padding and CRLF (a part follows).
        case afterDelimiter
        case partHeaders
        case partData
        case epilogue
        case failed(MultipartError)
    }

    let limits: Limits
    /// `CRLF--boundary`, the delimiter searched for.
    private let delimiter: [UInt8]
    private var state = State.preamble
    /// Bytes held back from the previous chunk because they may begin a delimiter (at most a delimiter's
    /// length); see `resolveCarry`. Starts as CRLF, so that a delimiter at the very start of the body is found
    /// like any other without copying the first chunk.
    private var carry: [UInt8] = [HTTPSyntax.cr, HTTPSyntax.lf]
    /// The unfinished line in `afterDelimiter` and `partHeaders`.
    private var line: [UInt8] = []
    private var headerBytes = 0
    private var partHeaders = HTTPHeaders()
    private var partCount = 0

    /// A parser for a body with this boundary (already validated, see `init(contentType:)`).
    init(boundary: String, limits: Limits = Limits()) {
        self.limits = limits
        self.delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// A parser for a body with this `Content-Type`, which must be `multipart/form-data` with a valid boundary.
    init(contentType: String, limits: Limits = Limits()) throws(MultipartError) {
        self.init(boundary: try MultipartPartHead.boundary(fromContentType: contentType), limits: limits)
    }

    /// Parses the next bytes of the body and returns the events they complete.
    mutating func feed(_ bytes: [UInt8]) throws(MultipartError) -> [MultipartEvent] {
        try feed(bytes[...])
    }

    /// Parses the next bytes of the body and returns the events they complete. After an error every call
    /// throws it again.
    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(MultipartError) -> [MultipartEvent] {
        if case .failed(let error) = state { throw error }
        var input = bytes
        var events: [MultipartEvent] = []
        do {
            while !input.isEmpty {
                try step(&input, &events)
            }
        } catch {
            state = .failed(error)
            throw error
        }
        return events
    }

    /// Reports the end of the body: throws unless the close delimiter was read.
    mutating func finish() throws(MultipartError) {
        let error: MultipartError
        switch state {
        case .epilogue: return
        case .failed(let earlier): throw earlier
        case .preamble: error = .noInitialBoundary
        case .afterDelimiter, .partHeaders, .partData: error = .unterminatedPart
        }
        state = .failed(error)
        throw error
    }

    private mutating func step(_ input: inout ArraySlice<UInt8>, _ events: inout [MultipartEvent])
        throws(MultipartError)
    {
        switch state {
        case .preamble, .partData:
            let inPart = state == .partData
            guard carry.isEmpty else { return resolveCarry(&input, &events, inPart: inPart) }
            switch search(input) {
            case .found(let index):
                if inPart, index > input.startIndex { events.append(.partData(input[..<index])) }
                input = input[(index + delimiter.count)...]
                delimiterFound(&events, inPart: inPart)
            case .partial(let index):
                if inPart, index > input.startIndex { events.append(.partData(input[..<index])) }
                carry = Array(input[index...])
                input = input[input.endIndex...]
            case .notFound:
                if inPart { events.append(.partData(input)) }
                input = input[input.endIndex...]
            }
        case .afterDelimiter:
            guard let byte = input.popFirst() else { return }
            try readAfterDelimiter(byte, &events)
        case .partHeaders:
            guard let headerLine = try readHeaderLine(&input) else { return }
            if headerLine.isEmpty {
                let head = try MultipartPartHead(headers: partHeaders)
                events.append(.partBegin(name: head.name, filename: head.filename, contentType: head.contentType))
                state = .partData
            } else {
                // RFC 5322 §2.2.3 folding is obsolete in HTTP-style headers; reject it (RFC 9112 §5.2).
                guard let first = headerLine.first, !HTTPSyntax.isWhitespace(first) else {
                    throw .malformedPartHeader
                }
                let field = try MultipartPartHead.parseHeaderLine(headerLine)
                partHeaders.add(name: field.name, value: field.value)
            }
        case .epilogue:
            input = input[input.endIndex...]  // RFC 2046 §5.1.1: the epilogue is to be ignored
        case .failed:
            preconditionFailure("step called in the failed state")
        }
    }

    /// One byte of what follows a delimiter: `--` ends the body; `*(SP / HTAB) CRLF` starts a part.
    private mutating func readAfterDelimiter(_ byte: UInt8, _ events: inout [MultipartEvent])
        throws(MultipartError)
    {
        line.append(byte)
        if line.first == UInt8(ascii: "-") {
            guard line.count == 1 || byte == UInt8(ascii: "-") else { throw .invalidBoundaryLine }
            if line.count == 2 {
                line.removeAll()
                events.append(.end)
                state = .epilogue
            }
            return
        }
        if byte == HTTPSyntax.lf {
            guard line.count >= 2, line[line.count - 2] == HTTPSyntax.cr,
                line.dropLast(2).allSatisfy(HTTPSyntax.isWhitespace)
            else { throw .invalidBoundaryLine }
            line.removeAll()
            partCount += 1
            guard partCount <= limits.maxParts else { throw .tooManyParts(limit: limits.maxParts) }
            headerBytes = 0
            partHeaders = HTTPHeaders()
            state = .partHeaders
        } else {
            guard byte == HTTPSyntax.cr || HTTPSyntax.isWhitespace(byte),
                line.count <= limits.maxTransportPadding + 1
            else { throw .invalidBoundaryLine }
        }
    }

    /// The next CRLF-terminated header line without its CRLF, or nil when `input` ends first.
    private mutating func readHeaderLine(_ input: inout ArraySlice<UInt8>) throws(MultipartError) -> [UInt8]? {
        let lineFeed = input.firstIndex(of: HTTPSyntax.lf)
        let taken = input[..<(lineFeed.map { $0 + 1 } ?? input.endIndex)]
        guard headerBytes + taken.count <= limits.maxPartHeaderBytes else {
            throw .partHeaderTooLarge(limit: limits.maxPartHeaderBytes)
        }
        headerBytes += taken.count
        line.append(contentsOf: taken)
        input = input[taken.endIndex...]
        guard lineFeed != nil else { return nil }
        guard line.count >= 2, line[line.count - 2] == HTTPSyntax.cr else { throw .malformedPartHeader }
        defer { line.removeAll(keepingCapacity: true) }
        return Array(line.dropLast(2))
    }

    /// Decides whether a delimiter starts inside `carry`, continuing into `input`: found (the data before it
    /// is emitted, `input` resumes after it), still undecided (`input` is too short and joins `carry`), or not
    /// (`carry` is data, and `input` is scanned as usual). Only the held-back bytes are copied; `input` is
    /// sliced.
    private mutating func resolveCarry(
        _ input: inout ArraySlice<UInt8>, _ events: inout [MultipartEvent], inPart: Bool
    ) {
        for start in carry.indices where carry[start] == HTTPSyntax.cr {
            let held = carry[start...]
            let needed = delimiter.count - held.count
            let available = min(needed, input.count)
            guard held.elementsEqual(delimiter[..<held.count]),
                input.prefix(available).elementsEqual(delimiter[held.count..<(held.count + available)])
            else { continue }
            if inPart, start > 0 { events.append(.partData(ArraySlice(carry[..<start]))) }
            if available == needed {
                carry.removeAll()
                input = input.dropFirst(needed)
                delimiterFound(&events, inPart: inPart)
            } else {
                carry = Array(held) + input
                input = input[input.endIndex...]
            }
            return
        }
        if inPart { events.append(.partData(ArraySlice(carry))) }
        carry.removeAll()
    }

    /// After a delimiter: the current part (if any) ends, and what follows the delimiter decides the rest.
    private mutating func delimiterFound(_ events: inout [MultipartEvent], inPart: Bool) {
        if inPart { events.append(.partEnd) }
        state = .afterDelimiter
    }

    private enum SearchResult {
        /// The delimiter starts at this index.
        case found(Int)
        /// The bytes from this index to the end are a proper prefix of the delimiter.
        case partial(Int)
        case notFound
    }

    /// Finds the first delimiter in `bytes`, or the start of a delimiter prefix at its end. Every candidate
    /// starts with CR, so the scan jumps between CRs; worst case O(bytes × delimiter), delimiter ≤ 74 bytes.
    private func search(_ bytes: ArraySlice<UInt8>) -> SearchResult {
        var from = bytes.startIndex
        while let start = bytes[from...].firstIndex(of: HTTPSyntax.cr) {
            let available = min(delimiter.count, bytes.endIndex - start)
            if bytes[start..<(start + available)].elementsEqual(delimiter[..<available]) {
                return available == delimiter.count ? .found(start) : .partial(start)
            }
            from = start + 1
        }
        return .notFound
    }
}
