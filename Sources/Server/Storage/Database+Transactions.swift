// Transactions: BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the body throws. IMMEDIATE takes the write lock at
// BEGIN, so a transaction that reads and then writes cannot fail half-way with SQLITE_BUSY on lock upgrade
// (https://www.sqlite.org/lang_transaction.html, "DEFERRED, IMMEDIATE, and EXCLUSIVE transactions").
import CSQLite

extension Database {
    /// How hard a commit tries to survive a power cut. See `JobStore` for which writes use which.
    enum Durability {
        /// `synchronous = NORMAL`: the commit survives the process being killed; a power cut may undo it
        /// (never corrupt the database). For writes that can be redone, such as a worker's results.
        case normal
        /// `synchronous = FULL` for this commit: the WAL is fsynced before COMMIT returns, so the commit
        /// survives a power cut. For promises made to a client, such as the 202 after creating a job.
        case full
    }

    /// Runs `body` in one immediate transaction and commits, or rolls back and rethrows if anything throws.
    ///
    /// Transactions do not nest; calling this from inside `body` is a bug (a precondition). Use it around
    /// every multi-statement write, so that a failure half-way leaves nothing behind.
    /// - Parameter durability: `.full` raises `synchronous` to FULL around this one transaction and restores
    ///   NORMAL afterwards (the level cannot change inside a transaction, so it is set before BEGIN).
    /// - Throws: whatever `body` throws, or the `DatabaseError` of BEGIN or COMMIT.
    func transaction<T>(durability: Durability = .normal, _ body: () throws -> T) throws -> T {
        precondition(!isInTransaction, "transactions do not nest (database \(path))")
        if durability == .full { try setSynchronous(.full) }
        defer {
            // If restoring fails the connection stays at FULL: slower, never less durable, so no reason to
            // turn a committed transaction into a thrown error.
            if durability == .full { try? setSynchronous(.normal) }
        }
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_NOMEM) roll the transaction back
            // by themselves (https://www.sqlite.org/lang_transaction.html, "Response To Errors Within A
            // Transaction"); a second ROLLBACK would fail. The body's error is the one worth reporting.
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }
}
