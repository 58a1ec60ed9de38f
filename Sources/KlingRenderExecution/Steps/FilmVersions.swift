import Foundation
import KlingRenderCore

/// The films a cut replaced, kept under the output folder's `previous/` as shots' videos are:
/// `NAME-SHA12.mp4`, the newest `limit` of them; older ones (names this tool gave, regular files
/// only) are removed.
struct FilmVersions {
    var root: ProjectFolder
    /// The film, relative to the project's folder.
    var film: String
    var limit: Int

    private var parent: String { film.lastIndex(of: "/").map { String(film[...$0]) } ?? "" }
    private var stem: String {
        let name = film.lastIndex(of: "/").map { String(film[film.index(after: $0)...]) } ?? film
        return name.hasSuffix(".mp4") ? String(name.dropLast(4)) : name
    }

    /// Moves the film now at `film` into `previous/`, unless it holds `sha256` already (or there
    /// is none); then removes the oldest kept beyond the limit. `recorded`: what the manifest
    /// says of the film there — its SHA-256 names the kept version when the size agrees, which
    /// spares reading the film again (the name is a label; nothing is lost if it is wrong).
    func keep(unlessSHA256 sha256: String, recorded: ManifestFile? = nil) throws {
        guard case .file(let size) = root.entry(film) else { return }
        let old = try recorded.flatMap { $0.bytes == size ? $0.sha256 : nil } ?? root.sha256(film)
        if old == sha256 { return }
        let folder = parent + "previous"
        _ = try root.directory(folder, create: true)
        let kept = "\(folder)/\(stem)-\(old.prefix(12)).mp4"
        switch root.entry(kept) {
        case .missing: try root.rename(film, to: kept)
        case .file where (try? root.sha256(kept)) == old && (try? root.sha256(film)) == old:
            root.removeOwnFile(film)
        default: throw Taken(path: kept)
        }
        prune(folder)
    }

    /// The kept films of this cut, newest first.
    func versions() -> [String] {
        let folder = parent + "previous"
        let hex = Set("0123456789abcdef")
        var found: [(String, Date)] = []
        for name in root.names(in: folder) {
            guard name.hasPrefix(stem + "-"), name.hasSuffix(".mp4") else { continue }
            let tag = name.dropFirst(stem.count + 1).dropLast(4)
            guard tag.count == 12, tag.allSatisfy(hex.contains), case .file = root.entry(folder + "/" + name) else {
                continue
            }
            let date =
                (try? FileManager.default.attributesOfItem(atPath: root.url(folder + "/" + name).path))?[
                    .modificationDate] as? Date ?? .distantPast
            found.append((folder + "/" + name, date))
        }
        return found.sorted { $0.1 > $1.1 }.map(\.0)
    }

    struct Taken: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is taken by other bytes: move it away" }
    }

    private func prune(_ folder: String) {
        for path in versions().dropFirst(max(0, limit)) { root.removeOwnFile(path) }
    }
}
