import Foundation
import KlingRenderCore

/// What happens to the cut: its clips' files checked against the manifest, probed, assembled by
/// ffmpeg in one filter graph into a temporary file, checked, renamed into place and recorded.
/// Local CPU work: it holds a core, not a task of the account.
package struct CutStep: Step {
    package var cut: Cut
    package var project: Project
    package var planned: PlannedCut
    package var context: RunContext

    package init(cut: Cut, project: Project, planned: PlannedCut, context: RunContext) {
        self.cut = cut
        self.project = project
        self.planned = planned
        self.context = context
    }

    package var resource: Resource { .cpu }

    /// The film may be long: ffmpeg has this long per second of it, and at least ten minutes.
    static func timeout(seconds: Double) -> Duration { .seconds(max(600, Int(seconds * 30))) }

    package func run() async -> StepEnd {
        guard let ffmpeg = context.ffmpeg, let ffprobe = context.ffprobe else {
            return fail("ffmpeg is not installed: `apt-get install ffmpeg` (Debian's package ffmpeg)")
        }
        let root = context.paths.root
        var sources: [CutSource] = []
        var hashes: [String] = []
        var first: MediaProbe?
        for (n, clip) in cut.clips.enumerated() {
            let key = planned.clips[n]
            let path = context.paths.videoPath(shot: key, number: 1)
            guard let file = await context.recorder.entry(key)?.files.first, file.path == path,
                case .file(let size) = root.entry(path), size == file.bytes
            else { return fail("\(path), clip \(n + 1) of the cut, is not on disk as the manifest records it") }
            guard (try? root.sha256(path)) == file.sha256 else {
                return fail("\(path), clip \(n + 1) of the cut, does not match its SHA-256")
            }
            guard let probe = await MediaProbe.read(path, ffprobe: ffprobe, root: root) else {
                return fail("ffprobe cannot read \(path), clip \(n + 1) of the cut")
            }
            let end = clip.outPoint ?? probe.seconds
            let place = "\(project.file):\(clip.location.line)"
            // Half a frame of slack: a 5 s render is 5.0417 s, or 4.9583.
            if end > probe.seconds + 0.5 / probe.fps {
                return fail(
                    "\(place): `cut.clips[\(n)].out` is \(Cut.seconds(end)) s, past the end of \(path) (\(String(format: "%.2f", probe.seconds)) s)"
                )
            }
            if clip.inPoint >= min(end, probe.seconds) {
                return fail("\(place): `cut.clips[\(n)].in` is at or past the end of \(path)")
            }
            sources.append(
                CutSource(
                    path: path, inPoint: clip.inPoint, outPoint: min(end, probe.seconds), transition: clip.transition,
                    hasAudio: probe.hasAudio))
            hashes.append(file.sha256)
            if first == nil { first = probe }
        }
        for n in sources.indices.dropFirst() where sources[n].transition.seconds > 0 {
            let seconds = sources[n].transition.seconds
            if seconds > sources[n].length || seconds > sources[n - 1].length {
                return fail(
                    "\(project.file):\(cut.clips[n].location.line): `cut.clips[\(n)].transition` (\(Cut.seconds(seconds)) s) is longer than a clip it joins"
                )
            }
        }
        guard let first else { return fail("the cut has no clip") }
        let assembly = CutAssembly(
            sources: sources, width: cut.size?.width ?? (first.width + 1) / 2 * 2,
            height: cut.size?.height ?? (first.height + 1) / 2 * 2, fps: cut.fps ?? max(1, Int(first.fps.rounded())),
            keepSound: cut.audio.keepShots,
            music: cut.audio.music.map { ($0.resolved, cut.audio.musicVolume, cut.audio.fadeOut) })
        return await assemble(assembly, fingerprint: cut.fingerprint(in: project, clipFiles: hashes), ffmpeg: ffmpeg)
    }

    /// Runs ffmpeg into a temporary file, checks what it wrote, renames it into place, records it.
    private func assemble(_ assembly: CutAssembly, fingerprint: String, ffmpeg: String) async -> StepEnd {
        let root = context.paths.root
        let target = planned.path
        let slash = target.lastIndex(of: "/").map { String(target[...$0]) } ?? ""
        let temporary =
            slash + ".\(target.split(separator: "/").last ?? "cut").part.\(UInt32.random(in: 0...UInt32.max)).mp4"
        do {
            try root.createNew(temporary).close()
        } catch {
            return fail("cannot create \(temporary): \(error)")
        }
        context.events(.cutStarted(path: target, clips: assembly.sources.count, seconds: assembly.seconds))
        let progress = CutProgress(path: target, total: assembly.seconds, events: context.events)
        let (status, said) = await Executable.run(
            ffmpeg, assembly.arguments(root: root, output: temporary), timeout: Self.timeout(seconds: assembly.seconds),
            output: { progress.feed($0) })
        guard status == 0, case .file(let bytes) = root.entry(temporary), bytes > 0 else {
            root.removeOwnFile(temporary)
            if Task.isCancelled { return .ended(.notStarted(.interrupted)) }
            return fail("ffmpeg could not assemble it: \(Printable.short(said, limit: 300))")
        }
        guard let ffprobe = context.ffprobe, let probe = await MediaProbe.read(temporary, ffprobe: ffprobe, root: root)
        else {
            root.removeOwnFile(temporary)
            return fail("ffmpeg wrote a file that ffprobe cannot read")
        }
        do {
            let sha = try root.sha256(temporary)
            try root.rename(temporary, to: target)
            let recorded = ManifestCut(
                fingerprint: fingerprint, file: ManifestFile(path: target, bytes: bytes, sha256: sha),
                seconds: (probe.seconds * 1000).rounded() / 1000)
            try await context.recorder.recordCut(recorded)
            context.events(.cutAssembled(path: target, bytes: bytes, seconds: recorded.seconds))
            return .success
        } catch {
            root.removeOwnFile(temporary)
            return fail("cannot keep \(target): \(error)")
        }
    }

    private func fail(_ detail: String) -> StepEnd {
        let reason = Reason.cut(detail: detail)
        context.events(.cutFailed(path: planned.path, reason: reason))
        return .ended(.failed(reason))
    }
}

/// ffmpeg's `-progress` lines turned into events, at most one per second of film.
final class CutProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var reported = -1.0
    let path: String
    let total: Double
    let events: @Sendable (ExecutionEvent) -> Void

    init(path: String, total: Double, events: @escaping @Sendable (ExecutionEvent) -> Void) {
        self.path = path
        self.total = total
        self.events = events
    }

    func feed(_ chunk: Data) {
        let lines: [String] = lock.withLock {
            buffer.append(chunk)
            guard let last = buffer.lastIndex(of: 0x0A) else { return [] }
            let complete = buffer[...last]
            buffer = Data(buffer[buffer.index(after: last)...])
            return String(decoding: complete, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        for line in lines where line.hasPrefix("out_time_us=") {
            guard let micros = Double(line.dropFirst(12)), micros.isFinite, micros >= 0 else { continue }
            let done = min(total, micros / 1_000_000)
            let report = lock.withLock { () -> Bool in
                guard done - reported >= 1 || (done >= total && reported < total) else { return false }
                reported = done
                return true
            }
            if report { events(.cutProgress(path: path, seconds: done, of: total)) }
        }
    }
}
