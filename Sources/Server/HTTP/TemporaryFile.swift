// A file created for one request body: a random name in the configured directory, created with O_EXCL (so
// we never open a file someone else planted under the name) and mode 0600 (only the server's user can read
// uploads). It owns its descriptor; the file itself outlives it unless `remove()` is called.
import Glibc

/// A new file open for writing, owned by the request that is storing its body in it.
final class TemporaryFile {
    /// Where the file is.
    let path: String
    /// The descriptor, or -1 once closed.
    private var descriptor: Int32

    /// Creates `<prefix><32 random hex digits><suffix>` (by default `request-body-….tmp`) in `directory`; on
    /// the (2^-128) chance that the name exists, tries another.
    init(in directory: String, prefix: String = "request-body-", suffix: String = ".tmp") throws(SystemError) {
        var lastError = SystemError(call: "open", errno: EEXIST)
        for _ in 0..<4 {
            var generator = SystemRandomNumberGenerator()
            let name = prefix + Self.hex(generator.next()) + Self.hex(generator.next()) + suffix
            let candidate = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            do {
                descriptor = try System.open(candidate, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
                path = candidate
                return
            } catch where error.errno == EEXIST {
                lastError = error
            }
        }
        throw lastError
    }

    /// Takes ownership of `descriptor`, open for writing on `path` (tests use /dev/full to get ENOSPC).
    init(path: String, adopting descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        assert(descriptor < 0, "leak of an open TemporaryFile (\(path))")
    }

    /// Appends all of `bytes`.
    func write(_ bytes: ArraySlice<UInt8>) throws(SystemError) {
        guard descriptor >= 0 else { throw SystemError(call: "write to a closed file", errno: EBADF) }
        // `withUnsafeBytes` rethrows untyped errors, so the typed one travels out as a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(SystemError) in try System.writeAll(descriptor, raw) }
        }.get()
    }

    /// Closes the descriptor and keeps the file. close(2) can report a write error the kernel deferred
    /// (on NFS, for instance), so its error counts. With `sync`, the data reaches the disk first (fsync).
    func finishWriting(sync: Bool = false) throws(SystemError) {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        if sync {
            do { try System.fsync(fd) } catch {
                try? System.close(fd)
                descriptor = -1
                throw error
            }
        }
        descriptor = -1
        try System.close(fd)
    }

    /// Closes the descriptor if open and deletes the file.
    func remove() {
        if descriptor >= 0 {
            try? System.close(descriptor)
            descriptor = -1
        }
        _ = try? System.unlink(path)
    }

    /// The file's name without its directory.
    var fileName: String { String(path.split(separator: "/").last ?? "") }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
