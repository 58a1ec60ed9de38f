import Foundation
import KlingExport
import KlingRenderCore

/// The cut's last step: once its segments are on disk and its sound mixed (`SegmentStep`,
/// `SoundStep`), the segments joined without encoding again and the sound laid in, into a
/// temporary file, checked to the frame, renamed into place and recorded; then the segments no
/// cut uses are swept. Local CPU work: it holds a core, not a task of the account.
package struct CutStep: Step {
    var work: CutWork

    package var resource: Resource { .cpu }
    var cut: Cut { work.cut }
    var planned: PlannedCut { work.planned }
    var context: RunContext { work.context }
    var project: Project { work.project }

    /// The film may be long: ffmpeg has this long per second of it, and at least ten minutes.
    static func timeout(seconds: Double) -> Duration { .seconds(max(600, Int(seconds * 30))) }

    package func run() async -> StepEnd {
        await work.begin()
        guard let ffmpeg = context.ffmpeg else { return fail(Program.ffmpeg.missing) }
        let made: Whole
        switch await work.film() {
        case .success(let found): made = found
        case .failure(let ended): return ended.end
        }
        let spec = cut.spec(in: work.project, clipFiles: made.clips.map(\.sha256))
        let fingerprint = Digest.sha256Hex(CanonicalJSON.compact(spec))
        if await work.current, let recorded = await work.recorded() {
            context.emit(
                CutEvent.assembled(
                    path: planned.path, bytes: recorded.file.bytes, seconds: recorded.seconds, encoded: 0,
                    segments: recorded.segments?.count ?? 0))
            return .success
        }
        let segments = CutSegment.plan(
            made.assembly.sources.map(\.span), hashes: made.clips.map(\.sha256), encoding: made.encoding)
        let files = await work.files
        guard let sound = await work.sound, segments.allSatisfy({ files[$0.name] != nil }) else {
            return fail("a segment or the sound of the film was not made; nothing was replaced")
        }
        var probed: [String: ManifestProbe] = [:]
        for clip in made.clips { probed[clip.sha256] = ManifestProbe(clip.probe) }
        let used = files.filter { name, _ in segments.contains { $0.name == name } }
        let end = await assemble(
            made.assembly, segments: segments, hashes: used, probes: probed, sound: sound, fingerprint: fingerprint,
            spec: spec, ffmpeg: ffmpeg)
        context.paths.root.removeOwnFile(sound)
        return end
    }

    typealias Whole = (assembly: CutAssembly, encoding: SegmentEncoding, clips: [CutClip])

    /// The whole film as the sound and the join see it: every clip's file (checked once, by
    /// `work`), trimmed on whole frames and checked against its transitions; the music through
    /// the media gate, with sound ffprobe can read.
    static func assembly(_ work: CutWork) async -> Result<Whole, EndedEarly> {
        let cut = work.cut
        let encoding: SegmentEncoding
        switch await work.encoding() {
        case .success(let found): encoding = found
        case .failure(let ended): return .failure(ended)
        }
        var clips: [CutClip] = []
        for n in cut.clips.indices {
            switch await work.clip(n) {
            case .success(let clip): clips.append(clip)
            case .failure(let ended): return .failure(ended)
            }
        }
        let spans: [CutSpan]
        switch cut.spans(
            lengths: clips.map(\.probe.seconds), paths: clips.map(\.file.path), fps: encoding.fps,
            file: work.project.file)
        {
        case .success(let found): spans = found
        case .failure(let problem): return .failure(work.early(problem.message))
        }
        let sources = zip(spans, clips).map { span, clip in
            CutSource(
                file: clip.file, inPoint: span.inPoint, outPoint: span.outPoint, transition: span.transition,
                hasAudio: clip.probe.hasAudio)
        }
        var bed: GatedMedia?
        if let music = cut.audio.music {
            switch MediaGate.admit(music.resolved, in: work.context.paths.root, accepting: MediaType.audios) {
            case .success(let file): bed = file
            case .failure(let refusal):
                return .failure(work.early("`cut.audio.music` \(music.path): \(refusal.reason)"))
            }
            guard let bed, let ffprobe = work.context.ffprobe,
                await MediaProbe.readAudio(bed, ffprobe: ffprobe)?.hasAudio == true
            else {
                return .failure(
                    work.early(
                        "`cut.audio.music` \(music.path) has no sound ffprobe can read, or is over 15 minutes"))
            }
        }
        let assembly = CutAssembly(
            sources: sources, fps: encoding.fps, keepSound: cut.audio.keepShots,
            music: bed.map { ($0, cut.audio.musicVolume, cut.audio.fadeOut) })
        return .success((assembly, encoding, clips))
    }

    /// Whether the film on disk is this cut already: the same fingerprint, its bytes as recorded.
    static func isCurrent(_ work: CutWork) async -> Bool {
        var hashes: [String] = []
        for n in work.cut.clips.indices {
            guard case .success(let clip) = await work.clip(n) else { return false }
            hashes.append(clip.sha256)
        }
        let fingerprint = Digest.sha256Hex(CanonicalJSON.compact(work.cut.spec(in: work.project, clipFiles: hashes)))
        guard let recorded = await work.recorded(), recorded.fingerprint == fingerprint else { return false }
        return recorded.file.check(in: work.context.paths, expected: work.planned.path, verify: true) == .ok
    }

    private func early(_ detail: String) -> EndedEarly { work.early(detail) }

    /// Joins the segments and mixes the sound into a temporary file, checks what ffmpeg wrote,
    /// keeps the film it replaces under `previous/`, renames it into place, records it, and sweeps
    /// the segments no cut uses.
    private func assemble(
        _ assembly: CutAssembly, segments: [CutSegment], hashes: [String: String], probes: [String: ManifestProbe],
        sound: String, fingerprint: String, spec: JSONValue, ffmpeg: String
    ) async -> StepEnd {
        let root = context.paths.root
        let target = planned.path
        let slash = target.lastIndex(of: "/").map { String(target[...$0]) } ?? ""
        // Never over a file that is not the film this tool assembled there.
        if root.entry(target) != .missing, await work.recorded()?.file.path != target {
            return fail(
                "\(target) exists and is not a film kling-render assembled: move it, or name the cut otherwise (`cut.output`)"
            )
        }
        Self.sweep(target, in: root)
        let temporary =
            slash + ".\(target.split(separator: "/").last ?? "cut").part.\(UInt32.random(in: 0...UInt32.max)).mp4"
        do {
            try root.createNew(temporary).close()
        } catch {
            return fail("cannot create \(temporary): \(error)")
        }
        let bytes: Int64
        let seconds: Double
        switch await join(assembly, segments: segments, sound: sound, into: temporary, ffmpeg: ffmpeg) {
        case .success(let written): (bytes, seconds) = written
        case .failure(let ended):
            root.removeOwnFile(temporary)
            return ended.end
        }
        do {
            let sha = try root.sha256(temporary)
            // A draft is a proxy, replaced as it is; the film it replaces is kept.
            if !planned.isDraft {
                let before = await work.recorded()?.file
                try FilmVersions(root: root, film: target, limit: context.keepFilms).keep(
                    unlessSHA256: sha, recorded: before?.path == target ? before : nil)
            }
            try root.rename(temporary, to: target)
            var recorded = ManifestCut(
                fingerprint: fingerprint, file: ManifestFile(path: target, bytes: bytes, sha256: sha),
                seconds: (seconds * 1000).rounded() / 1000, spec: spec)
            recorded.segments = hashes
            recorded.probes = probes
            // The timelines the cut asks for, current with the film (before it is recorded: an
            // export that fails leaves the cut to be joined again, which costs no encoding).
            if !planned.isDraft, let failed = await writeExports() { return fail(failed) }
            try await context.recorder.recordCut(recorded, draft: planned.isDraft)
            Self.sweepSegments(work.segmentFolder, keeping: Set(hashes.keys), in: root)
            context.emit(
                CutEvent.assembled(
                    path: target, bytes: bytes, seconds: recorded.seconds, encoded: await work.encoded,
                    segments: hashes.count))
            return .success
        } catch {
            root.removeOwnFile(temporary)
            return fail("cannot keep \(target): \(error)")
        }
    }

    /// The segments joined and the sound laid in, into `temporary`: its size and length, checked to
    /// be the film's to a frame. The caller removes `temporary` when it fails.
    private func join(
        _ assembly: CutAssembly, segments: [CutSegment], sound: String, into temporary: String, ffmpeg: String
    ) async -> Result<(Int64, Double), EndedEarly> {
        let root = context.paths.root
        // The join list: written by this tool, naming only the segment files it made, by name.
        let list = work.segmentFolder + "/.join.\(UInt32.random(in: 0...UInt32.max)).txt"
        defer { root.removeOwnFile(list) }
        do {
            let handle = try root.createNew(list)
            try handle.write(contentsOf: Data(segments.map { "file '\($0.name)'\n" }.joined().utf8))
            try handle.close()
        } catch {
            return .failure(early("cannot write the join list \(list): \(error)"))
        }
        let (status, said) = await Executable.run(
            ffmpeg,
            assembly.joinArguments(
                list: root.url(list).path, sound: root.url(sound).path, output: root.url(temporary).path),
            timeout: Self.timeout(seconds: assembly.seconds))
        guard status == 0, case .file(let bytes) = root.entry(temporary), bytes > 0 else {
            if Task.isCancelled { return .failure(EndedEarly(end: .ended(.notStarted(.interrupted)))) }
            return .failure(early("ffmpeg could not assemble it: \(Printable.short(said, limit: 300))"))
        }
        guard let ffprobe = context.ffprobe,
            case .success(let written) = MediaGate.admit(temporary, in: root, accepting: MediaType.videos),
            let probe = await MediaProbe.read(written, ffprobe: ffprobe)
        else { return .failure(early("ffmpeg wrote a file that ffprobe cannot read")) }
        // Exactly the film's length, to a frame: the joined segments are all there.
        guard abs(probe.seconds - assembly.seconds) <= 1 / Double(assembly.fps) + 0.01 else {
            return .failure(
                early(
                    "the joined film is \(String(format: "%.3f", probe.seconds)) s, not \(Cut.seconds(assembly.seconds)) s; nothing was replaced"
                ))
        }
        return .success((bytes, probe.seconds))
    }

    /// `cut.exports`, each beside the film (`eagle.otio`), written to a temporary name and
    /// renamed; nil, or why one could not be written.
    private func writeExports() async -> String? {
        guard !cut.exports.isEmpty else { return nil }
        let manifest = await context.recorder.manifest
        let timeline: Timeline
        do {
            timeline = try await Timeline.of(
                project, paths: context.paths, manifest: manifest, ffprobe: context.ffprobe)
        } catch {
            return "cannot export the timeline: \(error.message)"
        }
        let stem = planned.path.hasSuffix(".mp4") ? String(planned.path.dropLast(4)) : planned.path
        for name in cut.exports {
            guard let format = TimelineFormat(rawValue: name) else { continue }
            do {
                try AtomicFile.write(
                    Data(format.render(timeline).utf8), to: stem + "." + format.fileExtension, in: context.paths.root)
            } catch {
                return "cannot write \(stem).\(format.fileExtension): \(error)"
            }
        }
        return nil
    }

    /// Removes from the segment folder what no cut uses: segments by their names only (40 hex
    /// digits and `.mp4`), and what an interrupted run left (`.….part.N.mp4`, `.join.N.txt`).
    static func sweepSegments(_ folder: String, keeping used: Set<String>, in root: ProjectFolder) {
        let hex = Set("0123456789abcdef")
        for name in root.names(in: folder) where !used.contains(name) {
            let segment = name.count == 44 && name.hasSuffix(".mp4") && name.dropLast(4).allSatisfy(hex.contains)
            let left =
                name.hasPrefix(".")
                && (name.contains(".part.") && name.hasSuffix(".mp4") || name.hasPrefix(".join.")
                    || name.hasPrefix(".sound.") && name.hasSuffix(".m4a"))
            if segment || left { root.removeOwnFile(folder + "/" + name) }
        }
    }

    /// Removes what an interrupted run left beside the film: `.NAME.part.N.mp4`, by that name only.
    static func sweep(_ target: String, in root: ProjectFolder) {
        let slash = target.lastIndex(of: "/")
        let folder = slash.map { String(target[..<$0]) } ?? ""
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        for left in root.names(in: folder) where left.hasPrefix(".\(name).part.") && left.hasSuffix(".mp4") {
            root.removeOwnFile(folder.isEmpty ? left : folder + "/" + left)
        }
    }

    private func fail(_ detail: String) -> StepEnd { work.fail(detail) }
}
