import Foundation
import KlingRenderCore
import PostgresNIO

/// kling-render's tables in the schema the address names, created on first use and migrated by
/// a version number kept in `state_version`:
///
/// - `projects`: a row per project (by its `name:`), with the endpoint, the cut, and a revision
///   bumped by every write;
/// - `shots`: a row per take (`sunrise`, `sunrise.take2`), its manifest entry as `jsonb`;
/// - `assets`: a row per file hosted in the asset store, by path;
/// - `locks`: who holds a project's advisory lock, and since when;
/// - `ledger` (version 2): a row per task the project paid for, never deleted;
/// - `projects.draft_cut` (version 3): the draft's record beside the film's.
struct PostgresSchema {
    static let version = 3
    /// The first half of every advisory lock key of kling-render ("KLNG"): never the key of
    /// another program's lock, and never one global key for every project.
    static let lockClass: Int32 = 0x4B4C_4E47

    let name: String
    var quoted: String { "\"\(name)\"" }

    /// The statements that take the tables from version `n - 1` to `n`.
    private func migration(_ n: Int) -> [String] {
        switch n {
        case 1:
            [
                """
                CREATE TABLE \(quoted).projects (
                    project text PRIMARY KEY,
                    endpoint text NOT NULL,
                    cut jsonb,
                    revision bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now())
                """,
                """
                CREATE TABLE \(quoted).shots (
                    project text NOT NULL,
                    key text NOT NULL,
                    entry jsonb NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (project, key))
                """,
                """
                CREATE TABLE \(quoted).assets (
                    project text NOT NULL,
                    path text NOT NULL,
                    entry jsonb NOT NULL,
                    PRIMARY KEY (project, path))
                """,
                """
                CREATE TABLE \(quoted).locks (
                    project text PRIMARY KEY,
                    holder text NOT NULL,
                    backend_pid integer NOT NULL,
                    since timestamptz NOT NULL DEFAULT now())
                """,
            ]
        case 2:
            [
                """
                CREATE TABLE \(quoted).ledger (
                    project text NOT NULL,
                    task_id text NOT NULL,
                    shot text NOT NULL,
                    credits bigint NOT NULL,
                    PRIMARY KEY (project, task_id))
                """
            ]
        case 3: ["ALTER TABLE \(quoted).projects ADD COLUMN draft_cut jsonb"]
        default: []
        }
    }

    /// The version the tables are at: 0 when there are none; nil when the schema's version table
    /// does not exist (nothing was ever written).
    func installed(on connection: PostgresConnection) async throws -> Int? {
        let exists = try await connection.query(
            "SELECT to_regclass(\(quoted + ".state_version"))::text", logger: PostgresConnector.logger)
        var found: String?
        for try await name in exists.decode(String?.self) { found = name }
        guard found != nil else { return nil }
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0) FROM \(quoted).state_version"),
            logger: PostgresConnector.logger)
        for try await version in rows.decode(Int.self) { return version }
        return 0
    }

    /// Creates or migrates the tables, once for all processes at once (a transaction-scoped
    /// advisory lock); refuses tables newer than this kling-render knows.
    func prepare(on connection: PostgresConnection) async throws(SchemaProblem) {
        let logger = PostgresConnector.logger
        let quoted = quoted
        // Teammates with table rights only must not need CREATE: tables that are there are used.
        do {
            if let installed = try await installed(on: connection), installed >= Self.version {
                guard installed == Self.version else { throw SchemaProblem.newer(installed) }
                return
            }
        } catch let problem as SchemaProblem {
            throw problem
        } catch {
            throw .failed(PostgresConnector.describe(error))
        }
        do {
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockClass), 0)", logger: logger)
                try await connection.query(
                    PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(quoted)"), logger: logger)
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "CREATE TABLE IF NOT EXISTS \(quoted).state_version (version integer NOT NULL)"),
                    logger: logger)
                let installed = try await self.installed(on: connection) ?? 0
                guard installed <= Self.version else { throw SchemaProblem.newer(installed) }
                for n in stride(from: installed + 1, through: Self.version, by: 1) {
                    for statement in migration(n) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                }
                if installed < Self.version {
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "DELETE FROM \(quoted).state_version"), logger: logger)
                    try await connection.query(
                        "INSERT INTO \(unescaped: quoted).state_version (version) VALUES (\(Self.version))",
                        logger: logger)
                }
            }
        } catch let error as PostgresTransactionError {
            if let problem = error.closureError as? SchemaProblem { throw problem }
            throw .failed(PostgresConnector.describe(error))
        } catch {
            throw .failed(PostgresConnector.describe(error))
        }
    }

    /// The second half of a project's lock key: the schema and the project's name, hashed.
    func lockKey(project: String) -> Int32 {
        let digest = Digest.sha256Hex(Data("\(name)\u{0}\(project)".utf8))
        return Int32(bitPattern: UInt32(digest.prefix(8), radix: 16) ?? 0) & 0x7FFF_FFFF
    }
}

enum SchemaProblem: Error, Sendable, CustomStringConvertible {
    case newer(Int)
    case failed(String)

    var description: String {
        switch self {
        case .newer(let version):
            "its tables are at version \(version), newer than this kling-render knows (\(PostgresSchema.version)): use a newer kling-render"
        case .failed(let reason): "cannot prepare its tables: \(reason)"
        }
    }
}
