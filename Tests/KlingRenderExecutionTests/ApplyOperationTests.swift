import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import KlingReview
import KlingSimulator
import Testing

/// What a delegate saw of an apply: the questions asked, the notes, the events, the report.
final class RecordingDelegate: ApplyDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    private var seen: [ExecutionEvent] = []
    let answer: Bool

    init(consents answer: Bool) {
        self.answer = answer
    }

    private func record(_ line: String) { lock.withLock { log.append(line) } }
    var lines: [String] { lock.withLock { log } }
    var events: [ExecutionEvent] { lock.withLock { seen } }

    func show(_ plan: Plan, in workspace: Workspace) { record("show \(plan.totalCredits)") }
    func consent(to plan: Plan) async throws {
        record("asked \(plan.totalCredits)")
        if !answer { throw ApplyFailure.refused(credits: plan.totalCredits) }
    }
    func nothingToDo(_ plan: Plan, workspace: Workspace) { record("nothing to do") }
    func note(_ note: ApplyNote) { record("note \(note)") }
    func willRun(_ plan: Plan) { record("run \(plan.shots.count)") }
    func event(_ event: ExecutionEvent) { lock.withLock { seen.append(event) } }
    func finished(_ report: ApplyReport, plan: Plan, workspace: Workspace) { record("finished \(report.succeeded)") }
    func reviewWritten(_ written: ReviewPage.Written, workspace: Workspace) { record("review \(written.takes)") }
}

/// A project in a temporary folder and a simulator on loopback, applied in this process.
final class ApplyBench: @unchecked Sendable {
    let folder: URL
    let file: String
    let simulator: SimulatorServer.Running

    static let film = """
        version: 1
        name: bench
        shots:
          sunrise:
            type: std-text-to-video
            prompt: a sunrise over the sea
            duration: 5
          city:
            type: std-text-to-video
            prompt: the city wakes
            duration: 5
            sound: false

        """

    init(_ yaml: String = film) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kling-apply-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        file = folder.appendingPathComponent("film.yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.timeScale = 100_000
        configuration.useFFmpeg = false
        simulator = try await SimulatorServer.start(configuration)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func stop() async { await simulator.stop() }

    var access: APIAccess {
        APIAccess(
            client: KlingClient(baseURL: simulator.baseURL, apiKey: SimulatorConfiguration.demoKey),
            label: simulator.baseURL, timeScale: 100_000)
    }

    /// The operation on the project as it is on disk now.
    func apply(
        _ delegate: RecordingDelegate, options: PlanOptions = PlanOptions(), simulated: Bool = false,
        configure: (inout Apply.Request) -> Void = { _ in }
    ) async throws -> ApplyReport? {
        let workspace = try Workspace.open(file, simulated: simulated)
        var request = Apply.Request(workspace: workspace, planOptions: options)
        configure(&request)
        let access = self.access
        var apply = Apply(request, delegate: delegate) { access }
        apply.machine = Machine(ffmpeg: nil, ffprobe: nil, environment: [:])
        return try await apply.run()
    }

    var manifestExists: Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("film.manifest.json").path)
    }
}

@Suite("The apply operation, called in-process against the simulator over loopback")
struct ApplyOperationTests {
    @Test("consent refused: nothing is sent, no manifest is written, the failure says what was asked")
    func refused() async throws {
        let bench = try await ApplyBench()
        defer { Task { await bench.stop() } }
        let delegate = RecordingDelegate(consents: false)
        await #expect(throws: ApplyFailure.self) { try await bench.apply(delegate) }
        #expect(delegate.lines == ["show 500", "asked 500"])
        #expect(await bench.simulator.stats().tasksCreated == 0)
        #expect(!bench.manifestExists)
    }

    @Test("over the budget: refused before consent is asked, nothing sent")
    func overBudget() async throws {
        let bench = try await ApplyBench(
            ApplyBench.film.replacingOccurrences(of: "name: bench", with: "name: bench\nbudget: 400"))
        defer { Task { await bench.stop() } }
        let delegate = RecordingDelegate(consents: true)
        do {
            _ = try await bench.apply(delegate)
            Issue.record("applied over the budget")
        } catch let failure as ApplyFailure {
            if case .overBudget(let plan) = failure {
                #expect(plan.totalCredits == 500 && plan.budget == 400)
            } else {
                Issue.record("\(failure)")
            }
        }
        #expect(delegate.lines == ["show 500"], "never asked")
        #expect(await bench.simulator.stats().tasksCreated == 0)
    }

    @Test("consented: every shot rendered, recorded and reported, the page written; again: nothing to do, nothing sent")
    func rendersThenNothing() async throws {
        let bench = try await ApplyBench()
        defer { Task { await bench.stop() } }
        let delegate = RecordingDelegate(consents: true)
        let report = try #require(try await bench.apply(delegate))
        #expect(report.succeeded)
        #expect(report.shots.map(\.id).sorted() == ["city", "sunrise"])
        #expect(delegate.lines == ["show 500", "asked 500", "run 2", "finished true", "review 2"])
        #expect(
            delegate.events.contains {
                if case .downloaded(shot: "city", _) = $0.kind as? DownloadEvent { true } else { false }
            })
        #expect(await bench.simulator.stats().tasksCreated == 2)
        #expect(bench.manifestExists)
        let again = RecordingDelegate(consents: false)
        #expect(try await bench.apply(again) == nil)
        #expect(again.lines == ["show 0", "nothing to do", "review 2"])
        #expect(await bench.simulator.stats().tasksCreated == 2, "nothing sent twice")
    }

    @Test("a rehearsal names each request's shot and take to its simulator (drawn on the clip); a real run never does")
    func rehearsalLabels() async throws {
        let bench = try await ApplyBench(
            ApplyBench.film.replacingOccurrences(of: "    sound: false", with: "    takes: 2"))
        defer { Task { await bench.stop() } }
        _ = try await bench.apply(
            RecordingDelegate(consents: true), options: PlanOptions(simulated: true), simulated: true)
        let labels = await bench.simulator.dashboard().tasks.compactMap(\.label).sorted()
        #expect(labels == ["city, take 1", "city, take 2", "sunrise, take 1"])
        try FileManager.default.removeItem(at: bench.folder.appendingPathComponent("film.sim.manifest.json"))
        await bench.simulator.reset()
        _ = try await bench.apply(RecordingDelegate(consents: true))
        let tasks = await bench.simulator.dashboard().tasks
        #expect(tasks.count == 3 && tasks.allSatisfy { $0.label == nil })
    }

    @Test("a target renders what it needs only; --yes asks nothing")
    func target() async throws {
        let bench = try await ApplyBench()
        defer { Task { await bench.stop() } }
        let delegate = RecordingDelegate(consents: false)
        let report = try #require(
            try await bench.apply(delegate, options: PlanOptions(targets: ["city"])) { $0.consented = true })
        #expect(report.shots.map(\.id) == ["city"])
        #expect(!delegate.lines.contains { $0.hasPrefix("asked") })
        #expect(await bench.simulator.stats().tasksCreated == 1)
    }

    @Test("the manifest's lock held by another run: refused by a typed failure naming the holder, nothing sent")
    func locked() async throws {
        let bench = try await ApplyBench()
        defer { Task { await bench.stop() } }
        let workspace = try Workspace.open(bench.file, simulated: false)
        try await withManifestLock(workspace.state, command: "apply") { _ in
            do {
                _ = try await bench.apply(RecordingDelegate(consents: true))
                Issue.record("applied under another's lock")
            } catch ApplyFailure.lock(let error) {
                #expect(error.description.contains("nothing was sent"), "\(error)")
            }
        }
        #expect(await bench.simulator.stats().tasksCreated == 0)
        // Released on the way out of the block: the next run takes it.
        #expect(try await bench.apply(RecordingDelegate(consents: true))?.succeeded == true)
    }

    @Test("a cut on a machine without ffmpeg is refused before anything is sent, with the program named")
    func noFFmpeg() async throws {
        let bench = try await ApplyBench(ApplyBench.film + "cut:\n  clips:\n    - shot: sunrise\n")
        defer { Task { await bench.stop() } }
        do {
            _ = try await bench.apply(RecordingDelegate(consents: true))
            Issue.record("applied without ffmpeg")
        } catch ApplyFailure.assets(let problem) {
            #expect(problem == .missing(.ffmpeg, .cut("renders/bench.mp4")))
        }
        #expect(await bench.simulator.stats().tasksCreated == 0)
    }
}

@Suite("One way to write a span of time")
struct TimeSpanTests {
    @Test("seconds, units, decimals; not inf, nan, hex, exponents, signs or zero")
    func spans() {
        #expect(TimeSpan.seconds("90") == 90)
        #expect(TimeSpan.seconds("1.5") == 1.5)
        #expect(TimeSpan.seconds("2m") == 120)
        #expect(TimeSpan.seconds("1.5h") == 5400)
        #expect(TimeSpan.seconds("7d") == 604_800)
        for bad in ["", "s", "inf", "nan", "0x10", "1e3", "-5s", "0", "1..5", "31d"] {
            #expect(TimeSpan.seconds(bad, atMost: TimeSpan.maxWait) == nil, "\(bad)")
        }
        #expect(TimeSpan.wholeSeconds("1.5h") == 5400)
        #expect(TimeSpan.wholeSeconds("0.5s") == nil)
    }

    @Test("a transition takes the same spans: `crossfade 1s` and `fade 0.5`")
    func transitions() {
        let yaml = """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: a
              b:
                type: std-text-to-video
                prompt: b
            cut:
              clips:
                - shot: a
                - shot: b
                  transition: crossfade 1s

            """
        let loaded = ProjectLoader().load(text: yaml, file: "film.yaml")
        #expect(loaded.project?.cut?.clips.last?.transition == .crossfade(1), "\(loaded.diagnostics)")
    }
}

/// An import's delegate: records like an apply's, and answers the question of replacing.
final class RecordingImport: ImportDelegate, @unchecked Sendable {
    let base = RecordingDelegate(consents: false)
    let replaces: Bool
    private let lock = NSLock()
    private var asked: [String] = []

    init(replaces: Bool) { self.replaces = replaces }

    var questions: [String] { lock.withLock { asked } }
    func event(_ event: ExecutionEvent) { base.event(event) }
    func mayReplace(_ what: ImportFailure.Replaced, key: String, taskID: String) throws -> Bool {
        lock.withLock { asked.append("\(key) \(what)") }
        return replaces
    }
}

@Suite("The import operation, called in-process against the simulator over loopback")
struct ImportOperationTests {
    /// A task made on the simulator directly, as someone would in the dashboard.
    func dashboardTask(_ bench: ApplyBench, prompt: String) async throws -> String {
        let request: [String: JSONValue] = [
            "type": .string("std-text-to-video"), "prompt": .string(prompt), "duration": .int(5),
        ]
        let body = try CanonicalJSON.data(request)
        return try await bench.access.client.generate(body: body).taskID
    }

    func adopt(_ bench: ApplyBench, _ key: String, _ task: String, delegate: RecordingImport) async throws
        -> ApplyReport
    {
        let workspace = try Workspace.open(bench.file, simulated: false)
        return try await withManifestLock(workspace.state, command: "import") { writer in
            try await Import(key: key, taskID: task).run(
                in: workspace, api: bench.access, writer: writer, delegate: delegate)
        }
    }

    @Test("a task of another prompt is refused with the difference, typed; nothing is written")
    func otherPrompt() async throws {
        let bench = try await ApplyBench()
        defer { Task { await bench.stop() } }
        let task = try await dashboardTask(bench, prompt: "a cat on a roof")
        do {
            _ = try await adopt(bench, "sunrise", task, delegate: RecordingImport(replaces: true))
            Issue.record("imported a task of another prompt")
        } catch ImportFailure.notThisShot(let differences) {
            #expect(differences == [.prompt(found: "a cat on a roof")])
        }
        #expect(!bench.manifestExists)
    }

    @Test("the shot's own task is adopted: polled, downloaded, recorded, and no task is created")
    func adopts() async throws {
        let bench = try await ApplyBench()
        defer { Task { await bench.stop() } }
        let task = try await dashboardTask(bench, prompt: "a sunrise over the sea")
        let delegate = RecordingImport(replaces: false)
        let report = try await adopt(bench, "sunrise", task, delegate: delegate)
        #expect(report.succeeded && report.shots.map(\.id) == ["sunrise"])
        #expect(await bench.simulator.stats().tasksCreated == 1, "only the dashboard's")
        #expect(delegate.questions.isEmpty, "nothing to replace")
        let manifest = try #require(try Workspace.open(bench.file, simulated: false).manifest)
        #expect(manifest.shots["sunrise"]?.taskID == task && manifest.shots["sunrise"]?.status == .succeeded)

        // A finished render is replaced only with a yes: the delegate says no, nothing changes.
        let other = try await dashboardTask(bench, prompt: "a sunrise over the sea")
        do {
            _ = try await adopt(bench, "sunrise", other, delegate: delegate)
            Issue.record("replaced without a yes")
        } catch ImportFailure.declined {}
        #expect(delegate.questions == ["sunrise finished"])
        #expect(try Workspace.open(bench.file, simulated: false).manifest?.shots["sunrise"]?.taskID == task)
    }

    @Test("a take that is not one of the shot's is refused, naming its takes")
    func noSuchTake() async throws {
        let bench = try await ApplyBench()
        defer { Task { await bench.stop() } }
        do {
            _ = try await adopt(bench, "sunrise.take3", "n75task", delegate: RecordingImport(replaces: true))
            Issue.record("imported into a take that does not exist")
        } catch ImportFailure.noTake(let shot, _, let takes) {
            #expect(shot == "sunrise" && takes == ["sunrise"])
        }
        #expect(await bench.simulator.stats().tasksCreated == 0)
    }
}

@Suite("Takes through the apply operation, in-process")
struct ApplyTakesTests {
    @Test("three takes: three tasks, each take recorded under its key; again: nothing to do")
    func takes() async throws {
        let bench = try await ApplyBench(
            ApplyBench.film.replacingOccurrences(
                of: "    duration: 5\n  city:", with: "    duration: 5\n    takes: 3\n  city:"))
        defer { Task { await bench.stop() } }
        let report = try #require(try await bench.apply(RecordingDelegate(consents: true)))
        #expect(report.succeeded)
        #expect(Set(report.shots.map(\.id)) == ["sunrise", "sunrise.take2", "sunrise.take3", "city"])
        #expect(await bench.simulator.stats().tasksCreated == 4)
        let again = RecordingDelegate(consents: true)
        #expect(try await bench.apply(again) == nil)
        #expect(again.lines.contains("nothing to do") && !again.lines.contains { $0.hasPrefix("asked") })
        #expect(await bench.simulator.stats().tasksCreated == 4)
    }
}
