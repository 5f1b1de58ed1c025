// Schema migrations: an ordered list of named steps and a `schema_migrations` table of the names already
// applied (GRDB's `grdb_migrations`, `Migration/Migration.swift`). Each step commits together with its record in
// one immediate transaction, so a step is either wholly applied and recorded or not at all; SQLite's DDL is
// transactional, so a failed CREATE or ALTER rolls back with the rest.

/// One named schema change. Once shipped, a step is never edited: a database that already recorded it would
/// never see the edit. Change the schema by appending a new step.
struct Migration: Sendable {
    /// A unique name, recorded in `schema_migrations` once applied, e.g. "v1-jobs".
    let name: String
    /// The change, run inside the step's transaction. Foreign keys stay enforced: a step that rebuilds a
    /// table must keep its rows consistent at every statement.
    let apply: @Sendable (Database) throws -> Void
}

/// Why a database cannot be migrated.
enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database records steps this build does not know: a newer build has migrated it. Running older
    /// code on a newer schema could write rows the newer code misreads, so we refuse to open it.
    case unknownMigrations([String])

    var description: String {
        switch self {
        case .unknownMigrations(let names):
            let list = names.map { "`\($0)`" }.joined(separator: ", ")
            return "the database records migration \(list), unknown to this build; it was written by a newer version"
        }
    }
}

/// The ordered list of steps and the code that applies the missing ones.
struct Migrator: Sendable {
    /// The steps, in the order they run.
    private(set) var migrations: [Migration] = []

    /// Appends a step. Names must be unique.
    mutating func register(_ name: String, _ apply: @escaping @Sendable (Database) throws -> Void) {
        precondition(!migrations.contains { $0.name == name }, "migration `\(name)` registered twice")
        migrations.append(Migration(name: name, apply: apply))
    }

    /// Applies, in order, every registered step the database has not recorded.
    /// - Throws: `MigrationError.unknownMigrations` before changing anything if the database records a step
    ///   not registered here; the `DatabaseError` of a failing step, after rolling that step back (the steps
    ///   before it stay applied and recorded).
    func migrate(_ db: Database) throws {
        try db.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name TEXT PRIMARY KEY NOT NULL,
                applied_at INTEGER NOT NULL  -- Unix time, seconds
            ) STRICT
            """)
        let known = Set(migrations.map(\.name))
        let unknown = try appliedMigrations(db).filter { !known.contains($0) }
        guard unknown.isEmpty else { throw MigrationError.unknownMigrations(unknown) }

        for migration in migrations {
            try db.transaction {
                // Checked again inside the write lock: another process may have applied it meanwhile.
                let recorded = try db.fetchOne(
                    "SELECT 1 FROM schema_migrations WHERE name = ?", arguments: [.text(migration.name)])
                guard recorded == nil else { return }
                try migration.apply(db)
                try db.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, unixepoch())",
                    arguments: [.text(migration.name)])
            }
        }
    }

    /// The names recorded in `schema_migrations`, in the order they were applied.
    func appliedMigrations(_ db: Database) throws -> [String] {
        try db.fetchAll("SELECT name FROM schema_migrations ORDER BY rowid").map { try $0["name"] }
    }

    /// Whether every registered step is recorded in the database.
    func isUpToDate(_ db: Database) throws -> Bool {
        let applied = Set(try appliedMigrations(db))
        return migrations.allSatisfy { applied.contains($0.name) }
    }
}
