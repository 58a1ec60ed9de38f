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

    package init(
        project: Project, plan: Plan, paths: ProjectPaths, manifest: Manifest, api: any KlingService,
        options: ExecutionOptions, clock: any EngineClock = SystemClock(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        events: @escaping @Sendable (ExecutionEvent) -> Void
    ) {
        self.project = project
        self.plan = plan
        taskIDsBefore = manifest.shots.compactMapValues(\.taskID)
        var recorded: [String: [String]] = [:]
        for shot in plan.shots where shot.action == .unchanged || shot.action == .download {
            recorded[shot.id] = manifest.shots[shot.id]?.urls ?? []
        }
        context = RunContext(
            api: api, clock: clock, recorder: ManifestRecorder(manifest: manifest, paths: paths),
            outputs: OutputStore(recorded),
            limits: ResourceLimits(tasks: options.parallelism, transfers: options.downloads, cpu: options.cpu),
            options: options, paths: paths, endpoint: manifest.endpoint, events: events, random: random)
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
        var owner: [Int: String] = [:]
    }

    func buildGraph() -> Graph {
        var graph = Graph()
        let shots = Dictionary(project.shots.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func add(_ step: any Step, for id: String, after dependencies: [Int], cost: Double) -> Int {
            graph.nodes.append(WalkNode(step: step, dependencies: dependencies, cost: cost))
            graph.owner[graph.nodes.count - 1] = id
            return graph.nodes.count - 1
        }
        for planned in plan.shots {
            switch planned.action {
            case .unchanged:
                context.events(.unchanged(shot: planned.id))
                continue
            case .uncertain:
                let step = RecordedStep(id: planned.id, outcome: .uncertain(.recordedUncertain), events: context.events)
                graph.render[planned.id] = add(step, for: planned.id, after: [], cost: 0)
            case .download:
                graph.download[planned.id] = add(
                    DownloadStep(id: planned.id, context: context), for: planned.id, after: [], cost: 0)
            case .render, .rerender, .resume:
                guard let shot = shots[planned.id] else { continue }
                let upstream = shot.upstreamIDs.compactMap { graph.render[$0] }
                let step = RenderStep(planned: planned, shot: shot, context: context)
                // A task in flight is polled at once, whatever its upstream shots do: it is paid for.
                let waits = planned.action == .resume ? [] : upstream
                let render = add(step, for: planned.id, after: waits, cost: step.expectedSeconds)
                graph.render[planned.id] = render
                graph.download[planned.id] = add(
                    DownloadStep(id: planned.id, context: context), for: planned.id, after: [render], cost: 0)
            }
        }
        return graph
    }
}
