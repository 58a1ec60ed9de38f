import Foundation
import KlingAPI
import KlingSimulator
import KlingTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `provider: kling` end to end: the built binary against `simulator --api kling` over loopback.
/// Every task is given its `external_task_id` before it is sent, so a lost answer or a kill during
/// the POST is found out on the API: never a shot left for the user, never a task paid twice.
@Suite("provider: kling — never uncertain")
struct OfficialProviderTests {
    static let film = "provider: kling\n" + CrashTests.film

    static func rehearsal(
        _ yaml: String = film, scale: Double = 300,
        _ configure: @escaping (inout SimulatorConfiguration) -> Void = { _ in }
    ) async throws -> Rehearsal {
        try await Rehearsal(yaml) {
            $0.api = .kling
            $0.timeScale = scale
            configure(&$0)
        }
    }

    /// `apply` started in the background against the rehearsal's simulator, its output dropped.
    static func launch(_ r: Rehearsal, scale: Double, extra: [String] = []) throws -> Process {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments =
            ["apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--time-scale", String(scale)] + extra
        process.currentDirectoryURL = r.scratch.url
        process.environment = ProcessInfo.processInfo.environment.merging(r.environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func count(_ r: Rehearsal, _ status: String) -> Int {
        r.shots.values.filter { $0["status"] as? String == status }.count
    }

    @Test(
        "lost answers, dropped connections, 500s and rate limits: each lost answer is looked up by its external_task_id; one task per shot"
    )
    func faults() async throws {
        let r = try await Self.rehearsal {
            $0.faults = [.lost: 0.3, .drop: 0.2, .internalError: 0.1, .ratelimit: 0.05, .slow: 0.05]
            $0.seed = 7
        }
        defer { Task { await r.stop() } }
        let result = try await r.apply(["--time-scale", "300"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let stats = await r.stats()
        #expect(stats.tasksCreated == 8, "exactly one task per shot")
        #expect((stats.faults["lost"] ?? 0) > 0, "answers were lost: \(stats.faults)")
        #expect(Self.count(r, "succeeded") == 8)
        #expect(r.shots.values.allSatisfy { ($0["external_task_id"] as? String)?.hasPrefix("kr-") == true })
        #expect(try r.verifiedFiles() == 8)
        #expect(!result.stdout.contains("uncertain"), "\(result.stdout)")
    }

    @Test(
        "a POST never answered (every connection dropped): left to look up, not uncertain; the next apply finds no task and sends it under the same id"
    )
    func neverAnswered() async throws {
        let r = try await Self.rehearsal(
            "provider: kling\nversion: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: A harbour\n"
        ) { $0.faults = [.drop: 1] }
        defer { Task { await r.stop() } }
        let first = try await r.apply(["--time-scale", "300"])
        #expect(first.status != 0)
        let external = try #require(r.shots["a"]?["external_task_id"] as? String)
        #expect(await r.stats().tasksCreated == 0)
        await r.stop()
        // The same simulator's accounts, without the fault: the next apply looks the id up and sends it.
        let again = try await Self.rehearsal(
            "provider: kling\nversion: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: A harbour\n")
        defer { Task { await again.stop() } }
        // The same API at another address: the manifest says so (a run refuses an endpoint it did not record).
        let recorded = try String(contentsOf: r.manifestURL, encoding: .utf8)
        try recorded.replacingOccurrences(of: r.simulator.baseURL, with: again.simulator.baseURL)
            .write(to: again.manifestURL, atomically: true, encoding: .utf8)
        let plan = try await again.run(["plan", again.file])
        #expect(plan.stdout.contains("looked up by its external_task_id \(external)"), "\(plan.stdout)")
        let second = try await again.apply(["--time-scale", "300"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(await again.stats().tasksCreated == 1)
        #expect(again.shots["a"]?["external_task_id"] as? String == external, "sent again under the same id")
    }

    @Test(
        "killed -9 while the POST waits for its answer (the task was created): the next apply finds it by its external_task_id and adopts it"
    )
    func killedDuringPost() async throws {
        let yaml = "provider: kling\nversion: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: A harbour\n"
        // Every answer comes 5 s late: long enough to kill the run between the task's creation and its answer.
        let r = try await Self.rehearsal(yaml, scale: 1) {
            $0.faults = [.slow: 1]
            $0.slowDelay = 5
        }
        defer { Task { await r.stop() } }
        let process = try Self.launch(r, scale: 300)
        let pid = process.processIdentifier
        // Watched on a thread of its own (a busy test pool would miss the window): the intent is on
        // disk, the POST has gone out and waits for its answer; killed half a second later.
        _ = await eventually(within: .seconds(20), every: .milliseconds(5)) {
            r.shots["a"]?["status"] as? String == "submitting"
        } then: {
            usleep(500_000)
            kill(pid, SIGKILL)
        }
        await process.exited()
        // Created before the kill (as a rule), or not yet: either way one task, found or sent under the same id.
        #expect(await r.stats().tasksCreated <= 1)
        #expect(r.shots["a"]?["status"] as? String == "submitting", "killed before the answer: \(r.shots)")
        let external = try #require(r.shots["a"]?["external_task_id"] as? String)
        try await r.simulator.advance(seconds: 100_000)
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("looked up by its external_task_id \(external)"), "\(plan.stdout)")
        let again = try await r.apply(["--time-scale", "300"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(await r.stats().tasksCreated == 1, "adopted (or sent once), never created twice")
        #expect(r.shots["a"]?["status"] as? String == "succeeded")
        #expect(try r.verifiedFiles() == 1)
    }

    @Test(
        "kill -9 at several moments and then apply, never --replace: every shot succeeded, exactly one task each, none left uncertain"
    )
    func killNine() async throws {
        let scale = 300.0
        let r = try await Self.rehearsal(scale: scale)
        defer { Task { await r.stop() } }
        let moments: [@Sendable ([String: [String: Any]]) -> Bool] = [
            { !$0.isEmpty },
            { $0.values.contains { $0["status"] as? String == "submitting" } },
            { $0.values.filter { $0["status"] as? String == "succeeded" }.count >= 3 },
            { $0.values.filter { $0["status"] as? String == "succeeded" }.count >= 6 },
        ]
        for moment in moments {
            let process = try Self.launch(r, scale: scale, extra: ["--parallelism", "3"])
            let pid = process.processIdentifier
            _ = await eventually(within: .seconds(20), every: .milliseconds(5)) {
                !process.isRunning || moment(r.shots)
            } then: {
                if process.isRunning { kill(pid, SIGKILL) }
            }
            await process.exited()
        }
        let final = try await r.apply(["--time-scale", String(scale)])
        #expect(final.status == 0, "\(final.stdout)\(final.stderr)")
        #expect(await r.stats().tasksCreated == 8, "exactly one task per shot")
        #expect(Self.count(r, "succeeded") == 8)
        #expect(try r.verifiedFiles() == 8)
    }

    @Test(
        "import takes the official API's own task id (with or without its family) or the external_task_id a task was created with"
    )
    func importEitherID() async throws {
        let yaml =
            "provider: kling\nversion: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: A harbour\n  b:\n    type: std-text-to-video\n    prompt: Gulls\n"
        let r = try await Self.rehearsal(yaml)
        defer { Task { await r.stop() } }
        // Two tasks made elsewhere (another machine, the dashboard): one known by its external id.
        let client = KlingOfficialClient(
            baseURL: r.simulator.baseURL,
            credentials: .keys(
                access: SimulatorConfiguration.demoAccessKey, secret: SimulatorConfiguration.demoSecretKey))
        let made = try await client.generate(
            body: Data(#"{"type":"std-text-to-video","prompt":"A harbour","duration":5}"#.utf8), label: nil,
            externalID: "made-elsewhere-1")
        let other = try await client.generate(
            body: Data(#"{"type":"std-text-to-video","prompt":"Gulls","duration":5}"#.utf8), label: nil, externalID: nil
        )
        let raw = try #require(other.taskID.split(separator: ":").last.map(String.init))
        let byExternal = try await r.run([
            "import", r.file, "a", "made-elsewhere-1", "--yes", "--force", "--endpoint", r.simulator.baseURL,
            "--time-scale", "300",
        ])
        #expect(byExternal.status == 0, "\(byExternal.stdout)\(byExternal.stderr)")
        let byRaw = try await r.run([
            "import", r.file, "b", raw, "--yes", "--force", "--endpoint", r.simulator.baseURL, "--time-scale", "300",
        ])
        #expect(byRaw.status == 0, "\(byRaw.stdout)\(byRaw.stderr)")
        #expect(r.shots["a"]?["task_id"] as? String == made.taskID)
        #expect(r.shots["b"]?["task_id"] as? String == other.taskID)
        #expect(await r.stats().tasksCreated == 2, "nothing was created by import")
        #expect(Self.count(r, "succeeded") == 2)
    }

    @Test(
        "every example rehearses with provider: kling, against the official API's simulator",
        arguments: PlanCommandTests.examples)
    func examples(_ name: String) async throws {
        let r = try await Rehearsal(example: name, provider: "kling")
        defer { Task { await r.stop() } }
        let result = try await r.apply()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(await r.stats().tasksCreated == r.shots.count, "one task per shot")
        #expect(r.shots.values.allSatisfy { ($0["task_id"] as? String)?.contains(":") == true })
        #expect(try r.verifiedFiles() == r.shots.count)
    }
}
