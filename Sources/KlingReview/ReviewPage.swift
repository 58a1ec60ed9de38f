import Foundation
import KlingRenderCore

/// `kling-render review`: one static page beside the renders (`OUTPUT/review.html`) for people
/// to look at them — every shot in storyboard order with its takes playable side by side, the
/// picked one marked, what was asked and what it cost, and the graph on top. Relative links only
/// and no script: it opens from `file://`, and the folder can be zipped and sent.
package struct ReviewPage: Sendable {
    package var workspace: Workspace
    /// ffmpeg, for poster frames; without it each video shows its own first frame.
    package var ffmpeg: String?
    /// Graphviz's `dot`, for the graph; without it the page has none.
    package var dot: String?

    package static let fileName = "review.html"

    package init(workspace: Workspace, ffmpeg: String?, dot: String?) {
        self.workspace = workspace
        self.ffmpeg = ffmpeg
        self.dot = dot
    }

    /// What `write` did.
    package struct Written: Sendable, Codable, Equatable {
        /// The page, relative to the project file's folder.
        package var path: String
        package var takes: Int
        package var videos: Int
        /// Poster frames made by this run (the others were there from an earlier one).
        package var postersMade: Int
        package var graph: Bool
        /// What the page lacks and why, one line each, with the package that brings it.
        package var notes: [String]

        enum CodingKeys: String, CodingKey {
            case path, takes, videos, graph, notes
            case postersMade = "posters_made"
        }
    }

    /// Each video on disk's poster (relative to the output folder), and how many were made now.
    private func makePosters(_ status: ProjectStatus, maker: PosterMaker) async -> ([String: String], Int) {
        var posters: [String: String] = [:]
        var made = 0
        for row in status.shots {
            for file in row.files where file.state == .ok {
                guard
                    let sha = workspace.manifest?.shots[row.key]?.files.first(where: { $0.path == file.path })?.sha256,
                    let (poster, new) = await maker.poster(for: file.path, sha256: sha)
                else { continue }
                posters[file.path] = poster
                if new { made += 1 }
            }
        }
        return (posters, made)
    }

    /// The project file whose page stands at `page`, from its `kling-render-project` meta tag.
    static func owner(of page: String, in root: ProjectFolder) -> String? {
        guard let handle = try? root.openForReading(page) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 4096) else { return nil }
        let text = String(decoding: head, as: UTF8.self)
        let marker = "<meta name=\"kling-render-project\" content=\""
        guard let start = text.range(of: marker)?.upperBound, let end = text[start...].firstIndex(of: "\"") else {
            return nil
        }
        return Printable.short(String(text[start..<end]), limit: 120)
    }

    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var message: String

        package init(message: String) { self.message = message }

        package var description: String { message }
    }

    /// The page for a workspace, with the programs this machine has.
    package static func write(_ workspace: Workspace) async throws(Failure) -> Written {
        try await ReviewPage(workspace: workspace, ffmpeg: Executable.find("ffmpeg"), dot: Executable.find("dot"))
            .write()
    }

    /// Makes the posters that are missing, draws the graph, and writes the page (to a temporary
    /// name, renamed).
    package func write() async throws(Failure) -> Written {
        let paths = workspace.paths
        let page = paths.inOutput(Self.fileName)
        let previous = Self.owner(of: page, in: paths.root)
        let (html, written, posters) = try await compose(token: nil, previous: previous)
        do {
            try AtomicFile.write(Secrets.shared.redact(Data(html.utf8)), to: page, in: paths.root)
        } catch {
            throw Failure(message: "cannot write \(page): \(error)")
        }
        // Another storyboard's posters may share the folder: pruned only where the page was ours.
        if ffmpeg != nil, previous == nil || previous == written.owner {
            PosterMaker.prune(paths, keeping: posters)
        }
        return written.value
    }

    /// The page as `review --serve` gives it, with its token and Pick controls; nothing written
    /// but the posters that were missing.
    package func served(token: String) async throws(Failure) -> String {
        let page = workspace.paths.inOutput(Self.fileName)
        let html = try await compose(token: token, previous: Self.owner(of: page, in: workspace.paths.root)).html
        return String(decoding: Secrets.shared.redact(Data(html.utf8)), as: UTF8.self)
    }

    /// Each shot's pictures on disk: local boards and frames of other shots, by field.
    private func boards() -> [String: [ReviewHTML.Board]] {
        var out: [String: [ReviewHTML.Board]] = [:]
        for shot in workspace.project.shots {
            for (field, input) in shot.mediaInputs where field.wireName != "video" {
                let path: String
                switch input {
                case .file(let file): path = file
                case .frame(let upstream, let edge):
                    guard let key = workspace.project.shot(upstream)?.pickedKey else { continue }
                    path = workspace.paths.framePath(shot: key, edge: edge)
                case .url, .shotVideo: continue
                }
                guard case .file = workspace.paths.root.entry(path), Self.isPicture(path) else { continue }
                out[shot.id, default: []].append(ReviewHTML.Board(field: field.wireName, path: path))
            }
        }
        return out
    }

    static func isPicture(_ path: String) -> Bool {
        ["png", "jpg", "jpeg", "webp"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    private struct Composed {
        var value: Written
        var owner: String
    }

    /// The page's HTML, what it holds, and the posters it links.
    private func compose(token: String?, previous: String?) async throws(Failure) -> (
        html: String, written: Composed, posters: Set<String>
    ) {
        let paths = workspace.paths
        let status = ProjectStatus(workspace: workspace, verify: false)
        do {
            try paths.root.directory(paths.outputPath, create: true)
        } catch {
            throw Failure(message: "cannot create \(paths.outputPath): \(error.reason)")
        }
        var notes: [String] = []
        let page = paths.inOutput(Self.fileName)
        let owner = URL(fileURLWithPath: workspace.project.file).lastPathComponent
        if let other = previous, other != owner {
            notes.append(
                "\(page) was the page of \(other), which shares this output folder: give each storyboard an `output:` of its own."
            )
        }
        PosterMaker.sweep(paths)
        let videos = status.shots.flatMap { row in row.files.filter { $0.state == .ok } }
        var (posters, made) = ([String: String](), 0)
        if let ffmpeg {
            (posters, made) = await makePosters(status, maker: PosterMaker(ffmpeg: ffmpeg, paths: paths))
        } else if !videos.isEmpty {
            notes.append(
                "No poster frames: ffmpeg is not installed (\(Program.ffmpeg.install)); each video shows its first frame."
            )
        }
        // The film, when the cut assembled is on disk where this project keeps it.
        var film: (path: String, seconds: Double)?
        if let cut = workspace.manifest?.cut, let output = workspace.project.cut?.output {
            let expected = paths.inOutput(output)
            if cut.file.check(in: paths, expected: expected, verify: false) == .ok { film = (expected, cut.seconds) }
        }
        var svg: String?
        if let dot {
            // Each shot's node leads to its takes, the cut's to the film when there is one.
            let hasFilm = film != nil
            svg = await GraphDrawing(dot: dot, paths: paths).svg(of: workspace.project) { id in
                id == GraphExport.cutNode ? (hasFilm ? "#film" : nil) : ReviewHTML.anchor(id)
            }
            if svg == nil { notes.append("No graph: Graphviz could not draw it.") }
        } else {
            notes.append("No graph: Graphviz is not installed (\(Program.dot.install)).")
        }
        let html = ReviewHTML(
            project: workspace.project, owner: owner, status: status, outputPath: paths.outputPath, posters: posters,
            svg: svg, notes: notes, simulated: paths.manifestName.hasSuffix(".sim.manifest.json"), film: film,
            boards: boards(), token: token
        ).render()
        let written = Written(
            path: page, takes: status.shots.count, videos: videos.count, postersMade: made, graph: svg != nil,
            notes: notes)
        return (html, Composed(value: written, owner: owner), Set(posters.values))
    }
}
