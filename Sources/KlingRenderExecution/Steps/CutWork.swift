import Foundation
import KlingRenderCore

/// A clip's file as the cut uses it: through the media gate, its SHA-256 checked against the
/// manifest, and what ffprobe read of it.
struct CutClip: Sendable {
    var file: GatedMedia
    var sha256: String
    var probe: MediaProbe
}

/// What the cut's steps share in one run: each clip's file checked and probed once, by whichever
/// step needs it first; the film's encoding; each segment's file, kept or encoded once however
/// many steps need it; the film's sound; and the cut's events, each said once.
actor CutWork {
    nonisolated let cut: Cut
    nonisolated let project: Project
    nonisolated let planned: PlannedCut
    nonisolated let context: RunContext
    /// The segment steps of the graph: how many there are, for the progress bar.
    nonisolated let slots: Int

    private var clips: [Int: Task<Result<CutClip, EndedEarly>, Never>] = [:]
    private var whole: Task<Result<CutStep.Whole, EndedEarly>, Never>?
    private var segments: [String: Task<Result<String, EndedEarly>, Never>] = [:]
    private var began = false
    private var finished = 0
    /// Segments on disk for this cut (name → SHA-256), and how many of them were encoded now.
    private(set) var files: [String: String] = [:]
    private(set) var encoded = 0
    /// The film's sound, mixed by the sound step; nil until then, or when the film on disk is
    /// this cut already.
    private(set) var sound: String?
    /// The film on disk stands for this cut already (its clips fetched again with the same bytes).
    private(set) var current = false

    init(cut: Cut, project: Project, planned: PlannedCut, context: RunContext) {
        self.cut = cut
        self.project = project
        self.planned = planned
        self.context = context
        slots = SegmentSlot.all(cut).count
    }

    /// The folder of the film's segments, under the output folder: the tool's own (a draft's in
    /// a folder of their own, so that neither sweeps the other's).
    nonisolated var segmentFolder: String {
        context.paths.inOutput(planned.isDraft ? ".segments/draft" : ".segments")
    }

    /// Says once that the cut starts.
    func begin() {
        guard !began else { return }
        began = true
        context.emit(CutEvent.started(path: planned.path, clips: cut.clips.count, segments: slots))
    }

    /// Clip `n`'s file, checked and probed the first time a step asks.
    func clip(_ n: Int) async -> Result<CutClip, EndedEarly> {
        if let task = clips[n] { return await task.value }
        let work = self
        let task = Task { await work.check(n) }
        clips[n] = task
        return await task.value
    }

    /// The whole film as the sound and the join see it (`CutStep.assembly`), made once.
    func film() async -> Result<CutStep.Whole, EndedEarly> {
        if let whole { return await whole.value }
        let work = self
        let task = Task { await CutStep.assembly(work) }
        whole = task
        return await task.value
    }

    /// The film's encoding: the size and rate `cut:` says, else the first clip's.
    func encoding() async -> Result<SegmentEncoding, EndedEarly> {
        if let given = SegmentEncoding.of(cut, first: nil, draft: planned.isDraft) { return .success(given) }
        switch await clip(0) {
        case .failure(let ended): return .failure(ended)
        case .success(let first):
            guard let found = SegmentEncoding.of(cut, first: first.probe, draft: planned.isDraft) else {
                return .failure(early("the film's size and rate are not known"))
            }
            return .success(found)
        }
    }

    /// Clip `n` trimmed on whole frames of the film's rate, from its file alone.
    func source(_ n: Int, fps: Int) async -> Result<CutSource, EndedEarly> {
        switch await clip(n) {
        case .failure(let ended): return .failure(ended)
        case .success(let clip):
            switch cut.span(n, length: clip.probe.seconds, path: clip.file.path, fps: fps, file: project.file) {
            case .failure(let problem): return .failure(early(problem.message))
            case .success(let span):
                return .success(
                    CutSource(
                        file: clip.file, inPoint: span.inPoint, outPoint: span.outPoint, transition: span.transition,
                        hasAudio: clip.probe.hasAudio))
            }
        }
    }

    /// Segment `name`'s SHA-256 once it is on disk: `make` runs for the first step that asks;
    /// the others wait for it.
    func segment(_ name: String, seconds: Double, make: @escaping @Sendable () async -> Result<String, EndedEarly>)
        async -> Result<String, EndedEarly>
    {
        if let task = segments[name] { return await task.value }
        let task = Task { await make() }
        segments[name] = task
        let result = await task.value
        if case .success(let sha) = result { files[name] = sha }
        return result
    }

    /// A segment step is done: one more of the bar (`encoded`: it encoded its segment).
    func finished(encoded: Bool) {
        finished += 1
        if encoded { self.encoded += 1 }
        context.emit(CutEvent.progress(path: planned.path, segments: min(finished, slots), of: slots))
    }

    func mixed(_ path: String) { sound = path }
    func isCurrent() { current = true }

    /// Clip `n`'s file, checked against the manifest (size and SHA-256) and probed (unless the
    /// last assembly probed these bytes).
    private func check(_ n: Int) async -> Result<CutClip, EndedEarly> {
        guard let ffprobe = context.ffprobe else { return .failure(early(Program.ffmpeg.missing)) }
        let root = context.paths.root
        let path = context.paths.videoPath(shot: planned.clips[n], number: 1)
        guard let file = await context.recorder.entry(planned.clips[n])?.files.first, file.path == path,
            case .file(let size) = root.entry(path), size == file.bytes
        else { return .failure(early("\(path), clip \(n + 1) of the cut, is not on disk as the manifest records it")) }
        guard (try? root.sha256(path)) == file.sha256 else {
            return .failure(early("\(path), clip \(n + 1) of the cut, does not match its SHA-256"))
        }
        let gated: GatedMedia
        switch MediaGate.admit(path, in: root, accepting: MediaType.videos) {
        case .success(let admitted): gated = admitted
        case .failure(let refusal): return .failure(early("\(refusal), clip \(n + 1) of the cut"))
        }
        // These bytes were probed at the last assembly: not again.
        if let known = await recorded()?.probes?[file.sha256]?.probe, known.isInRange {
            return .success(CutClip(file: gated, sha256: file.sha256, probe: known))
        }
        guard let probe = await MediaProbe.read(gated, ffprobe: ffprobe) else {
            return .failure(
                early(
                    "ffprobe cannot read \(path), clip \(n + 1) of the cut, as a video of at most 7680×4320 and 15 minutes"
                ))
        }
        return .success(CutClip(file: gated, sha256: file.sha256, probe: probe))
    }

    /// What the manifest records of this cut: the draft's record for a draft, the film's for the film.
    nonisolated func recorded() async -> ManifestCut? {
        let manifest = await context.recorder.manifest
        return planned.isDraft ? manifest.draftCut : manifest.cut
    }

    /// Ends a step of the cut: says why, once, in the cut's row.
    nonisolated func fail(_ detail: String) -> StepEnd {
        let reason = Reason.cut(detail: detail)
        context.emit(CutEvent.failed(path: planned.path, reason: reason))
        return .ended(.failed(reason))
    }

    nonisolated func early(_ detail: String) -> EndedEarly { EndedEarly(end: fail(detail)) }
}

/// One segment of the film (`SegmentSlot`): a clip's body, or a transition between two clips,
/// encoded by ffmpeg as soon as the clips it reads are on disk — or kept, when the last assembly
/// made it from the same bytes. Local CPU work: it holds a core.
struct SegmentStep: Step {
    var slot: SegmentSlot
    var work: CutWork

    var resource: Resource { .cpu }

    func run() async -> StepEnd {
        await work.begin()
        guard let ffmpeg = work.context.ffmpeg else { return work.fail(Program.ffmpeg.missing) }
        let encoding: SegmentEncoding
        switch await work.encoding() {
        case .success(let found): encoding = found
        case .failure(let ended): return ended.end
        }
        var sources: [Int: CutSource] = [:]
        var hashes: [Int: String] = [:]
        for n in slot.clips {
            switch await work.source(n, fps: encoding.fps) {
            case .success(let source): sources[n] = source
            case .failure(let ended): return ended.end
            }
            if case .success(let clip) = await work.clip(n) { hashes[n] = clip.sha256 }
        }
        let cut = work.cut
        guard
            let segment = CutSegment.at(
                slot, spans: { sources[$0]!.span }, transitions: { cut.transition($0, fps: encoding.fps) },
                hashes: { hashes[$0]! }, count: cut.clips.count, encoding: encoding)
        else {
            // The transitions take this clip whole: there is nothing between them.
            await work.finished(encoded: false)
            return .success
        }
        let inputs = sources
        let kept = await self.kept(segment)
        let seconds = Double(segment.frames) / Double(encoding.fps)
        let result = await work.segment(segment.name, seconds: seconds) {
            if let kept { return .success(kept) }
            return await encode(segment, sources: inputs, encoding: encoding, ffmpeg: ffmpeg)
        }
        switch result {
        case .success:
            await work.finished(encoded: kept == nil)
            return .success
        case .failure(let ended): return ended.end
        }
    }

    /// The segment's SHA-256 when the last assembly recorded it and its file still holds those bytes.
    private func kept(_ segment: CutSegment) async -> String? {
        guard let sha = await work.recorded()?.segments?[segment.name] else { return nil }
        return (try? work.context.paths.root.sha256(work.segmentFolder + "/" + segment.name)) == sha ? sha : nil
    }

    /// ffmpeg into a temporary name, at a lower priority than the film's sound (which the join
    /// waits for), and renamed into place.
    private func encode(_ segment: CutSegment, sources: [Int: CutSource], encoding: SegmentEncoding, ffmpeg: String)
        async
        -> Result<String, EndedEarly>
    {
        let root = work.context.paths.root
        let folder = work.segmentFolder
        do {
            _ = try root.directory(folder, create: true)
        } catch {
            return .failure(work.early("cannot create \(folder): \(error.reason)"))
        }
        let path = folder + "/" + segment.name
        let temporary = folder + "/.\(segment.name).part.\(UInt32.random(in: 0...UInt32.max)).mp4"
        do {
            try root.createNew(temporary).close()
        } catch {
            return .failure(work.early("cannot create \(temporary): \(error)"))
        }
        let seconds = Double(segment.frames) / Double(encoding.fps)
        let (status, said) = await Executable.run(
            ffmpeg, segment.arguments({ sources[$0]!.file }, encoding: encoding, output: root.url(temporary).path),
            timeout: CutStep.timeout(seconds: seconds), nice: 5)
        // Its length is checked once, on the joined film.
        guard status == 0, case .file(let bytes) = root.entry(temporary), bytes > 0 else {
            root.removeOwnFile(temporary)
            if Task.isCancelled { return .failure(EndedEarly(end: .ended(.notStarted(.interrupted)))) }
            return .failure(
                work.early("ffmpeg could not encode a segment of it: \(Printable.short(said, limit: 300))"))
        }
        do {
            let sha = try root.sha256(temporary)
            try root.rename(temporary, to: path)
            return .success(sha)
        } catch {
            root.removeOwnFile(temporary)
            return .failure(work.early("cannot keep \(path): \(error)"))
        }
    }
}

/// The whole film's sound, mixed in one pass once every clip is on disk — the clips' sound,
/// silences, crossfades and the music bed — while the segments encode. Local CPU work.
struct SoundStep: Step {
    var work: CutWork

    var resource: Resource { .cpu }

    func run() async -> StepEnd {
        await work.begin()
        guard let ffmpeg = work.context.ffmpeg else { return work.fail(Program.ffmpeg.missing) }
        let assembly: CutAssembly
        switch await work.film() {
        case .success(let made): assembly = made.assembly
        case .failure(let ended): return ended.end
        }
        // Fetched again with the same bytes: the film on disk still stands for this cut.
        if await CutStep.isCurrent(work) {
            await work.isCurrent()
            return .success
        }
        let root = work.context.paths.root
        do {
            _ = try root.directory(work.segmentFolder, create: true)
        } catch {
            return work.fail("cannot create \(work.segmentFolder): \(error.reason)")
        }
        let path = work.segmentFolder + "/.sound.\(UInt32.random(in: 0...UInt32.max)).m4a"
        do {
            try root.createNew(path).close()
        } catch {
            return work.fail("cannot create \(path): \(error)")
        }
        let (status, said) = await Executable.run(
            ffmpeg, assembly.soundArguments(output: root.url(path).path),
            timeout: CutStep.timeout(seconds: assembly.seconds))
        guard status == 0, case .file(let bytes) = root.entry(path), bytes > 0 else {
            root.removeOwnFile(path)
            if Task.isCancelled { return .ended(.notStarted(.interrupted)) }
            return work.fail("ffmpeg could not mix its sound: \(Printable.short(said, limit: 300))")
        }
        await work.mixed(path)
        return .success
    }
}
