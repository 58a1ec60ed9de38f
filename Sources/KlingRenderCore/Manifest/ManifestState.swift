import Foundation

/// Where a project's manifest is kept: the file beside the project (`FileState`), or a database a
/// team shares (`PostgresState`, in KlingState). Reading takes no lock; writing happens only
/// through the writer a lock gives, so there is one writer at a time, wherever it runs.
package protocol ManifestState: Sendable {
    /// Where it is, for messages: `film.manifest.json`, `postgres://db:5432/films?schema=kling`.
    var label: String { get }
    /// nil when nothing has been recorded yet. The digest is over the manifest's bytes as
    /// `Manifest.encoded` writes them (a saved plan's staleness check).
    func read() async throws(ManifestError) -> ManifestRead?
    /// The one writer: waits up to `request.wait` seconds for another holder, else fails naming it.
    func lock(_ request: LockRequest) async throws(StateLockError) -> any ManifestWriter
}

package struct ManifestRead: Sendable {
    package var manifest: Manifest
    package var digest: String

    package init(manifest: Manifest, digest: String) {
        self.manifest = manifest
        self.digest = digest
    }
}

/// Writes the manifest, whole as far as the caller sees: every change is kept once `write`
/// returns. Holds the lock until `release`.
package protocol ManifestWriter: Sendable {
    func write(_ manifest: Manifest) async throws
    func release() async
}

package struct LockRequest: Sendable {
    /// What to record as the holder's command: `apply`, `accept`, `import`, `state push`.
    package var command: String
    /// Seconds to wait for a holder to finish; nil: refuse at once.
    package var wait: Double?
    /// Told once when the lock is held by someone else and this run waits.
    package var waiting: @Sendable (String) -> Void

    package init(command: String, wait: Double? = nil, waiting: @escaping @Sendable (String) -> Void = { _ in }) {
        self.command = command
        self.wait = wait
        self.waiting = waiting
    }

    /// Who takes the lock, as others will see it: `alice@studio-3, pid 4242, kling-render apply`.
    package var holder: String {
        let user =
            ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 }
            ?? getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "someone"
        return "\(user)@\(ProcessInfo.processInfo.hostName), pid \(getpid()), kling-render \(command)"
    }
}

package enum StateLockError: Error, Sendable, CustomStringConvertible {
    /// Held by someone else: who, and since when, as recorded.
    case busy(state: String, holder: String, waited: Double?)
    case failed(state: String, reason: String)

    package var description: String {
        switch self {
        case .busy(let state, let holder, let waited):
            let wait = waited.map { "waited \(Cut.seconds($0)) s for " } ?? ""
            return "\(wait)\(state) is locked by \(holder); nothing was sent. "
                + (waited == nil
                    ? "Try again when it finishes, or wait for it with --lock-timeout 5m"
                    : "Try again when it finishes, or wait longer with a larger --lock-timeout")
        case .failed(let state, let reason):
            return "cannot lock \(state): \(reason); nothing was sent"
        }
    }
}

/// The manifest file beside the project, locked by `ManifestLock`.
package struct FileState: ManifestState {
    package var paths: ProjectPaths

    package init(paths: ProjectPaths) { self.paths = paths }

    package var label: String { paths.manifestName }

    package func read() async throws(ManifestError) -> ManifestRead? {
        try ManifestStore.read(paths).map { ManifestRead(manifest: $0.manifest, digest: $0.digest) }
    }

    package func lock(_ request: LockRequest) async throws(StateLockError) -> any ManifestWriter {
        let start = ContinuousClock.now
        var told = false
        while true {
            do {
                let lock = try ManifestLock.acquire(for: paths, command: "kling-render \(request.command)")
                // Held: what a writer killed mid-write left is nobody's now.
                AtomicFile.sweep(paths.manifestName, in: paths.root)
                return FileManifestWriter(paths: paths, lock: lock)
            } catch {
                guard error.isBusy else { throw .failed(state: label, reason: error.holder) }
                let waited = (ContinuousClock.now - start).inSeconds
                guard let wait = request.wait, waited < wait, !Task.isCancelled else {
                    throw .busy(state: label, holder: error.holder, waited: request.wait)
                }
                if !told { request.waiting(error.holder) }
                told = true
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

/// Writes the manifest file atomically, off the caller's executor.
package struct FileManifestWriter: ManifestWriter {
    package var paths: ProjectPaths
    package var lock: ManifestLock?
    /// Kept across this writer's writes: each encodes only the entries that changed.
    private let encoder = ManifestEncoder()

    /// `lock` nil: a writer for tests and tools that hold no lock.
    package init(paths: ProjectPaths, lock: ManifestLock? = nil) {
        self.paths = paths
        self.lock = lock
    }

    package func write(_ manifest: Manifest) async throws {
        let (paths, encoder) = (paths, encoder)
        try await Task.detached { try ManifestStore.write(manifest, to: paths, encoder: encoder) }.value
    }

    package func release() async { lock?.release() }
}

/// Runs `body` holding the manifest's lock, and releases it on every way out: the one place that
/// takes and gives back the lock for every command that writes state (`apply`, `import`,
/// `accept`, `state push` and `pull`). A lock that cannot be had throws `StateLockError`.
package func withManifestLock<T: Sendable>(
    _ state: any ManifestState, command: String, wait: Double? = nil,
    waiting: @escaping @Sendable (String) -> Void = { _ in },
    _ body: (any ManifestWriter) async throws -> T
) async throws -> T {
    let writer = try await state.lock(LockRequest(command: command, wait: wait, waiting: waiting))
    do {
        let result = try await body(writer)
        await writer.release()
        return result
    } catch {
        await writer.release()
        throw error
    }
}
