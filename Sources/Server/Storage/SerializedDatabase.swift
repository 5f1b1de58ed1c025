// The only way the server reaches its connection: one `Database` confined to one serial DispatchQueue, as
// GRDB's `SerializedDatabase.swift` does. HTTP handlers and Dispatch workers call `read` or `write` from any
// thread; the closures run one at a time on the queue, so the connection is never used by two threads at once.
import Dispatch

/// A database connection that may be shared between threads, because every use of it is serialized.
///
/// SQLite's threading documentation (https://www.sqlite.org/threadsafe.html) offers three modes:
///
/// > 1. **Single-thread.** In this mode, all mutexes are disabled and SQLite is unsafe to use in more than
/// >    a single thread at once.
/// > 2. **Multi-thread.** In this mode, SQLite can be safely used by multiple threads provided that no
/// >    single database connection nor any object derived from database connection, such as a prepared
/// >    statement, is used in two or more threads at the same time.
/// > 3. **Serialized.** In serialized mode, API calls to affect or use any SQLite database connection or
/// >    any object derived from such a database connection can be made safely from multiple threads.
///
/// The connection is opened in multi-thread mode (SQLITE_OPEN_NOMUTEX): the serial queue already
/// guarantees what the serialized mode's per-connection mutex would, and it also makes a whole closure
/// (a transaction, a read followed by a write) atomic with respect to other callers, which a mutex around
/// each API call would not. Prepared statements, being "derived objects", stay on the queue too: they live
/// in the connection's cache and never escape a closure.
///
/// Calls block the caller until the closure has run. They are short (microseconds to one fsync) but must not
/// be nested: calling `read` or `write` from inside a closure would deadlock, and traps instead.
///
/// Reads go to a second, read-only connection with its own queue (files only; `:memory:` has one connection):
/// in WAL mode a reader sees every committed write and is never blocked by the writer, so status polls keep
/// answering in microseconds while a worker commits a job's results.
final class SerializedDatabase: @unchecked Sendable {
    // @unchecked: `Database` is not Sendable, and each one is only touched inside its queue's `sync` below.
    private let database: Database
    private let queue: DispatchQueue
    private let reader: (database: Database, queue: DispatchQueue)?

    /// Opens the connection (see `Database.init`) and gives it its queue; for a file, also the reader.
    init(path: String, busyTimeoutMilliseconds: Int32 = 5_000) throws {
        self.queue = DispatchQueue(label: "anomaly-clustering.database")
        self.database = try Database(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        if database.isInMemory {
            reader = nil
        } else {
            reader = (try Database(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, readOnly: true),
                      DispatchQueue(label: "anomaly-clustering.database.read"))
        }
    }

    /// The file path, or `:memory:`.
    var path: String { database.path }

    /// Runs queries, on the read-only connection when there is one. Sees every write committed before it
    /// starts; a read that must be atomic with a write belongs in `write`.
    func read<T: Sendable>(_ body: (Database) throws -> T) rethrows -> T {
        guard let reader else { return try run(body) }
        dispatchPrecondition(condition: .notOnQueue(reader.queue))
        return try reader.queue.sync { try body(reader.database) }
    }

    /// Runs writes. Multi-statement writes belong in `database.transaction { … }` inside `body`.
    func write<T: Sendable>(_ body: (Database) throws -> T) rethrows -> T {
        try run(body)
    }

    /// Closes the connection once queued work has finished. Any later `read` or `write` traps.
    func close() {
        if let reader { reader.queue.sync { reader.database.close() } }
        run { $0.close() }
    }

    private func run<T>(_ body: (Database) throws -> T) rethrows -> T {
        // queue.sync from the queue itself deadlocks silently; trap with a message instead.
        dispatchPrecondition(condition: .notOnQueue(queue))
        return try queue.sync { try body(database) }
    }
}
