import Foundation
import KlingAPI
import KlingRenderCore

/// `apply`'s engine: turns a plan into a graph of steps, each kind of step adding its own
/// (`StepKinds`), walks it, and reports the run as a value.
package struct Engine: Sendable {
    package var project: Project
    package var plan: Plan
    package var context: RunContext
    /// Each shot's task id before the run: credits are counted only for tasks this run created.
    let taskIDsBefore: [String: String]
    /// Frames on disk from an earlier run of an unchanged upstream shot: uploaded, not extracted.
    let reusableFrames: Set<String>
    /// The project's shots by id.
    let shots: [String: Shot]

    package init(
        project: Project, plan: Plan, paths: ProjectPaths, manifest: Manifest, api: any KlingService,
        options: ExecutionOptions, writer: (any ManifestWriter)? = nil, clock: any EngineClock = SystemClock(),
        assets: AssetOptions = AssetOptions(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        events: @escaping @Sendable (ExecutionEvent) -> Void
    ) {
        self.project = project
        self.plan = plan
        let shots = Dictionary(project.shots.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.shots = shots
        taskIDsBefore = manifest.shots.compactMapValues(\.taskID)
        var recorded: [String: [String]] = [:]
        for shot in plan.shots where shot.action == .unchanged || shot.action == .download {
            recorded[shot.key] = manifest.shots[shot.key]?.urls ?? []
        }
        context = RunContext(
            api: api, clock: clock,
            recorder: ManifestRecorder(manifest: manifest, writer: writer ?? FileManifestWriter(paths: paths)),
            outputs: OutputStore(recorded),
            limits: ResourceLimits(tasks: options.parallelism, transfers: options.downloads, cpu: options.cpu),
            options: options, paths: paths, endpoint: manifest.endpoint, events: events, random: random)
        context.labelsRequests = plan.simulated
        var files: [String: LocalAsset] = [:]
        for (path, file) in project.inputFiles {
            files[path] = LocalAsset(resolved: file.resolved, sha256: file.sha256, bytes: file.bytes, media: file.media)
        }
        // Frames the plan does not extract (taken before, of upstream shots that stay as they are):
        // hosted again as the manifest recorded them, not re-taken.
        var reusable = Set<String>()
        let extracted = Set(plan.assets.frames)
        for planned in plan.shots where planned.action.submits {
            for (_, input) in shots[planned.id]?.mediaInputs ?? [] {
                guard case .frame(let upstream, let edge) = input,
                    let key = shots[upstream]?.pickedKey, !extracted.contains(AssetWork.frameName(key, edge))
                else { continue }
                let path = paths.framePath(shot: key, edge: edge)
                guard let asset = manifest.assets?[path] else { continue }
                files[path] = LocalAsset(resolved: path, sha256: asset.sha256, bytes: asset.bytes, media: .png)
                reusable.insert(path)
            }
        }
        reusableFrames = reusable
        context.assets = AssetBoard(files)
        context.inputFiles = project.inputFiles
        context.store = assets.store
        context.keepOutputs = project.assets?.keepOutputs ?? false
        context.ffmpeg = assets.ffmpeg
        context.ffprobe = assets.ffprobe
        context.outputsLifetime = project.outputsLifetime
        context.now = assets.now
        context.outputKeys = Dictionary(project.shots.map { ($0.id, $0.pickedKey) }, uniquingKeysWith: { a, _ in a })
    }

    package var recorder: ManifestRecorder { context.recorder }

    package func run() async -> ApplyReport {
        let graph = buildGraph()
        var walker = Walker(nodes: graph.nodes, limits: context.limits, clock: context.clock)
        let events = context.events
        let owner = graph.owner
        let renders = Set(graph.render.values)
        walker.notices = { notice in
            switch notice {
            case .stopping(let reason): events(ExecutionEvent(RunEvent.stopping(reason: reason)))
            case .blocked(let node, let root):
                // A shot is reported blocked once, by its render (its download follows it).
                guard renders.contains(node), let shot = owner[node], let by = owner[root] else { return }
                events(ExecutionEvent(RunEvent.blocked(shot: shot, by: by)))
            }
        }
        let (results, stop) = await walker.walk()
        do {
            try await context.recorder.flush()
        } catch {
            context.emit(RunEvent.warning("the manifest could not be written at the end of the run: \(error)"))
        }
        return await report(graph, results: results, stop: stop)
    }

    /// Each kind adds its steps, in `StepKinds.all`'s order.
    package func buildGraph() -> StepGraph {
        var graph = StepGraph()
        for planned in plan.shots where planned.action == .unchanged {
            context.emit(RunEvent.unchanged(shot: planned.key))
        }
        for kind in StepKinds.all { kind.contribute(to: &graph, from: self) }
        return graph
    }
}

/// How a run hosts its assets: the store, ffmpeg, and the wall clock that dates URLs.
package struct AssetOptions: Sendable {
    package var store: AssetHost?
    package var ffmpeg: String?
    package var ffprobe: String?
    package var now: @Sendable () -> Date

    package init(store: AssetHost? = nil, ffmpeg: String? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.ffmpeg = ffmpeg
        self.now = now
    }
}
