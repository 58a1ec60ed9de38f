import Foundation
import KlingRenderCore

/// Poster frames for the review page: a JPEG 480 px wide of each video, taken one second in (or
/// the first frame of a shorter clip), at `OUTPUT/posters/SHA.jpg` — named by the video's content,
/// so a video renders once into a poster, and a new take never shows an old one.
struct PosterMaker: Sendable {
    var ffmpeg: String
    var paths: ProjectPaths

    static let folder = "posters"
    static let timeout: Duration = .seconds(60)

    /// The poster of `video` relative to the output folder, and whether this call made it; nil
    /// when ffmpeg could not (the page then shows the video's own first frame).
    func poster(for video: String, sha256: String) async -> (String, Bool)? {
        let name = "\(Self.folder)/\(sha256.prefix(16)).jpg"
        let target = paths.inOutput(name)
        if case .file(let size) = paths.root.entry(target), size > 0 { return (name, false) }
        let temporary = target + ".part.\(UInt32.random(in: 0...UInt32.max)).jpg"
        do {
            try paths.root.createNew(temporary).close()
        } catch {
            return nil
        }
        guard case .success(let file) = MediaGate.admit(video, in: paths.root, accepting: MediaType.videos) else {
            paths.root.removeOwnFile(temporary)
            return nil
        }
        for seek in [["-ss", "1"], []] {
            // Through the gate: local files only, the demuxer its bytes named, never a playlist.
            let arguments =
                ["-nostdin", "-v", "error", "-y"] + seek + file.ffmpegInput + ["-map", "0:v:0", "-frames:v", "1"]
                + ["-vf", "scale=480:-2", "-q:v", "5", "-update", "1", "-f", "image2", "-c:v", "mjpeg"]
                + [paths.root.url(temporary).path]
            let (status, _) = await Executable.run(ffmpeg, arguments, timeout: Self.timeout)
            guard status == 0, case .file(let size) = paths.root.entry(temporary), size > 0, isJPEG(temporary) else {
                continue
            }
            do {
                try paths.root.rename(temporary, to: target)
                return (name, true)
            } catch {
                break
            }
        }
        paths.root.removeOwnFile(temporary)
        return nil
    }

    /// Removes what an interrupted run left: temporary posters and graph files, by the names only
    /// this tool gives them.
    static func sweep(_ paths: ProjectPaths) {
        for name in paths.root.names(in: paths.outputPath) where name.hasPrefix(".review-graph-") {
            paths.root.removeOwnFile(paths.inOutput(name))
        }
        let posters = paths.inOutput(folder)
        for name in paths.root.names(in: posters) where name.contains(".part.") && name.hasSuffix(".jpg") {
            paths.root.removeOwnFile(posters + "/" + name)
        }
    }

    /// Removes the posters of videos the page no longer shows: those named as this tool names them.
    static func prune(_ paths: ProjectPaths, keeping used: Set<String>) {
        let posters = paths.inOutput(folder)
        for name in paths.root.names(in: posters) where isPosterName(name) && !used.contains("\(folder)/\(name)") {
            paths.root.removeOwnFile(posters + "/" + name)
        }
    }

    /// `0123456789abcdef.jpg`
    static func isPosterName(_ name: String) -> Bool {
        name.count == 20 && name.hasSuffix(".jpg") && name.prefix(16).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    private func isJPEG(_ path: String) -> Bool {
        guard let handle = try? paths.root.openForReading(path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 3)).map { [UInt8]($0) == [0xFF, 0xD8, 0xFF] } ?? false
    }
}

/// The dependency graph as SVG, drawn by Graphviz from the same DOT as `kling-render graph`,
/// each shot linked to its place on the page.
struct GraphDrawing: Sendable {
    var dot: String
    var paths: ProjectPaths

    static let timeout: Duration = .seconds(60)
    static let maxBytes = 16 << 20

    func svg(of project: Project, link: @escaping (String) -> String?) async -> String? {
        let base = paths.inOutput(".review-graph-\(UInt32.random(in: 0...UInt32.max))")
        let (input, output) = (base + ".dot", base + ".svg")
        defer {
            paths.root.removeOwnFile(input)
            paths.root.removeOwnFile(output)
        }
        do {
            let handle = try paths.root.createNew(input)
            try handle.write(contentsOf: Data(GraphExport.linkedDot(project, link: link).utf8))
            try handle.close()
            try paths.root.createNew(output).close()
        } catch {
            return nil
        }
        let (status, _) = await Executable.run(
            dot, ["-Tsvg", "-o", paths.root.url(output).path, paths.root.url(input).path], timeout: Self.timeout)
        guard status == 0, let handle = try? paths.root.openForReading(output) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: Self.maxBytes + 1), data.count <= Self.maxBytes,
            let text = String(data: data, encoding: .utf8), let start = text.range(of: "<svg")
        else { return nil }
        // Inline: without the XML prologue and doctype.
        return String(text[start.lowerBound...])
    }
}
