import Foundation
import KlingRenderCore
import PostgresNIO

/// The lock holder's writes: what changed since the last write, one statement each, which is one
/// transaction. The engine's recorder group-commits, so a burst of changes is one round trip.
actor PostgresWriter: ManifestWriter {
    let state: PostgresState
    let connection: PostgresConnection
    /// What the tables hold, as this writer last wrote or read it.
    private var written: Manifest?
    private var released = false
    /// A write failed: the connection, and the lock with it, cannot be trusted any more.
    private var broken = false

    init(state: PostgresState, connection: PostgresConnection, written: Manifest?) {
        self.state = state
        self.connection = connection
        self.written = written
    }

    func write(_ manifest: Manifest) async throws {
        guard !released else { throw WriteError(reason: "the lock was released") }
        let change = try Change(from: written, to: manifest)
        guard !change.isEmpty else { return }
        // A query on a closed connection is never answered (PostgresNIO drops it): asked first.
        guard !broken, !connection.isClosed else {
            broken = true
            throw WriteError(reason: "\(state.label): the connection to the database was lost, and the lock with it")
        }
        do {
            try await Answer.within { try await self.apply(change, manifest: manifest) }
        } catch {
            broken = true
            try? await connection.close()
            throw WriteError(reason: "\(state.label): \(PostgresConnector.describe(error))")
        }
        written = manifest
    }

    /// Upserts and deletions of shots and assets, and the project's row, in one statement.
    private func apply(_ change: Change, manifest: Manifest) async throws {
        let s = state.schema.quoted
        let cut = try manifest.cut.map { String(decoding: try CanonicalJSON.data($0), as: UTF8.self) }
        let draft = try manifest.draftCut.map { String(decoding: try CanonicalJSON.data($0), as: UTF8.self) }
        try await connection.query(
            """
            WITH p AS (
                INSERT INTO \(unescaped: s).projects (project, endpoint, cut, draft_cut, revision, updated_at)
                VALUES (\(state.project), \(manifest.endpoint), \(cut)::jsonb, \(draft)::jsonb, 1, now())
                ON CONFLICT (project) DO UPDATE SET endpoint = excluded.endpoint, cut = excluded.cut,
                    draft_cut = excluded.draft_cut,
                    revision = projects.revision + 1, updated_at = now()
                RETURNING revision),
            s AS (
                INSERT INTO \(unescaped: s).shots (project, key, entry)
                SELECT \(state.project), k, e::jsonb FROM unnest(\(change.shotKeys)::text[], \(change.shotEntries)::text[]) AS t(k, e)
                ON CONFLICT (project, key) DO UPDATE SET entry = excluded.entry, updated_at = now()),
            sd AS (
                DELETE FROM \(unescaped: s).shots WHERE project = \(state.project) AND key = ANY(\(change.removedShots)::text[])),
            a AS (
                INSERT INTO \(unescaped: s).assets (project, path, entry)
                SELECT \(state.project), k, e::jsonb FROM unnest(\(change.assetPaths)::text[], \(change.assetEntries)::text[]) AS t(k, e)
                ON CONFLICT (project, path) DO UPDATE SET entry = excluded.entry),
            ad AS (
                DELETE FROM \(unescaped: s).assets WHERE project = \(state.project) AND path = ANY(\(change.removedAssets)::text[])),
            l AS (
                INSERT INTO \(unescaped: s).ledger (project, task_id, shot, credits)
                SELECT \(state.project), t, k, c FROM unnest(\(change.paidTasks)::text[], \(change.paidShots)::text[], \(change.paidCredits)::bigint[]) AS x(t, k, c)
                ON CONFLICT (project, task_id) DO UPDATE SET shot = excluded.shot, credits = excluded.credits)
            SELECT revision FROM p
            """, logger: PostgresConnector.logger)
    }

    func release() async {
        guard !released else { return }
        released = true
        let key = state.schema.lockKey(project: state.project)
        let (connection, state) = (connection, state)
        if !broken, !connection.isClosed {
            // Closing the connection alone would release the lock; the holder's record goes too.
            try? await Answer.within {
                try await connection.query(
                    """
                    DELETE FROM \(unescaped: state.schema.quoted).locks
                    WHERE project = \(state.project) AND backend_pid = pg_backend_pid()
                    """, logger: PostgresConnector.logger)
                try await connection.query(
                    "SELECT pg_advisory_unlock(\(PostgresSchema.lockClass), \(key))", logger: PostgresConnector.logger)
            }
        }
        try? await connection.close()
    }
}

struct WriteError: Error, CustomStringConvertible {
    var reason: String
    var description: String { "cannot write the shared state: \(reason)" }
}

/// What differs between two manifests, as rows.
struct Change {
    var shotKeys: [String] = []
    var shotEntries: [String] = []
    var removedShots: [String] = []
    var assetPaths: [String] = []
    var assetEntries: [String] = []
    var removedAssets: [String] = []
    /// Tasks new to the ledger, or with other credits.
    var paidTasks: [String] = []
    var paidShots: [String] = []
    var paidCredits: [Int] = []
    var header = false

    var isEmpty: Bool {
        shotKeys.isEmpty && removedShots.isEmpty && assetPaths.isEmpty && removedAssets.isEmpty && paidTasks.isEmpty
            && !header
    }

    init(from before: Manifest?, to after: Manifest) throws {
        header =
            before == nil || before?.endpoint != after.endpoint || before?.cut != after.cut
            || before?.draftCut != after.draftCut
        for (key, entry) in after.shots.sorted(by: { $0.key < $1.key }) where before?.shots[key] != entry {
            let data = try CanonicalJSON.data(entry)
            shotKeys.append(key)
            shotEntries.append(String(decoding: data, as: UTF8.self))
        }
        removedShots = (before?.shots.keys.filter { after.shots[$0] == nil } ?? []).sorted()
        for (path, asset) in (after.assets ?? [:]).sorted(by: { $0.key < $1.key }) where before?.assets?[path] != asset
        {
            let data = try CanonicalJSON.data(asset)
            assetPaths.append(path)
            assetEntries.append(String(decoding: data, as: UTF8.self))
        }
        removedAssets = (before?.assets?.keys.filter { after.assets?[$0] == nil } ?? []).sorted()
        var after = after
        after.recomputeTotals()
        for (task, paid) in (after.ledger ?? [:]).sorted(by: { $0.key < $1.key }) where before?.ledger?[task] != paid {
            paidTasks.append(task)
            paidShots.append(paid.shot)
            paidCredits.append(paid.credits)
        }
    }
}
