// Stores one request body as it arrives, never holding a large one whole in memory: small bodies stay in a
// byte array, and the first byte past the memory limit (or the first byte at all, for upload routes and
// bodies whose Content-Length is over the limit) moves everything into a temporary file.
import Foundation

/// Storing a body failed; `response` is what the client gets.
struct RequestBodyStorageError: Error {
    var underlying: SystemError
    /// Body bytes stored before the failure.
    var bytesStored: Int

    /// 507 for a full disk or quota (RFC 4918 §11.5, "Insufficient Storage"), 500 for anything else. The
    /// message leaves out paths; the log has the detail.
    var response: HTTPResponse {
        switch underlying.errno {
        case ENOSPC, EDQUOT:
            return .error(status: 507, code: "insufficient_storage",
                          message: "no space left to store the request body (disk full after \(bytesStored) bytes)")
        default:
            return .error(status: 500, code: "body_storage_failed",
                          message: "could not store the request body: \(String(cString: strerror(underlying.errno)))")
        }
    }
}

/// One request body on its way in. Finish it (`finish()`) or throw it away (`discard()`), exactly once.
final class RequestBodyWriter {
    /// Makes the temporary file; replaceable so tests can make writes fail.
    typealias FileMaker = (_ directory: String) throws(SystemError) -> TemporaryFile

    private let directory: String
    private let memoryLimit: Int
    /// Whether the body goes to disk whatever its size.
    private let onDisk: Bool
    private let makeFile: FileMaker
    private var memory: [UInt8] = []
    private var file: TemporaryFile?
    private var isDone = false
    /// Body bytes received so far.
    private(set) var byteCount = 0

    /// - Parameters:
    ///   - storage: `.disk` puts even a small body in a file.
    ///   - contentLength: the announced length, nil for chunked. Over `memoryLimit`, the body goes straight
    ///     to disk instead of filling memory first.
    init(directory: String, memoryLimit: Int, storage: HTTPBodyStorage, contentLength: Int?,
         makeFile: @escaping FileMaker = { (directory) throws(SystemError) in try TemporaryFile(in: directory) }) {
        self.directory = directory
        self.memoryLimit = memoryLimit
        self.makeFile = makeFile
        onDisk = storage == .disk || (contentLength ?? 0) > memoryLimit
        if !onDisk, let contentLength { memory.reserveCapacity(contentLength) }
    }

    deinit {
        assert(isDone, "RequestBodyWriter dropped without finish() or discard()")
    }

    /// Stores the next body bytes. On failure the partial file is already removed.
    func append(_ bytes: ArraySlice<UInt8>) throws(RequestBodyStorageError) {
        precondition(!isDone, "append after finish() or discard()")
        if file == nil, !onDisk, memory.count + bytes.count <= memoryLimit {
            memory.append(contentsOf: bytes)
        } else {
            try withCleanup { (file) throws(SystemError) in try file.write(bytes) }
        }
        byteCount += bytes.count
    }

    /// The stored body: in memory, or in a closed temporary file the caller now owns.
    func finish() throws(RequestBodyStorageError) -> RequestBody {
        precondition(!isDone, "finish() called twice")
        if onDisk || file != nil {
            try withCleanup { (file) throws(SystemError) in try file.finishWriting() }
            isDone = true
            return .file(URL(fileURLWithPath: file!.path), byteCount: byteCount)
        }
        isDone = true
        return .memory(memory)
    }

    /// Drops the body, deleting any temporary file.
    func discard() {
        guard !isDone else { return }
        isDone = true
        file?.remove()
        file = nil
        memory = []
    }

    /// Runs `body` on the file, creating it (and moving the in-memory bytes into it) first if needed; on
    /// failure removes the file and marks the writer done.
    private func withCleanup(_ body: (TemporaryFile) throws(SystemError) -> Void) throws(RequestBodyStorageError) {
        do {
            if file == nil {
                file = try makeFile(directory)
                if !memory.isEmpty {
                    try file!.write(memory[...])
                    memory = []
                }
            }
            try body(file!)
        } catch {
            discard()
            throw RequestBodyStorageError(underlying: error, bytesStored: byteCount)
        }
    }
}
