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

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Reads and writes manifests. Every write is atomic: a temporary file in the same folder,
/// fsync'd, renamed over the old one, the folder fsync'd; a crash leaves the old or the new, whole.
/// A manifest is someone else's data: it is read without following a link, size-capped, and
/// checked field by field (`ManifestCheck`) before anything trusts it.
package enum ManifestStore {
    /// Larger manifests are refused before they are read (100,000 shots take about 60 MB).
    package static let maxSize = 256 << 20

    /// nil when there is no manifest yet.
    package static func read(_ paths: ProjectPaths) throws(ManifestError) -> (manifest: Manifest, digest: String)? {
        try read(paths.manifestName, in: paths.root)
    }

    package static func read(_ name: String, in folder: ProjectFolder) throws(ManifestError) -> (
        manifest: Manifest, digest: String
    )? {
        if case .missing = folder.entry(name) { return nil }
        let data: Data
        do {
            let handle = try folder.openForReading(name)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxSize + 1) ?? Data()
        } catch let error as FolderError {
            throw ManifestError(path: name, reason: "cannot read the manifest: \(error.reason)")
        } catch {
            throw ManifestError(path: name, reason: "cannot read the manifest (\(error.localizedDescription))")
        }
        if data.count > maxSize {
            throw ManifestError(
                path: name, reason: "the manifest is larger than \(maxSize >> 20) MiB; it is not one of kling-render's")
        }
        do {
            var manifest = try Manifest.decode(data)
            guard manifest.version == Manifest.currentVersion else {
                throw ManifestError(
                    path: name, reason: "manifest version \(manifest.version) is not known to this kling-render")
            }
            if let problem = ManifestCheck.problem(in: manifest) {
                throw ManifestError(
                    path: name, reason: "\(problem); restore it from version control, it is never overwritten")
            }
            // A manifest from before the ledger starts it from the tasks its shots record.
            manifest.recomputeTotals()
            return (manifest, Digest.sha256Hex(data))
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(
                path: name,
                reason: "the manifest is not valid JSON of kling-render (\(JSONProblem.describe(error, in: data))); "
                    + "restore it from version control, it is never overwritten")
        }
    }

    /// `encoder`: one kept across a run's writes encodes only what changed.
    package static func write(
        _ manifest: Manifest, to paths: ProjectPaths, encoder: ManifestEncoder = ManifestEncoder()
    ) throws {
        var manifest = manifest
        manifest.recomputeTotals()
        try AtomicFile.write(try encoder.encode(manifest), to: paths.manifestName, in: paths.root)
    }
}

/// Writes a file whole or not at all, through the project's folder: the temporary file is new
/// (`O_EXCL`, never a link planted at a guessable name), and the rename replaces whatever stood
/// at the name — a link included — without writing through it.
package enum AtomicFile {
    package static func write(_ data: Data, to name: String, in folder: ProjectFolder) throws {
        let slash = name.lastIndex(of: "/").map { name[...$0] } ?? ""
        let base = name.split(separator: "/").last.map(String.init) ?? name
        let temporary = "\(slash).\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let handle = try folder.createNew(temporary)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            folder.removeOwnFile(temporary)
            throw error
        }
        do {
            try folder.rename(temporary, to: name)
        } catch {
            folder.removeOwnFile(temporary)
            throw error
        }
    }

    /// Removes what a writer killed between its write and its rename left beside `name`
    /// (`.NAME.tmp-PID-N`, by that name only, regular files only): for the holder of the lock on
    /// the file, the one writer there can be.
    package static func sweep(_ name: String, in folder: ProjectFolder) {
        let slash = name.lastIndex(of: "/")
        let parent = slash.map { String(name[..<$0]) } ?? ""
        let base = name.split(separator: "/").last.map(String.init) ?? name
        let prefix = ".\(base).tmp-"
        for entry in folder.names(in: parent) where entry.hasPrefix(prefix) {
            let parts = entry.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2,
                parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
            else { continue }
            folder.removeOwnFile(parent.isEmpty ? entry : parent + "/" + entry)
        }
    }
}
