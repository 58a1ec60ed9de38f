import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// A request's media, fetched into a clip's folder: what its clip shows.
struct ClipInputs {
    /// `image`: the first frame.
    var start: String?
    /// `end_image`: the last frame.
    var end: String?
    /// `images`: a reference clip's images, drawn in a row (at most four).
    var references: [String] = []
    /// `video`: an edit's source, under the caption instead of the test pattern.
    var source: String?

    static let imageLimit = 32 << 20
    static let videoLimit = 256 << 20

    /// Each input the simulator fetches (loopback, or every host with `fetchInputs`) that is the
    /// media its field takes; the others are left out of the clip.
    static func fetch(_ request: [String: SimJSON], into folder: URL, using check: InputCheck) async -> ClipInputs {
        func file(_ url: String?, _ name: String, image: Bool) async -> String? {
            guard let url, let data = await check.download(url, limit: image ? imageLimit : videoLimit),
                InputCheck.looksLike(image: image, [UInt8](data.prefix(32)))
            else { return nil }
            let path = folder.appendingPathComponent(name).path
            return FileManager.default.createFile(atPath: path, contents: data) ? path : nil
        }
        var inputs = ClipInputs()
        inputs.start = await file(request["image"]?.string, "start", image: true)
        inputs.end = await file(request["end_image"]?.string, "end", image: true)
        if case .array(let images)? = request["images"] {
            for (n, image) in images.prefix(4).enumerated() {
                if let path = await file(image.string, "reference-\(n)", image: true) { inputs.references.append(path) }
            }
        }
        inputs.source = await file(request["video"]?.string, "source", image: false)
        return inputs
    }

    /// Each still decoded once into a PNG of its own (a second of CPU at most): one that does not
    /// decode is left out of the clip, rather than held looping by the clip's ffmpeg.
    func decoded(ffmpeg: String, in folder: URL) async -> ClipInputs {
        func still(_ path: String?) async -> String? {
            guard let path else { return nil }
            let output = path + ".decoded.png"
            let result = try? await Subprocess.run(
                .path(FilePath(ffmpeg)),
                arguments: [
                    "-v", "error", "-y", "-timelimit", "2", "-protocol_whitelist", "file", "-i", path, "-frames:v", "1",
                    "-f", "image2", "-c:v", "png", output,
                ], output: .discarded, error: .discarded)
            guard result?.terminationStatus == .exited(0), FileManager.default.fileExists(atPath: output) else {
                return nil
            }
            return output
        }
        var clean = self
        clean.start = await still(start)
        clean.end = await still(end)
        var references: [String] = []
        for path in self.references { if let decoded = await still(path) { references.append(decoded) } }
        clean.references = references
        return clean
    }
}

/// ffmpeg's arguments for a task's clip: a pure function of the task, its inputs and its caption.
struct ClipRecipe {
    var task: SimulatorState.SimTask
    var inputs: ClipInputs
    /// The caption's file; nil where ffmpeg cannot draw text.
    var caption: URL?
    /// CPU seconds ffmpeg may spend on the clip: a corrupt input never holds a core for ever.
    var timeLimit = 30

    var size: (width: Int, height: Int) {
        switch task.aspectRatio {
        case "9:16": (360, 640)
        case "1:1": (480, 480)
        default: (640, 360)
        }
    }

    /// What the clip says: the shot and take a rehearsal named, then the prompt as written.
    static func caption(_ task: SimulatorState.SimTask) -> String {
        let words = [task.label, task.prompt.isEmpty ? nil : task.prompt].compactMap { $0 }.joined(separator: " — ")
        return String(words.prefix(90))
    }

    /// Each task in its own colours, so that two takes of one prompt are told apart as real takes are.
    var hue: Int { task.id.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 360 } }

    /// A tone per shot (its label's shot, else its prompt), so that each shot is heard apart.
    var pitch: Int {
        let shot = task.label.map { String($0.prefix { $0 != " " }) } ?? task.prompt
        return 220 + shot.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 40 } * 20
    }

    /// Scaled into the clip's frame, the rest black.
    private var fit: String {
        let (w, h) = size
        return "scale=\(w):\(h):force_original_aspect_ratio=decrease,pad=\(w):\(h):(ow-iw)/2:(oh-ih)/2,setsar=1"
    }

    func arguments(output: String) -> [String] {
        let (w, h) = size
        let d = max(task.duration, 1)
        var arguments = ["-loglevel", "error", "-y", "-timelimit", "\(max(1, timeLimit))"]
        var inputCount = 1
        if let source = inputs.source {
            arguments += ["-protocol_whitelist", "file", "-stream_loop", "-1", "-i", source]
        } else {
            arguments += ["-f", "lavfi", "-i", "testsrc2=size=\(w)x\(h):rate=24:duration=\(d)"]
        }
        var graph = ["[0:v]\(fit),fps=24,trim=duration=\(d),setpts=PTS-STARTPTS,hue=h=\(hue)[v0]"]
        var last = 0
        func still(_ path: String) -> Int {
            arguments += ["-protocol_whitelist", "file", "-loop", "1", "-framerate", "24", "-t", "\(d)", "-i", path]
            inputCount += 1
            return inputCount - 1
        }
        func layer(_ input: Int, _ filters: String, _ overlay: String) {
            graph.append("[\(input):v]\(filters)[i\(input)]")
            graph.append("[v\(last)][i\(input)]overlay=\(overlay)[v\(last + 1)]")
            last += 1
        }
        for (n, path) in inputs.references.enumerated() {
            layer(
                still(path), "scale=\(w / 5):\(h / 5):force_original_aspect_ratio=decrease,setsar=1",
                "x=\(10 + n * (w / 5 + 8)):y=10")
        }
        if let start = inputs.start {
            layer(still(start), "\(fit),format=rgba,fade=t=out:st=0.5:d=1:alpha=1", "0:0")
        }
        if let end = inputs.end {
            layer(still(end), "\(fit),format=rgba,fade=t=in:st=\(max(0, Double(d) - 1.5)):d=1:alpha=1", "0:0")
        }
        if let caption {
            // Not on the first and last frames: those are the ones a continuity chain hands on.
            graph.append(
                "[v\(last)]drawtext=textfile=\(caption.path):expansion=none:fontcolor=white:fontsize=18:x=10:y=h-30"
                    + ":box=1:boxcolor=black@0.6:enable='between(t,0.25,\(Double(d) - 0.5))'[v\(last + 1)]")
            last += 1
        }
        graph.append("[v\(last)]format=yuv420p[out]")
        var maps = ["-map", "[out]"]
        if task.request["sound"] == .bool(true) {
            arguments += ["-f", "lavfi", "-i", "sine=frequency=\(pitch):sample_rate=48000:duration=\(d)"]
            maps += ["-map", "\(inputCount):a", "-c:a", "aac", "-b:a", "64k"]
        }
        return arguments + ["-filter_complex", graph.joined(separator: ";")] + maps + [
            "-t", "\(d)", "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", output,
        ]
    }
}
