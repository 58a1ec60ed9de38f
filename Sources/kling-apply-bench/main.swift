// kling-apply-bench: apply against the simulator, measured.
//
//   kling-apply-bench schedule [SHOTS] [TIME-SCALE]   makespan against the critical-path bound at
//                                                    parallelism 4, 16 and unbounded; status
//                                                    requests per task against a 5-second poller
//                                                    (with STATE, a postgres:// URL: each row also
//                                                    with the manifest kept there, and the ratio)
//   kling-apply-bench download [MB]                  peak memory while downloading one video
//   kling-apply-bench walk [STEPS]                   the walker alone, on a virtual clock: the
//                                                    time it takes to order and start STEPS steps
import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import KlingSimulator
import KlingState

#if canImport(Glibc)
    import Glibc
#endif

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

func seconds(_ d: Duration) -> Double { d.inSeconds }

/// A film of `count` shots: heroes, edits chaining on them, references fanning out, stills, and
/// transitions that wait on several shots (fan-in). Deterministic.
func film(_ count: Int) -> String {
    var seed: UInt64 = 42
    func next(_ n: Int) -> Int {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((seed >> 33) % UInt64(n))
    }
    let texts = ["pro-text-to-video", "std-text-to-video", "o3-pro-text-to-video", "o3-std-text-to-video"]
    var out = "version: 1\nname: bench-apply\nshots:\n"
    var videos: [String] = []
    for i in 0..<count {
        let id = "s\(i)"
        switch i % 10 {
        case 0, 1, 2:
            out += "  \(id):\n    type: \(texts[next(4)])\n    prompt: hero \(i)\n    duration: \(3 + next(13))\n"
            videos.append(id)
        case 3,
            4 where !videos.isEmpty:
            let source = videos[max(0, videos.count - 1 - next(3))]
            out +=
                "  \(id):\n    type: \(next(2) == 0 ? "o3-pro-video-edit" : "o3-std-video-edit")\n    prompt: edit \(i)\n    video: ${shots.\(source).video}\n"
            videos.append(id)
        case 5,
            6 where !videos.isEmpty:
            out +=
                "  \(id):\n    type: o3-std-reference-to-video\n    prompt: ref \(i)\n    video: ${shots.\(videos[next(videos.count)]).video}\n"
        case 7, 8:
            out +=
                "  \(id):\n    type: std-image-to-video\n    prompt: still \(i)\n    image: https://example.com/\(i).jpg\n    duration: \(3 + next(8))\n"
        default:
            let waits = Set((0..<4).map { _ in "s\(next(i))" }).sorted()
            out +=
                "  \(id):\n    type: std-text-to-video\n    prompt: transition \(i)\n    after: [\(waits.joined(separator: ", "))]\n"
        }
    }
    return out
}

func schedule(shots: Int, timeScale: Double, state: StateURL?) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kling-apply-bench-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("film.yaml")
    try film(shots).write(to: file, atomically: true, encoding: .utf8)
    guard let project = ProjectLoader().load(path: file.path).project else {
        print("the generated film does not load")
        exit(1)
    }

    // The simulator's own render times: the critical path and the total work, in simulated seconds.
    let graph = ShotGraph(project)
    var duration = [Double](repeating: 0, count: graph.shots.count)
    for i in graph.order {
        let body = try CanonicalJSON.data(graph.shots[i].request { _ in "https://example.com/v.mp4" })
        duration[i] = SimulatorServer.renderSeconds(request: body) ?? 0
    }
    let critical = LongestPath.critical(order: graph.order, cost: { duration[$0] }, dependents: graph.downstream)
    let work = duration.reduce(0, +)
    let naivePolls = duration.reduce(0) { $0 + ($1 / 5).rounded(.up) }

    print(
        "\(shots) shots at time scale \(Int(timeScale)): critical path \(Int(critical)) s, work \(Int(work)) s (simulated)"
    )
    print(
        [
            "parallelism", "state", "makespan s", "bound s", "ratio", "CP|W/P", "ratio", "list s", "ratio",
            "polls/task", "5 s poller",
        ].map {
            $0.leftPadded(12)
        }.joined()
    )
    for parallelism in [4, 16, shots] {
        let row = { (state: StateURL?) in
            try await scheduleRow(
                parallelism: parallelism, shots: shots, timeScale: timeScale, file: file, project: project,
                duration: duration, naivePolls: naivePolls, state: state)
        }
        let local = try await row(nil)
        if let state {
            let shared = try await row(state)
            print(String(format: "%24@ makespan with PostgreSQL ÷ with the file: %.3f", "", shared / local))
        }
    }
}

/// The manifest's writer for a row: the file, or a fresh project in the shared state.
func writer(for state: StateURL?, paths: ProjectPaths, parallelism: Int) async throws -> any ManifestWriter {
    guard let state else { return FileManifestWriter(paths: paths) }
    let environment = ProcessInfo.processInfo.environment
    let target = PostgresTarget(state, environment: environment, home: environment["HOME"])
    let shared = PostgresState(target: target, project: "bench-\(getpid())-\(parallelism)")
    return try await shared.lock(LockRequest(command: "bench"))
}

/// A lower bound on any schedule's makespan on `parallelism` slots: the larger of the critical
/// path, the work spread over every slot, and, for each shot v, the two bounds that join them —
/// v cannot start before its earliest start, and v with everything after it is work for the
/// slots from then on (`head(v) + work(v and descendants) / P`); v and everything before it is
/// work for the slots before v ends, and its tail follows (`work(v and ancestors) / P + tail(v)`).
func lowerBound(graph: ShotGraph, duration: [Double], parallelism: Int) -> Double {
    let n = graph.shots.count
    let p = Double(parallelism)
    var head = [Double](repeating: 0, count: n)
    for i in graph.order {
        for u in graph.upstream[i] { head[i] = max(head[i], head[u] + duration[u]) }
    }
    let remaining = LongestPath.remaining(order: graph.order, cost: { duration[$0] }, dependents: graph.downstream)
    func closure(_ start: Int, _ edges: [[Int]]) -> Double {
        var seen = Set([start])
        var stack = [start]
        while let i = stack.popLast() {
            for j in edges[i] where seen.insert(j).inserted { stack.append(j) }
        }
        return seen.reduce(0) { $0 + duration[$1] }
    }
    var bound = max(remaining.max() ?? 0, duration.reduce(0, +) / p)
    for v in 0..<n {
        bound = max(bound, head[v] + closure(v, graph.downstream) / p)
        bound = max(bound, closure(v, graph.upstream) / p + remaining[v] - duration[v])
    }
    return bound
}

/// The makespan of the walker's own order (`SchedulePriority`) with nothing in the way: the
/// engine's `Walker` on a virtual clock, each shot a step that only waits its exact render time, `parallelism` slots, no
/// request, write or poll taking any time. What the run loses to those is `makespan ÷ this`;
/// what the rule itself loses is `this ÷ bound`.
func listSchedule(graph: ShotGraph, duration: [Double], parallelism: Int) async -> Double {
    let clock = VirtualClock()
    var node = [Int](repeating: 0, count: duration.count)
    for (position, shot) in graph.order.enumerated() { node[shot] = position }
    let nodes = graph.order.map { shot in
        WalkNode(
            step: Render(seconds: duration[shot], clock: clock), dependencies: graph.upstream[shot].map { node[$0] },
            cost: duration[shot])
    }
    let limits = ResourceLimits(tasks: parallelism, transfers: 1, cpu: 1)
    _ = await Walker(nodes: nodes, limits: limits, clock: clock).walk()
    return clock.now()
}

/// A render that is only its time.
struct Render: Step {
    var seconds: Double
    var clock: VirtualClock
    var resource: Resource { .tasks }

    func run() async -> StepEnd {
        try? await clock.sleep(seconds: seconds)
        return .success
    }
}

/// Times an apply from the engine's start to its report.
final class RunTimer: ApplyDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var start: ContinuousClock.Instant?
    private var end: ContinuousClock.Instant?

    func willRun(_ plan: Plan) { lock.withLock { start = .now } }
    func finished(_ report: ApplyReport, plan: Plan, workspace: Workspace) { lock.withLock { end = .now } }

    var seconds: Double {
        lock.withLock { start.flatMap { s in end.map { ($0 - s).inSeconds } } ?? 0 }
    }
}

/// One row of the schedule table: the generated film rendered at `parallelism` against a fresh simulator.
func scheduleRow(
    parallelism: Int, shots: Int, timeScale: Double, file: URL, project: Project, duration: [Double],
    naivePolls: Double, state: StateURL?
) async throws -> Double {
    var configuration = SimulatorConfiguration()
    configuration.port = 0
    configuration.timeScale = timeScale
    configuration.useFFmpeg = false
    configuration.maxTasksInFlight = 100_000
    configuration.requestsPerSecond = 100_000
    let simulator = try await SimulatorServer.start(configuration)
    let paths = ProjectPaths(projectFile: file.path, output: "renders-\(parallelism)", simulated: false)
    try? FileManager.default.removeItem(at: paths.manifest)
    let plan = try Planner().plan(project, manifest: nil, paths: paths)
    let writer = try await writer(for: state, paths: paths, parallelism: parallelism)
    var options = ExecutionOptions()
    options.parallelism = parallelism
    options.timeScale = timeScale
    options.downloads = 16
    // The operation `apply` runs, timed from the engine's start to its report (not the review page after).
    var workspace = try Workspace.open(file.path, simulated: false)
    workspace.paths = paths
    workspace.manifest = nil
    let timer = RunTimer()
    let api = APIAccess(
        client: KlingClient(baseURL: simulator.baseURL, apiKey: SimulatorConfiguration.demoKey),
        label: simulator.baseURL, timeScale: timeScale)
    let report = await Apply.render(
        plan, in: workspace, api: api, writer: writer, options: options, assets: AssetOptions(), delegate: timer,
        control: ApplyControl())
    let makespan = timer.seconds * timeScale
    await writer.release()
    let stats = await simulator.stats()
    await simulator.stop()
    guard report.succeeded, stats.tasksCreated == shots else {
        print("the run did not succeed: \(report.shots.filter { !$0.outcome.isSuccess }.prefix(3))")
        exit(1)
    }
    let graph = ShotGraph(project)
    let bound = lowerBound(graph: graph, duration: duration, parallelism: parallelism)
    let critical = LongestPath.critical(order: graph.order, cost: { duration[$0] }, dependents: graph.downstream)
    let simple = max(critical, duration.reduce(0, +) / Double(parallelism))
    let list = await listSchedule(graph: graph, duration: duration, parallelism: parallelism)
    let polls = Double(stats.requests["GET /api/status"] ?? 0) / Double(shots)
    let label = parallelism == shots ? "unbounded" : String(parallelism)
    let cells = [
        label, state == nil ? "file" : "postgres", String(format: "%.0f", makespan), String(format: "%.0f", bound),
        String(format: "%.3fx", makespan / bound), String(format: "%.0f", simple),
        String(format: "%.3fx", makespan / simple), String(format: "%.0f", list),
        String(format: "%.3fx", makespan / list), String(format: "%.1f", polls),
        String(format: "%.1f", naivePolls / Double(shots)),
    ]
    print(cells.map { $0.leftPadded(12) }.joined())
    return makespan
}

/// The walker's own cost: `count` steps (a chain through every tenth, render times of 60–360 s) on
/// 4 slots, on a virtual clock, so that all the time measured is the walker's and its planning.
func walk(count: Int) async {
    let clock = VirtualClock()
    let nodes = (0..<count).map { i in
        let seconds = Double(60 + (i * 37) % 300)
        return WalkNode(
            step: Render(seconds: seconds, clock: clock), dependencies: i >= 10 && i % 10 == 0 ? [i - 10] : [],
            cost: seconds)
    }
    let start = ContinuousClock.now
    _ = await Walker(nodes: nodes, limits: ResourceLimits(tasks: 4, transfers: 1, cpu: 1), clock: clock).walk()
    let elapsed = seconds(ContinuousClock.now - start)
    print(
        String(
            format: "walked %d steps on 4 slots in %.2f s (%.0f µs a step); peak RSS %.0f MB", count, elapsed,
            elapsed / Double(max(1, count)) * 1e6, peakRSSMegabytes()))
}

func download(megabytes: Int) async throws {
    var configuration = SimulatorConfiguration()
    configuration.port = 0
    configuration.timeScale = 1_000_000
    configuration.videoBytes = megabytes << 20
    let simulator = try await SimulatorServer.start(configuration)
    let client = KlingClient(baseURL: simulator.baseURL, apiKey: SimulatorConfiguration.demoKey)
    let task = try await client.generate(body: Data(#"{"type":"std-text-to-video","prompt":"big"}"#.utf8))
    var report = try await client.status(taskID: task.taskID)
    while report.phase == .running { report = try await client.status(taskID: task.taskID) }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kling-dl-bench-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let before = peakRSSMegabytes()
    let start = ContinuousClock.now
    let file = try await Downloader(api: client, folder: ProjectFolder(folder), endpoint: client.baseURL) { _ in }
        .fetch(
            report.urls[0], to: "big.mp4")
    let elapsed = seconds(ContinuousClock.now - start)
    await simulator.stop()
    print(
        String(
            format: "downloaded %d MB in %.1f s (%.0f MB/s), hashed; peak RSS %.0f MB before, %.0f MB after",
            Int(file.bytes >> 20), elapsed, Double(file.bytes >> 20) / elapsed, before, peakRSSMegabytes()))
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "schedule":
    let shots = arguments.dropFirst().first.flatMap { Int($0) } ?? 200
    let scale = arguments.dropFirst(2).first.flatMap { Double($0) } ?? 50
    let state = arguments.dropFirst(3).first.flatMap { try? StateURL.parse($0).get() }
    try await schedule(shots: shots, timeScale: scale, state: state)
case "download":
    try await download(megabytes: arguments.dropFirst().first.flatMap { Int($0) } ?? 1024)
case "walk":
    await walk(count: arguments.dropFirst().first.flatMap { Int($0) } ?? 100_000)
default:
    print("usage: kling-apply-bench schedule [SHOTS] [TIME-SCALE] | download [MB] | walk [STEPS]")
    exit(2)
}
