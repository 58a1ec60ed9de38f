import Foundation
import KlingRenderCore
import KlingStore

/// A file the run hosts in the asset store: a local input, or a frame once it is extracted.
package struct LocalAsset: Sendable, Equatable {
    /// Where it is read, relative to the project file's folder (symlinks resolved).
    package var resolved: String
    package var sha256: String
    package var bytes: Int64
    package var media: MediaType
}

/// The run's assets: what each path holds, and its key in the store once it is there. Upload
/// steps fill it; a render reads its inputs' URLs from it.
package actor AssetBoard {
    private var files: [String: LocalAsset]
    private var keys: [String: String] = [:]

    package init(_ files: [String: LocalAsset] = [:]) { self.files = files }

    package func file(_ path: String) -> LocalAsset? { files[path] }
    package func set(_ path: String, _ asset: LocalAsset) { files[path] = asset }
    package func key(_ path: String) -> String? { keys[path] }
    package func stored(_ paths: [String], key: String) { for path in paths { keys[path] = key } }
}

/// Dates as the manifest writes them (`2026-11-26T02:15:08Z`), and read back.
package enum AssetClock {
    package static func stamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    package static func date(_ text: String?) -> Date? {
        guard let text, text.count <= 40 else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// The store a run uploads to, with what the manifest records of it.
package struct AssetHost: Sendable {
    package var store: any ObjectStore

    package init(store: any ObjectStore) { self.store = store }

    /// `PREFIX/SHA256.EXT`: each content once, whatever uses it.
    package func key(sha256: String, media: MediaType) -> String {
        store.key(sha256: sha256, fileExtension: media.fileExtension)
    }

    /// The manifest's record of a stored content: never a URL.
    package func record(_ asset: LocalAsset, key: String) -> ManifestAsset {
        ManifestAsset(
            sha256: asset.sha256, bytes: asset.bytes, store: store.label, key: key, urlLifetime: store.urlLifetime)
    }

    /// A URL as the manifest may keep it: a presigned URL without its signature query.
    package static func unsigned(_ url: String) -> String {
        guard url.contains("X-Amz-Signature="), let q = url.firstIndex(of: "?") else { return url }
        return String(url[..<q])
    }
}
