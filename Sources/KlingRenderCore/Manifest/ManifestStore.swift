import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A manifest that cannot be read: never overwritten, always reported.
package struct ManifestError: Error, Sendable, CustomStringConvertible {
    package var path: String
    package var reason: String
    package var description: String { "\(path): \(reason)" }
}

/// Reads and writes manifests. Every write is atomic: a temporary file in the same folder,
/// fsync'd, renamed over the old one, the folder fsync'd; a crash leaves the old or the new, whole.
package enum ManifestStore {
    /// nil when there is no manifest yet.
    package static func read(_ url: URL) throws(ManifestError) -> (manifest: Manifest, digest: String)? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ManifestError(path: url.path, reason: "cannot read the manifest")
        }
        do {
            let manifest = try Manifest.decode(data)
            guard manifest.version == Manifest.currentVersion else {
                throw ManifestError(
                    path: url.path, reason: "manifest version \(manifest.version) is not known to this kling-render")
            }
            return (manifest, Digest.sha256Hex(data))
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(
                path: url.path,
                reason: "the manifest is not valid JSON of kling-render (\(Self.describe(error))); "
                    + "restore it from version control, it is never overwritten")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing `\(key.stringValue)`"
        case DecodingError.typeMismatch(_, let context), DecodingError.dataCorrupted(let context),
            DecodingError.valueNotFound(_, let context):
            context.codingPath.map(\.stringValue).joined(separator: ".") + ": " + context.debugDescription
        default: "\(error)"
        }
    }

    package static func write(_ manifest: Manifest, to url: URL) throws {
        var manifest = manifest
        manifest.recomputeTotals()
        try AtomicFile.write(try manifest.encoded(), to: url)
    }
}

/// Writes a file whole or not at all.
package enum AtomicFile {
    package static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary.path]) }
        var ok = true
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 {
                    ok = false
                    break
                }
                offset += n
            }
        }
        if fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok else {
            unlink(temporary.path)
            throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: url.path])
        }
        guard rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        syncFolder(folder)
    }

    package static func syncFolder(_ folder: URL) {
        let fd = open(folder.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
