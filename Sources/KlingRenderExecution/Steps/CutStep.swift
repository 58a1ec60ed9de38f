import Foundation
import KlingExport
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
            return fail(Program.ffmpeg.missing)
        }
        var probes: [(file: GatedMedia, probe: MediaProbe)] = []
        var hashes: [String] = []
        switch await clipFiles(ffprobe: ffprobe) {
        case .success(let checked):
            probes = checked.map { ($0.0, $0.2) }
            hashes = checked.map(\.1)
        case .failure(let ended): return ended.end
        }
        guard let first = probes.first?.probe else { return fail("the cut has no clip") }
        var bed: GatedMedia?
        if let music = cut.audio.music {
            switch MediaGate.admit(music.resolved, in: context.paths.root, accepting: MediaType.audios) {
            case .success(let file): bed = file
            case .failure(let refusal): return fail("`cut.audio.music` \(music.path): \(refusal.reason)")
            }
            guard let bed, await MediaProbe.readAudio(bed, ffprobe: ffprobe)?.hasAudio == true else {
                return fail("`cut.audio.music` \(music.path) has no sound ffprobe can read, or is over 15 minutes")
            }
        }
        let encoding = SegmentEncoding.of(cut, first: first, draft: planned.isDraft)
        let sources: [CutSource]
        switch snapped(probes, fps: encoding.fps) {
        case .success(let list): sources = list
        case .failure(let ended): return ended.end
        }
        let spec = cut.spec(in: project, clipFiles: hashes)
        let fingerprint = Digest.sha256Hex(CanonicalJSON.compact(spec))
        // Fetched again with the same bytes: the film on disk still stands for it.
        if let recorded = await self.recorded(), recorded.fingerprint == fingerprint,
            recorded.file.check(in: context.paths, expected: planned.path, verify: true) == .ok
        {
            context.emit(CutEvent.assembled(path: planned.path, bytes: recorded.file.bytes, seconds: recorded.seconds))
            return .success
        }
        let assembly = CutAssembly(
            sources: sources, fps: encoding.fps, keepSound: cut.audio.keepShots,
            music: bed.map { ($0, cut.audio.musicVolume, cut.audio.fadeOut) })
        let segments = CutSegment.plan(sources.map(\.span), hashes: hashes, encoding: encoding)
        let made: [String: String]
        let sound = segmentFolder + "/.sound.\(UInt32.random(in: 0...UInt32.max)).m4a"
        switch await encodeSegments(
            segments, sources: sources, encoding: encoding, ffmpeg: ffmpeg, assembly: assembly, sound: sound)
        {
        case .success(let files): made = files
        case .failure(let ended):
            context.paths.root.removeOwnFile(sound)
            return ended.end
        }
        var probed: [String: ManifestProbe] = [:]
        for (n, sha) in hashes.enumerated() { probed[sha] = ManifestProbe(probes[n].probe) }
        let end = await assemble(
            assembly, segments: segments, hashes: made, probes: probed, sound: sound, fingerprint: fingerprint,
            spec: spec, ffmpeg: ffmpeg)
        context.paths.root.removeOwnFile(sound)
        return end
    }

    /// Each clip's file hashed against the manifest and probed, as many at once as there are
    /// cores (and one more), in the cut's order.
    private func clipFiles(ffprobe: String) async -> Result<[(GatedMedia, String, MediaProbe)], EndedEarly> {
        var checked: [Int: Result<(GatedMedia, String, MediaProbe), EndedEarly>] = [:]
        let step = self
        await withTaskGroup(of: (Int, Result<(GatedMedia, String, MediaProbe), EndedEarly>).self) { group in
            var next = cut.clips.indices.makeIterator()
            for _ in 0...max(1, context.options.cpu) {
                guard let n = next.next() else { break }
                group.addTask { (n, await step.clipFile(n, ffprobe: ffprobe)) }
            }
            for await (n, result) in group {
                checked[n] = result
                if let n = next.next() { group.addTask { (n, await step.clipFile(n, ffprobe: ffprobe)) } }
            }
        }
        var files: [(GatedMedia, String, MediaProbe)] = []
        for n in cut.clips.indices {
            switch checked[n] {
            case .success(let file)?: files.append(file)
            case .failure(let ended)?: return .failure(ended)
            case nil: return .failure(early("clip \(n + 1) of the cut was not checked"))
            }
        }
        return .success(files)
    }

    /// A job of the cut's encoding: a segment's picture, or the whole film's sound.
    private enum Job: Sendable {
        case segment(CutSegment)
        case sound
    }

    /// The folder of the film's segments, under the output folder: the tool's own (a draft's in
    /// a folder of their own, so that neither sweeps the other's).
    var segmentFolder: String { context.paths.inOutput(planned.isDraft ? ".segments/draft" : ".segments") }

    /// What the manifest records of this cut: the draft's record for a draft, the film's for the film.
    private func recorded() async -> ManifestCut? {
        let manifest = await context.recorder.manifest
        return planned.isDraft ? manifest.draftCut : manifest.cut
    }

    /// Every segment on disk: those the last assembly recorded (their SHA-256 checked) kept, the
    /// others encoded, each to a temporary name and renamed; and the film's sound mixed into
    /// `sound` meanwhile. As many jobs at once as there are cores, and one more: the moments a
    /// job starts and ends leave a core idle otherwise. Returns each segment's name → SHA-256.
    private func encodeSegments(
        _ segments: [CutSegment], sources: [CutSource], encoding: SegmentEncoding, ffmpeg: String,
        assembly: CutAssembly, sound: String
    ) async -> Result<[String: String], EndedEarly> {
        let seconds = assembly.seconds
        let root = context.paths.root
        let folder = segmentFolder
        do {
            _ = try root.directory(folder, create: true)
        } catch {
            return .failure(early("cannot create \(folder): \(error.reason)"))
        }
        var (files, missing) = await kept(segments)
        context.emit(
            CutEvent.started(
                path: planned.path, clips: cut.clips.count, seconds: seconds, segments: Set(segments.map(\.name)).count,
                encoding: missing.count))
        let total = missing.reduce(0) { $0 + $1.frames }
        var done = 0
        let jobs = [Job.sound] + missing.map(Job.segment)
        let lanes = max(1, min(context.options.cpu + 1, jobs.count))
        let step = self
        @Sendable func run(_ job: Job) async -> (Job, Result<String, EndedEarly>) {
            switch job {
            case .sound: (job, await step.mix(assembly, into: sound, ffmpeg: ffmpeg).map { "" })
            case .segment(let segment):
                (job, await step.encode(segment, sources: sources, encoding: encoding, ffmpeg: ffmpeg))
            }
        }
        return await withTaskGroup(of: (Job, Result<String, EndedEarly>).self) { group in
            var queue = jobs[...]
            for _ in 0..<lanes {
                guard let next = queue.popFirst() else { break }
                group.addTask { await run(next) }
            }
            var failure: EndedEarly?
            for await (job, result) in group {
                switch result {
                case .success(let sha): if case .segment(let segment) = job { files[segment.name] = sha }
                case .failure(let ended):
                    failure = failure ?? ended
                    queue = [][...]
                }
                if case .segment(let segment) = job {
                    done += segment.frames
                    let film = seconds * Double(done) / Double(max(1, total))
                    context.emit(CutEvent.progress(path: planned.path, seconds: film, of: seconds))
                }
                if let next = queue.popFirst() { group.addTask { await run(next) } }
            }
            return failure.map { .failure($0) } ?? .success(files)
        }
    }

    /// The segments the last assembly recorded and whose files still hold those bytes (name →
    /// SHA-256), and the others, each once.
    private func kept(_ segments: [CutSegment]) async -> ([String: String], [CutSegment]) {
        let known = await recorded()?.segments ?? [:]
        var files: [String: String] = [:]
        var missing: [CutSegment] = []
        for segment in segments where files[segment.name] == nil {
            let path = segmentFolder + "/" + segment.name
            if let sha = known[segment.name], (try? context.paths.root.sha256(path)) == sha {
                files[segment.name] = sha
            } else if !missing.contains(where: { $0.name == segment.name }) {
                missing.append(segment)
            }
        }
        return (files, missing)
    }

    /// The whole film's sound, mixed in one pass into `path` (a name of the segment folder's).
    private func mix(_ assembly: CutAssembly, into path: String, ffmpeg: String) async -> Result<Void, EndedEarly> {
        let root = context.paths.root
        do {
            try root.createNew(path).close()
        } catch {
            return .failure(early("cannot create \(path): \(error)"))
        }
        let (status, said) = await Executable.run(
            ffmpeg, assembly.soundArguments(output: root.url(path).path),
            timeout: Self.timeout(seconds: assembly.seconds))
        guard status == 0, case .file(let bytes) = root.entry(path), bytes > 0 else {
            if Task.isCancelled { return .failure(EndedEarly(end: .ended(.notStarted(.interrupted)))) }
            return .failure(early("ffmpeg could not mix its sound: \(Printable.short(said, limit: 300))"))
        }
        return .success(())
    }

    /// One segment: ffmpeg into a temporary name, its length checked, renamed into place.
    private func encode(_ segment: CutSegment, sources: [CutSource], encoding: SegmentEncoding, ffmpeg: String) async
        -> Result<String, EndedEarly>
    {
        let root = context.paths.root
        let path = segmentFolder + "/" + segment.name
        let temporary = segmentFolder + "/.\(segment.name).part.\(UInt32.random(in: 0...UInt32.max)).mp4"
        do {
            try root.createNew(temporary).close()
        } catch {
            return .failure(early("cannot create \(temporary): \(error)"))
        }
        let seconds = Double(segment.frames) / Double(encoding.fps)
        let (status, said) = await Executable.run(
            ffmpeg, segment.arguments(sources, encoding: encoding, output: root.url(temporary).path),
            timeout: Self.timeout(seconds: seconds))
        // Its length is checked once, on the joined film.
        guard status == 0, case .file(let bytes) = root.entry(temporary), bytes > 0 else {
            root.removeOwnFile(temporary)
            if Task.isCancelled { return .failure(EndedEarly(end: .ended(.notStarted(.interrupted)))) }
            return .failure(early("ffmpeg could not encode a segment of it: \(Printable.short(said, limit: 300))"))
        }
        do {
            let sha = try root.sha256(temporary)
            try root.rename(temporary, to: path)
            return .success(sha)
        } catch {
            root.removeOwnFile(temporary)
            return .failure(early("cannot keep \(path): \(error)"))
        }
    }

    /// Clip `n`'s file, checked against the manifest (size and SHA-256) and probed.
    private func clipFile(_ n: Int, ffprobe: String) async -> Result<(GatedMedia, String, MediaProbe), EndedEarly> {
        let root = context.paths.root
        let path = context.paths.videoPath(shot: planned.clips[n], number: 1)
        guard let file = await context.recorder.entry(planned.clips[n])?.files.first, file.path == path,
            case .file(let size) = root.entry(path), size == file.bytes
        else { return .failure(early("\(path), clip \(n + 1) of the cut, is not on disk as the manifest records it")) }
        guard (try? root.sha256(path)) == file.sha256 else {
            return .failure(early("\(path), clip \(n + 1) of the cut, does not match its SHA-256"))
        }
        let known = await recorded()?.probes?[file.sha256]?.probe
        let gated: GatedMedia
        switch MediaGate.admit(path, in: root, accepting: MediaType.videos) {
        case .success(let admitted): gated = admitted
        case .failure(let refusal): return .failure(early("\(refusal), clip \(n + 1) of the cut"))
        }
        // These bytes were probed at the last assembly: not again.
        if let known, known.isInRange { return .success((gated, file.sha256, known)) }
        guard let probe = await MediaProbe.read(gated, ffprobe: ffprobe) else {
            return .failure(
                early(
                    "ffprobe cannot read \(path), clip \(n + 1) of the cut, as a video of at most 7680×4320 and 15 minutes"
                ))
        }
        return .success((gated, file.sha256, probe))
    }

    /// Each clip's trim and transition on whole frames of the film's rate (`Cut.spans`, which the
    /// plan uses too), with its file and whether it has sound.
    private func snapped(_ probes: [(file: GatedMedia, probe: MediaProbe)], fps: Int) -> Result<[CutSource], EndedEarly>
    {
        switch cut.spans(
            lengths: probes.map(\.probe.seconds), paths: probes.map(\.file.path), fps: fps, file: project.file)
        {
        case .failure(let problem): return .failure(early(problem.message))
        case .success(let spans):
            return .success(
                zip(spans, probes).map { span, clip in
                    CutSource(
                        file: clip.file, inPoint: span.inPoint, outPoint: span.outPoint, transition: span.transition,
                        hasAudio: clip.probe.hasAudio)
                })
        }
    }

    private func early(_ detail: String) -> EndedEarly { EndedEarly(end: fail(detail)) }

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
        if root.entry(target) != .missing, await recorded()?.file.path != target {
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
                try FilmVersions(root: root, film: target, limit: context.keepFilms).keep(unlessSHA256: sha)
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
            Self.sweepSegments(segmentFolder, keeping: Set(hashes.keys), in: root)
            context.emit(CutEvent.assembled(path: target, bytes: bytes, seconds: recorded.seconds))
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
        let list = segmentFolder + "/.join.\(UInt32.random(in: 0...UInt32.max)).txt"
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

    private func fail(_ detail: String) -> StepEnd {
        let reason = Reason.cut(detail: detail)
        context.emit(CutEvent.failed(path: planned.path, reason: reason))
        return .ended(.failed(reason))
    }
}
