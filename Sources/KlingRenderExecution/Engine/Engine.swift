import Foundation
import KlingAPI
import KlingRenderCore

/// `apply`'s engine: turns a plan into a graph of steps — a `RenderStep` and a `DownloadStep` per
/// shot that renders, a `DownloadStep` for one whose files are missing, a `RecordedStep` for one
/// recorded uncertain — walks it, and reports the run as a value.
package struct Engine: Sendable {
    package var project: Project
    package var plan: Plan
    package var context: RunContext
    /// Each shot's task id before the run: credits are counted only for tasks this run created.
    let taskIDsBefore: [String: String]
    /// Frames on disk from an earlier run of an unchanged upstream shot: uploaded, not extracted.
    let reusableFrames: Set<String>

    package init(
        project: Project, plan: Plan, paths: ProjectPaths, manifest: Manifest, api: any KlingService,
        options: ExecutionOptions, writer: (any ManifestWriter)? = nil, clock: any EngineClock = SystemClock(),
        assets: AssetOptions = AssetOptions(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        events: @escaping @Sendable (ExecutionEvent) -> Void
    ) {
        self.project = project
        self.plan = plan
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
        var files: [String: LocalAsset] = [:]
        for (path, file) in project.inputFiles {
            files[path] = LocalAsset(resolved: file.resolved, sha256: file.sha256, bytes: file.bytes, media: file.media)
        }
        // Frames the plan does not extract (taken before, of upstream shots that stay as they are):
        // hosted again as the manifest recorded them, not re-taken.
        var reusable = Set<String>()
        let extracted = Set(plan.assets.frames)
        for planned in plan.shots where planned.action.submits {
            for (_, input) in project.shot(planned.id)?.mediaInputs ?? [] {
                guard case .frame(let upstream, let edge) = input,
                    let key = project.shot(upstream)?.pickedKey, !extracted.contains(AssetWork.frameName(key, edge))
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
            case .stopping(let reason): events(.stopping(reason: reason))
            case .blocked(let node, let root):
                // A shot is reported blocked once, by its render (its download follows it).
                guard renders.contains(node), let shot = owner[node], let by = owner[root] else { return }
                events(.blocked(shot: shot, by: by))
            }
        }
        let (results, stop) = await walker.walk()
        do {
            try await context.recorder.flush()
        } catch {
            context.events(.warning("the manifest could not be written at the end of the run: \(error)"))
        }
        return await report(graph, results: results, stop: stop)
    }

    /// The steps of each shot, in plan order (which is topological), and where each shot's steps are.
    struct Graph {
        var nodes: [WalkNode] = []
        var render: [String: Int] = [:]
        var download: [String: Int] = [:]
        /// A shot's, or for an asset's steps the asset's path.
        var owner: [Int: String] = [:]
        /// The upload of each content (by SHA-256) and of each frame (by path).
        var uploads: [String: Int] = [:]
        /// The cut's assembly, when the plan assembles it.
        var cut: Int?

        mutating func add(_ step: any Step, for owner: String, after dependencies: [Int], cost: Double) -> Int {
            nodes.append(WalkNode(step: step, dependencies: dependencies, cost: cost))
            self.owner[nodes.count - 1] = owner
            return nodes.count - 1
        }
    }

    func buildGraph() -> Graph {
        var graph = Graph()
        let shots = Dictionary(project.shots.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func add(_ step: any Step, for id: String, after dependencies: [Int], cost: Double) -> Int {
            graph.add(step, for: id, after: dependencies, cost: cost)
        }
        let sharing = pathsByContent()
        for planned in plan.shots {
            switch planned.action {
            case .unchanged:
                context.events(.unchanged(shot: planned.key))
                continue
            case .uncertain:
                let step = RecordedStep(
                    id: planned.key, outcome: .uncertain(.recordedUncertain), events: context.events)
                graph.render[planned.key] = add(step, for: planned.key, after: [], cost: 0)
            case .download:
                graph.download[planned.key] = add(
                    DownloadStep(id: planned.key, context: context), for: planned.key, after: [], cost: 0)
            case .render, .rerender, .resume:
                guard let shot = shots[planned.id] else { continue }
                let upstream = shot.upstreamIDs.compactMap { graph.render[context.outputKey($0)] }
                let step = RenderStep(planned: planned, shot: shot, context: context)
                // A task in flight is polled at once, whatever its upstream shots do: it is paid for.
                let waits =
                    planned.action == .resume ? [] : upstream + assetSteps(for: shot, in: &graph, sharing: sharing)
                let render = add(step, for: planned.key, after: waits, cost: step.expectedSeconds)
                graph.render[planned.key] = render
                graph.download[planned.key] = add(
                    DownloadStep(id: planned.key, context: context), for: planned.key, after: [render], cost: 0)
            }
        }
        if let planned = plan.cut, planned.action == .assemble, let cut = project.cut {
            // After every clip's render and download that this run does.
            let waits = planned.clips.flatMap { [graph.render[$0], graph.download[$0]].compactMap { $0 } }
            let step = CutStep(cut: cut, project: project, planned: planned, context: context)
            graph.cut = graph.add(step, for: planned.path, after: waits, cost: 1)
        }
        return graph
    }

    /// The paths of the local files that submitting shots use, grouped by content.
    private func pathsByContent() -> [String: [String]] {
        var paths: [String: [String]] = [:]
        for planned in plan.shots where planned.action.submits {
            for (_, input) in project.shot(planned.id)?.mediaInputs ?? [] {
                guard case .file(let path) = input, let file = project.inputFiles[path] else { continue }
                if !(paths[file.sha256] ?? []).contains(path) { paths[file.sha256, default: []].append(path) }
            }
        }
        return paths
    }

    /// The upload (and frame) steps a shot's render waits for, added once each.
    private func assetSteps(for shot: Shot, in graph: inout Graph, sharing: [String: [String]]) -> [Int] {
        var waits: [Int] = []
        for (_, input) in shot.mediaInputs {
            switch input {
            case .file(let path):
                guard let sha = project.inputFiles[path]?.sha256 else { continue }
                if let node = graph.uploads[sha] {
                    waits.append(node)
                    continue
                }
                let paths = sharing[sha] ?? [path]
                let node = graph.add(UploadStep(paths: paths, context: context), for: paths[0], after: [], cost: 0)
                graph.uploads[sha] = node
                waits.append(node)
            case .frame(let upstream, let edge):
                let key = context.outputKey(upstream)
                let path = context.paths.framePath(shot: key, edge: edge)
                if let node = graph.uploads[path] {
                    waits.append(node)
                    continue
                }
                let video = [graph.render[key], graph.download[key]].compactMap { $0 }
                // A frame on disk of an unchanged upstream shot is hosted as it is; else it is taken.
                let source =
                    reusableFrames.contains(path)
                    ? video
                    : [
                        graph.add(
                            FrameStep(shot: key, edge: edge, context: context), for: path, after: video, cost: 1)
                    ]
                let node = graph.add(UploadStep(paths: [path], context: context), for: path, after: source, cost: 0)
                graph.uploads[path] = node
                waits.append(node)
            case .url, .shotVideo:
                continue
            }
        }
        return waits
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
