import Foundation
import KlingRenderCore
import PostgresNIO

/// The manifest kept in PostgreSQL, shared by a team as Terraform's `pg` backend shares state.
///
/// Reads (`plan`, `status`) take no lock: one statement, one consistent snapshot. Writes come
/// only from the holder of the project's session-level advisory lock, on the connection that holds
/// it: if that connection drops, the lock is gone and so is every later write, so a run that lost
/// its lock can never write over the next holder's. A holder killed with `kill -9` releases the
/// lock as its connection closes.
package struct PostgresState: ManifestState {
    package var target: PostgresTarget
    /// The project's `name:`: its key in the tables.
    package var project: String
    var schema: PostgresSchema { PostgresSchema(name: target.schema) }

    package init(target: PostgresTarget, project: String) {
        self.target = target
        self.project = project
    }

    package var label: String { target.label }

    package func read() async throws(ManifestError) -> ManifestRead? {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnector.connect(target, applicationName: "kling-render (read)")
        } catch {
            throw ManifestError(
                path: label, reason: "cannot reach the shared state: \(PostgresConnector.describe(error))")
        }
        defer { Task { try? await connection.close() } }
        do {
            let (schema, label) = (schema, label)
            return try await Answer.within { () async throws -> ManifestRead? in
                guard let installed = try await schema.installed(on: connection) else { return nil }
                guard installed <= PostgresSchema.version else {
                    throw ManifestError(path: label, reason: SchemaProblem.newer(installed).description)
                }
                return try await self.read(on: connection, version: installed)
            }
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(
                path: label, reason: "cannot read the shared state: \(PostgresConnector.describe(error))")
        }
    }

    /// The project's rows as one manifest, checked as a manifest from someone else is. `version`:
    /// the tables' (a reader does not migrate them; a draft's record came with version 3).
    func read(on connection: PostgresConnection, version: Int = PostgresSchema.version) async throws -> ManifestRead? {
        let s = schema.quoted
        let draft = version >= 3 ? "p.draft_cut::text" : "NULL::text"
        let rows = try await connection.query(
            """
            SELECT p.endpoint, p.cut::text, \(unescaped: draft),
                (SELECT json_object_agg(x.key, x.entry)::text FROM \(unescaped: s).shots x WHERE x.project = p.project),
                (SELECT json_object_agg(a.path, a.entry)::text FROM \(unescaped: s).assets a WHERE a.project = p.project),
                (SELECT json_object_agg(l.task_id, json_build_object('shot', l.shot, 'credits', l.credits))::text
                    FROM \(unescaped: s).ledger l WHERE l.project = p.project)
            FROM \(unescaped: s).projects p WHERE p.project = \(project)
            """, logger: PostgresConnector.logger)
        for try await (endpoint, cut, draft, shots, assets, ledger) in rows.decode(
            (String, String?, String?, String?, String?, String?).self)
        {
            return try assemble(
                endpoint: endpoint, cut: cut, draft: draft, shots: shots, assets: assets, ledger: ledger)
        }
        return nil
    }

    private func assemble(
        endpoint: String, cut: String?, draft: String?, shots: String?, assets: String?, ledger: String?
    ) throws(ManifestError) -> ManifestRead {
        let size = [cut, draft, shots, assets, ledger].reduce(0) { $0 + ($1?.utf8.count ?? 0) }
        guard size <= ManifestStore.maxSize else {
            throw ManifestError(
                path: label,
                reason: "the shared state is larger than \(ManifestStore.maxSize >> 20) MiB; it is not kling-render's")
        }
        var manifest = Manifest(project: project, endpoint: endpoint, simulated: false)
        let decoder = JSONDecoder()
        do {
            if let shots { manifest.shots = try decoder.decode([String: ManifestShot].self, from: Data(shots.utf8)) }
            if let assets {
                manifest.assets = try decoder.decode([String: ManifestAsset].self, from: Data(assets.utf8))
            }
            if let cut { manifest.cut = try decoder.decode(ManifestCut.self, from: Data(cut.utf8)) }
            if let draft { manifest.draftCut = try decoder.decode(ManifestCut.self, from: Data(draft.utf8)) }
            if let ledger { manifest.ledger = try decoder.decode([String: LedgerEntry].self, from: Data(ledger.utf8)) }
        } catch {
            throw ManifestError(
                path: label,
                reason:
                    "the shared state holds rows that are not kling-render's (\(Printable.short("\(error)", limit: 200))); nothing is written over them"
            )
        }
        manifest.recomputeTotals()
        if let problem = ManifestCheck.problem(in: manifest) {
            throw ManifestError(path: label, reason: "\(problem); nothing is written over it")
        }
        let data: Data
        do {
            data = try manifest.encoded()
        } catch {
            throw ManifestError(path: label, reason: "cannot encode the shared state (\(error))")
        }
        return ManifestRead(manifest: manifest, digest: Digest.sha256Hex(data))
    }

    package func lock(_ request: LockRequest) async throws(StateLockError) -> any ManifestWriter {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnector.connect(
                target, applicationName: "kling-render \(request.command)")
        } catch {
            throw .failed(state: label, reason: "cannot reach it: \(PostgresConnector.describe(error))")
        }
        do {
            let schema = schema
            try await Answer.within { try await schema.prepare(on: connection) }
            try await take(request, on: connection)
            let baseline = try await Answer.within { try await self.read(on: connection)?.manifest }
            return PostgresWriter(state: self, connection: connection, written: baseline)
        } catch {
            try? await connection.close()
            switch error {
            case let error as StateLockError: throw error
            case let error as SchemaProblem: throw .failed(state: label, reason: error.description)
            case let error as ManifestError: throw .failed(state: label, reason: error.reason)
            default: throw .failed(state: label, reason: PostgresConnector.describe(error))
            }
        }
    }

    /// `pg_try_advisory_lock` until it is ours or the wait is over; the holder is recorded.
    private func take(_ request: LockRequest, on connection: PostgresConnection) async throws {
        let logger = PostgresConnector.logger
        let key = schema.lockKey(project: project)
        let start = ContinuousClock.now
        var told = false
        while true {
            let taken = try await Answer.within {
                let rows = try await connection.query(
                    "SELECT pg_try_advisory_lock(\(PostgresSchema.lockClass), \(key))", logger: logger)
                var taken = false
                for try await got in rows.decode(Bool.self) { taken = got }
                return taken
            }
            if taken {
                _ = try await Answer.within { [schema, project] in
                    try await connection.query(
                        """
                        INSERT INTO \(unescaped: schema.quoted).locks (project, holder, backend_pid, since)
                        VALUES (\(project), \(request.holder), pg_backend_pid(), now())
                        ON CONFLICT (project) DO UPDATE
                        SET holder = excluded.holder, backend_pid = excluded.backend_pid, since = excluded.since
                        """, logger: logger)
                }
                return
            }
            let holder = try await Answer.within { try await self.holder(on: connection, key: key) }
            let waited = (ContinuousClock.now - start)
            guard let wait = request.wait, waited < .seconds(wait), !Task.isCancelled else {
                throw StateLockError.busy(state: "`\(project)` in \(label)", holder: holder, waited: request.wait)
            }
            if !told { request.waiting(holder) }
            told = true
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Who holds the lock, as recorded; only a record whose connection still holds it counts.
    private func holder(on connection: PostgresConnection, key: Int32) async throws -> String {
        let rows = try await connection.query(
            """
            SELECT l.holder, to_char(l.since AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            FROM \(unescaped: schema.quoted).locks l
            WHERE l.project = \(project) AND EXISTS (
                SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend_pid
                AND k.classid::bigint = \(Int64(PostgresSchema.lockClass)) AND k.objid::bigint = \(Int64(key)))
            """, logger: PostgresConnector.logger)
        for try await (holder, since) in rows.decode((String, String).self) {
            return "\(Printable.escaped(Printable.short(holder, limit: 160))) since \(since) UTC"
        }
        return "another kling-render (it did not record its name)"
    }
}
