import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import NIOCore

/// An in-memory Kling API on a virtual clock, behind the same protocol as the HTTP client: a task
/// renders for its type's expected time (or `renderSeconds`), answers are scripted per call.
final class FakeKling: KlingService, @unchecked Sendable {
    struct Task {
        var id: String
        var shotPrompt: String
        var finishesAt: Double
        var polls: [Double] = []
    }

    let clock: VirtualClock
    /// Answers to `POST /api/generate`, by call number (1-based); nil creates a task.
    var generateScript: @Sendable (Int) -> KlingAPIError? = { _ in nil }
    /// Seconds a render takes, from its request; default: the type's expected time.
    var renderSeconds: @Sendable ([String: Any]) -> Double = { body in
        let type = TaskType.named(body["type"] as? String ?? "")
        return type?.expectedRenderSeconds(videoSeconds: body["duration"] as? Int) ?? 100
    }

    private let lock = NSLock()
    private(set) var tasks: [String: Task] = [:]
    /// Clock times of every `POST /api/generate`.
    private(set) var generateTimes: [Double] = []
    /// Tasks created and not yet seen done, and the most there ever were at once.
    private var inFlight = Set<String>()
    private(set) var maxInFlight = 0

    init(clock: VirtualClock) { self.clock = clock }

    func generate(body: Data) async throws(KlingAPIError) -> CreatedTask {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let (call, seconds) = lock.withLock { () -> (Int, Double) in
            generateTimes.append(clock.now())
            return (generateTimes.count, renderSeconds(object))
        }
        if let error = generateScript(call) { throw error }
        let id = "n75fake\(call)"
        lock.withLock {
            tasks[id] = Task(id: id, shotPrompt: object["prompt"] as? String ?? "", finishesAt: clock.now() + seconds)
            inFlight.insert(id)
            maxInFlight = max(maxInFlight, inFlight.count)
        }
        return CreatedTask(taskID: id, status: "IN_PROGRESS", consumedCredits: 100)
    }

    func status(taskID: String) async throws(KlingAPIError) -> TaskReport {
        let now = clock.now()
        let task = lock.withLock { () -> Task? in
            tasks[taskID]?.polls.append(now)
            return tasks[taskID]
        }
        guard let task else { throw .taskNotFound(taskID: taskID) }
        let done = now >= task.finishesAt
        if done { lock.withLock { _ = inFlight.remove(taskID) } }
        return TaskReport(
            taskID: taskID, status: done ? "SUCCESS" : "IN_PROGRESS", phase: done ? .succeeded : .running,
            consumedCredits: nil, urls: done ? ["https://fake.invalid/videos/\(taskID).mp4"] : [], failureReason: nil)
    }

    func download(
        _ url: String, from offset: Int64, head: (DownloadHead) async throws -> Void,
        receive: (ByteBuffer) async throws -> Void
    ) async throws {
        // An MP4's first box, then the URL: bytes the media gate takes for a video, different per task.
        let bytes = Data([0, 0, 0, 0x10] + Array("ftypisom".utf8) + [0, 0, 0, 0]) + Data(url.utf8)
        try await head(DownloadHead(offset: 0, totalLength: Int64(bytes.count)))
        try await receive(ByteBuffer(bytes: bytes))
    }

    var pollCounts: [Int] { lock.withLock { tasks.values.map(\.polls.count) } }

    /// A task created before the run (an earlier apply's), done at `finishesAt`.
    func adopt(_ id: String, finishesAt: Double) {
        lock.withLock { tasks[id] = Task(id: id, shotPrompt: "", finishesAt: finishesAt) }
    }
}

/// A project in a temporary folder, planned, with an engine on a virtual clock over `FakeKling`.
final class VirtualRun {
    let folder: URL
    let project: Project
    var plan: Plan
    var manifest: Manifest
    let paths: ProjectPaths
    let clock = VirtualClock()
    let api: FakeKling
    var options = ExecutionOptions()
    let events = EventLog()

    init(_ yaml: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kling-virtual-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("film.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let loaded = ProjectLoader().load(path: file.path)
        guard let project = loaded.project else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(loaded.diagnostics)"])
        }
        self.project = project
        paths = ProjectPaths(projectFile: file.path, output: "renders", simulated: false)
        plan = try Planner().plan(project, manifest: nil, paths: paths)
        manifest = Manifest(project: project.name, endpoint: "fake", simulated: false)
        api = FakeKling(clock: clock)
        options.timeScale = 1
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// Plans again against `manifest` (set it first).
    func replan() throws {
        plan = try Planner().plan(project, manifest: manifest, paths: paths)
    }

    func run(random: Double = 0.5) async -> ApplyReport {
        await engine(random: random).run()
    }

    func engine(random: Double = 0.5) -> Engine {
        let events = self.events
        return Engine(
            project: project, plan: plan, paths: paths,
            manifest: manifest, api: api,
            options: options, clock: clock, random: { random }, events: { events.append($0) })
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ExecutionEvent] = []
    func append(_ event: ExecutionEvent) { lock.withLock { list.append(event) } }
    var all: [ExecutionEvent] { lock.withLock { list } }
}
