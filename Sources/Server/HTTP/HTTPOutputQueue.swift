// What a connection still has to send, in order: byte buffers (`100 Continue`, response heads, in-memory
// bodies) and file bodies sent with sendfile(2) straight from the page cache. A partial write leaves the
// rest queued; the connection then waits for the socket to be writable and flushes again.
import Glibc

/// A connection's unsent output. Owns the descriptors of queued files.
struct HTTPOutputQueue {
    private enum Chunk {
        case bytes([UInt8], sent: Int)
        /// A file to send from `offset` to `end`; the descriptor is closed when done or dropped.
        case file(descriptor: Int32, offset: Int, end: Int)
    }

    /// How a flush ended.
    enum FlushResult: Equatable {
        /// Everything queued was handed to the kernel.
        case complete
        /// The socket's buffer is full; `progressed` says whether anything was written first.
        case blocked(progressed: Bool)
    }

    /// Largest sendfile call, so one large download cannot hold the loop for long.
    private static let maxFileChunk = 1 << 20

    private var chunks: [Chunk] = []

    var isEmpty: Bool { chunks.isEmpty }

    mutating func append(_ bytes: [UInt8]) {
        if !bytes.isEmpty { chunks.append(.bytes(bytes, sent: 0)) }
    }

    /// Queues `length` bytes of the open file `descriptor`, taking ownership of it.
    mutating func appendFile(descriptor: Int32, length: Int) {
        if length > 0 {
            chunks.append(.file(descriptor: descriptor, offset: 0, end: length))
        } else {
            try? System.close(descriptor)
        }
    }

    /// Writes as much as `socket` takes.
    mutating func flush(to socket: Socket) throws(SystemError) -> FlushResult {
        var progressed = false
        while let chunk = chunks.first {
            switch chunk {
            case .bytes(let bytes, let sent):
                // `withUnsafeBytes` rethrows untyped errors, so the typed one travels out as a Result.
                let result = try bytes.withUnsafeBytes { raw in
                    Result { () throws(SystemError) in
                        try socket.write(UnsafeRawBufferPointer(rebasing: raw[sent...]))
                    }
                }.get()
                guard case .processed(let count) = result else { return .blocked(progressed: progressed) }
                progressed = true
                if sent + count == bytes.count {
                    chunks.removeFirst()
                } else {
                    chunks[0] = .bytes(bytes, sent: sent + count)
                }
            case .file(let descriptor, var offset, let end):
                let count = min(end - offset, Self.maxFileChunk)
                let result = try socket.sendFile(descriptor, offset: &offset, count: count)
                guard case .processed(let sent) = result else { return .blocked(progressed: progressed) }
                if sent == 0 {
                    // The file shrank after we announced its length: the response cannot be completed.
                    throw SystemError(call: "sendfile (file shorter than its Content-Length)", errno: EIO)
                }
                progressed = true
                if offset == end {
                    try? System.close(descriptor)
                    chunks.removeFirst()
                } else {
                    chunks[0] = .file(descriptor: descriptor, offset: offset, end: end)
                }
            }
        }
        return .complete
    }

    /// Drops everything unsent, closing queued files.
    mutating func removeAll() {
        for case .file(let descriptor, _, _) in chunks {
            try? System.close(descriptor)
        }
        chunks = []
    }
}
