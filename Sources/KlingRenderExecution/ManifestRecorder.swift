import Foundation
import KlingRenderCore

/// The manifest during a run: every change of state is kept (on disk: temporary file, fsync,
/// rename; in a shared database: committed) before the call that made it returns, so that a crash
/// or `kill -9` at any point loses nothing.
///
/// Writes are group-committed: changes made while a write is under way go to disk together in
/// the next one, each caller waiting for the first write that holds its change. A 500-shot run
/// otherwise spends most of its time re-encoding the whole manifest once per change.
package actor ManifestRecorder {
    private(set) package var manifest: Manifest
    private let writer: any ManifestWriter
    /// Bumped by every change; `written` is the highest one on disk.
    private var version = 0
    private var written = 0
    private var writing = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    package init(manifest: Manifest, writer: any ManifestWriter) {
        self.manifest = manifest
        self.writer = writer
    }

    package func entry(_ id: String) -> ManifestShot? { manifest.shots[id] }

    /// Changes one shot's entry in memory only: it goes to disk with the next write. For a change
    /// that a crash may lose without harm (a render seen done: the next apply polls it again).
    package func stage(_ id: String, _ change: (inout ManifestShot?) -> Void) {
        var entry = manifest.shots[id]
        change(&entry)
        manifest.shots[id] = entry
        version += 1
    }

    /// Writes whatever is staged.
    package func flush() async throws {
        try await persist(upTo: version)
    }

    /// Changes one shot's entry and returns once the change is on disk. Throws when it cannot be written.
    package func record(_ id: String, _ change: (inout ManifestShot?) -> Void) async throws {
        var entry = manifest.shots[id]
        change(&entry)
        manifest.shots[id] = entry
        version += 1
        try await persist(upTo: version)
    }

    /// Records the assembled cut, on disk before it returns.
    package func recordCut(_ cut: ManifestCut, draft: Bool = false) async throws {
        if draft { manifest.draftCut = cut } else { manifest.cut = cut }
        version += 1
        try await persist(upTo: version)
    }

    /// Records an uploaded asset under each of its paths, on disk before it returns.
    package func recordAsset(_ paths: [String], _ asset: ManifestAsset) async throws {
        var assets = manifest.assets ?? [:]
        for path in paths { assets[path] = asset }
        manifest.assets = assets
        version += 1
        try await persist(upTo: version)
    }

    private func persist(upTo target: Int) async throws {
        while written < target {
            if writing {
                await withCheckedContinuation { waiters.append($0) }
                continue
            }
            writing = true
            let snapshot = manifest
            let snapshotVersion = version
            let result: Result<Void, any Error>
            do {
                try await writer.write(snapshot)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            writing = false
            let waiting = waiters
            waiters = []
            for waiter in waiting { waiter.resume() }
            switch result {
            case .success:
                written = max(written, snapshotVersion)
            case .failure(let error):
                throw error
            }
        }
    }
}
