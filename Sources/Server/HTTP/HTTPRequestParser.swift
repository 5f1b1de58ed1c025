// The HTTP/1.x request parser: a value type fed the bytes of one connection in whatever chunks `read`
// returns, producing a head, body slices and an end marker per request, or one error. It knows nothing about
// sockets or routes. Head parsing (request line, fields, framing) is in `HTTPRequestParser+Head.swift`.

/// What the parser produces from the bytes it is fed.
enum HTTPParserEvent: Sendable, Equatable {
    /// The request head, complete and validated; emitted before any of its body.
    case head(HTTPRequestHead)
    /// Body bytes, de-chunked. A slice of the fed bytes (no copy); valid as long as the caller keeps them.
    case body(ArraySlice<UInt8>)
    /// The request is complete (trailer fields of a chunked body are checked and then discarded, which
    /// RFC 9110 §6.5.1 allows).
    case end
    /// A protocol error; always the last event. The parser is now `failed` and ignores further input.
    case error(HTTPParserError)
}

/// A streaming HTTP/1.0 and HTTP/1.1 request parser.
///
/// Feed it bytes with `feed(_:)`; it returns the events those bytes complete. Requests may be pipelined:
/// after `.end` the following bytes are parsed as the next request, so one `feed` can return several
/// requests' events. Line endings in the head are CRLF or a bare LF (RFC 9112 §2.2: a recipient MAY
/// recognise a single LF, as NIO does); inside a chunked body only CRLF (see `bareLineFeedInChunkedBody`).
/// Limits are counted as bytes arrive (see `HTTPLimits`), so a partial line is never buffered past one.
struct HTTPRequestParser: Sendable {
    /// Where the parser is in the current request.
    enum State: Sendable, Equatable {
        /// Before the request line; empty lines here are skipped (RFC 9112 §2.2: a server SHOULD ignore at
        /// least one empty line received before the request line).
        case requestLine
        /// Reading field lines until the empty line that ends the head.
        case headerLines
        /// Reading a `Content-Length` body; `remaining` bytes to go.
        case body(remaining: Int)
        /// Reading a chunk-size line (RFC 9112 §7.1).
        case chunkSize
        /// Reading chunk data; `remaining` bytes of this chunk to go.
        case chunkData(remaining: Int)
        /// Expecting the CRLF that ends chunk data.
        case chunkDataEnd
        /// Reading trailer field lines after the last chunk (RFC 9112 §7.1.2).
        case chunkTrailer
        /// The request ended with `.end`; further bytes start the next request.
        case complete
        /// A protocol error was reported. Terminal: the connection must be answered and closed.
        case failed(HTTPParserError)
    }

    /// The limits this parser enforces.
    let limits: HTTPLimits
    /// The current state.
    private(set) var state: State = .requestLine

    /// The unfinished line (head, chunk-size or trailer line), or the CR already seen in `chunkDataEnd`.
    private var line: [UInt8] = []
    // The next four are internal, not private, only because `HTTPRequestParser+Head.swift` uses them.
    /// Bytes of the current head, or of the current trailer section, received so far.
    var sectionBytes = 0
    /// Field lines in the current head or trailer section.
    var fieldCount = 0
    /// The parsed request line, waiting for the header section to complete.
    var requestLine: (method: HTTPMethod, target: HTTPRequestTarget, version: HTTPVersion)?
    /// Fields of the current head.
    var headers = HTTPHeaders()
    /// Sum of the chunk sizes of the current chunked body.
    private var chunkedBodyBytes = 0

    init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    /// Forgets everything, including a failure and any partial request, and waits for a new request.
    mutating func reset() {
        self = HTTPRequestParser(limits: limits)
    }

    /// Parses `bytes`, the next bytes of the connection, and returns the events they complete.
    mutating func feed(_ bytes: [UInt8]) -> [HTTPParserEvent] {
        feed(bytes[...])
    }

    /// Parses `bytes`, the next bytes of the connection, and returns the events they complete. After an
    /// `.error` event (or in state `failed`) it returns no more events.
    mutating func feed(_ bytes: ArraySlice<UInt8>) -> [HTTPParserEvent] {
        var events: [HTTPParserEvent] = []
        var input = bytes
        do {
            while !input.isEmpty {
                if case .failed = state { return events }
                try step(&input, &events)
            }
        } catch {
            state = .failed(error)
            events.append(.error(error))
        }
        return events
    }

    /// Reports the end of the connection: nil if it ended between requests (or after a reported failure),
    /// `unexpectedEndOfInput` (and state `failed`) if it ended inside one.
    mutating func finish() -> HTTPParserError? {
        switch state {
        case .complete, .failed: return nil
        case .requestLine where line.isEmpty: return nil
        default:
            state = .failed(.unexpectedEndOfInput)
            return .unexpectedEndOfInput
        }
    }

    /// Consumes some of `input` in the current state.
    private mutating func step(_ input: inout ArraySlice<UInt8>, _ events: inout [HTTPParserEvent])
        throws(HTTPParserError)
    {
        switch state {
        case .complete:
            startNextRequest()
        case .requestLine:
            // The request line has its own limit (414) inside the head's (431); whichever is closer binds.
            let headRemaining = limits.maxHeaderBytes - sectionBytes
            let lineBinds = limits.maxRequestLineBytes <= headRemaining
            guard
                let requestLine = try readLine(
                    &input, maxBytes: lineBinds ? limits.maxRequestLineBytes : headRemaining,
                    tooLong: lineBinds
                        ? .requestLineTooLong(limit: limits.maxRequestLineBytes)
                        : .headerTooLarge(limit: limits.maxHeaderBytes),
                    strictCRLF: false)
            else { return }
            if !requestLine.isEmpty {
                self.requestLine = try Self.parseRequestLine(requestLine)
                state = .headerLines
            }
        case .headerLines:
            guard
                let fieldLine = try readLine(
                    &input, maxBytes: limits.maxHeaderBytes - sectionBytes,
                    tooLong: .headerTooLarge(limit: limits.maxHeaderBytes), strictCRLF: false)
            else { return }
            if fieldLine.isEmpty {
                try completeHead(&events)
            } else {
                let field = try parseFieldLine(fieldLine)
                headers.add(name: field.name, value: field.value)
            }
        case .body(let remaining):
            let count = min(remaining, input.count)
            events.append(.body(input.prefix(count)))
            input = input.dropFirst(count)
            if count == remaining {
                events.append(.end)
                state = .complete
            } else {
                state = .body(remaining: remaining - count)
            }
        case .chunkSize:
            guard
                let sizeLine = try readLine(
                    &input, maxBytes: limits.maxChunkSizeLineBytes,
                    tooLong: .chunkSizeLineTooLong(limit: limits.maxChunkSizeLineBytes), strictCRLF: true)
            else { return }
            let size = try Self.parseChunkSize(sizeLine)
            // Checked before reading the chunk, so an oversized upload fails fast (413).
            guard size <= limits.maxBodyBytes - chunkedBodyBytes else {
                throw .bodyTooLarge(limit: limits.maxBodyBytes)
            }
            chunkedBodyBytes += size
            if size == 0 {
                sectionBytes = 0
                fieldCount = 0
                state = .chunkTrailer
            } else {
                state = .chunkData(remaining: size)
            }
        case .chunkData(let remaining):
            let count = min(remaining, input.count)
            events.append(.body(input.prefix(count)))
            input = input.dropFirst(count)
            state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
        case .chunkDataEnd:
            // RFC 9112 §7.1: `chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF`, exactly.
            guard let byte = input.popFirst() else { return }
            if line.isEmpty {
                guard byte == HTTPSyntax.cr else { throw .missingCRLFAfterChunkData }
                line.append(byte)
            } else {
                guard byte == HTTPSyntax.lf else { throw .missingCRLFAfterChunkData }
                line.removeAll(keepingCapacity: true)
                state = .chunkSize
            }
        case .chunkTrailer:
            guard
                let trailerLine = try readLine(
                    &input, maxBytes: limits.maxHeaderBytes - sectionBytes,
                    tooLong: .headerTooLarge(limit: limits.maxHeaderBytes), strictCRLF: true)
            else { return }
            if trailerLine.isEmpty {
                events.append(.end)
                state = .complete
            } else {
                _ = try parseFieldLine(trailerLine)
            }
        case .failed:
            preconditionFailure("step called in the failed state")
        }
    }

    /// Takes the next complete line from `input`, without its terminator, and counts its bytes (terminator
    /// included) into `sectionBytes`; nil when `input` ends first, the partial line being kept.
    /// - Parameters:
    ///   - maxBytes: the most bytes this line may have, terminator included; one more throws `tooLong`.
    ///   - strictCRLF: whether a bare LF is an error (`bareLineFeedInChunkedBody`) rather than a terminator.
    private mutating func readLine(
        _ input: inout ArraySlice<UInt8>, maxBytes: Int, tooLong: HTTPParserError, strictCRLF: Bool
    ) throws(HTTPParserError) -> [UInt8]? {
        let lineFeed = input.firstIndex(of: HTTPSyntax.lf)
        let taken = input[..<(lineFeed.map { $0 + 1 } ?? input.endIndex)]
        guard line.count + taken.count <= maxBytes else { throw tooLong }
        line.append(contentsOf: taken)
        input = input[taken.endIndex...]
        guard lineFeed != nil else { return nil }

        var complete = line
        line.removeAll(keepingCapacity: true)
        sectionBytes += complete.count
        complete.removeLast()  // LF
        if complete.last == HTTPSyntax.cr {
            complete.removeLast()
        } else if strictCRLF {
            throw .bareLineFeedInChunkedBody
        }
        return complete
    }

    /// Clears per-request state after `.end`, keeping nothing of the finished request.
    private mutating func startNextRequest() {
        sectionBytes = 0
        fieldCount = 0
        requestLine = nil
        headers = HTTPHeaders()
        chunkedBodyBytes = 0
        line.removeAll(keepingCapacity: true)
        state = .requestLine
    }

    /// Moves to the state that reads the body `framing` announces, ending the request at once if there is
    /// no body.
    mutating func startBody(_ framing: HTTPBodyFraming, _ events: inout [HTTPParserEvent]) {
        switch framing {
        case .none, .contentLength(0):
            events.append(.end)
            state = .complete
        case .contentLength(let length):
            state = .body(remaining: length)
        case .chunked:
            state = .chunkSize
        }
    }
}
