import Foundation
import KlingRenderCore

/// The manifest during a run: every change of state is written to disk (temporary file, fsync,
/// rename) before the executor goes on, so that a crash or `kill -9` at any point loses nothing.
package actor ManifestRecorder {
    private(set) package var manifest: Manifest
    private let url: URL
    /// The first write that failed: the run stops submitting, since what it spends would go unrecorded.
    private(set) package var writeError: String?

    package init(manifest: Manifest, url: URL) {
        self.manifest = manifest
        self.url = url
    }

    package func entry(_ id: String) -> ManifestShot? { manifest.shots[id] }

    /// Changes one shot's entry and writes the manifest. Throws when it cannot be written.
    package func record(_ id: String, _ change: (inout ManifestShot?) -> Void) throws {
        var entry = manifest.shots[id]
        change(&entry)
        manifest.shots[id] = entry
        try save()
    }

    package func save() throws {
        do {
            try ManifestStore.write(manifest, to: url)
        } catch {
            writeError = "cannot write \(url.path): \(error.localizedDescription)"
            throw error
        }
    }
}
