import AsyncHTTPClient
import Foundation
import KlingAPI
import KlingTestSupport
import NIOFoundationCompat
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `kling-render import`: an uncertain shot adopts the task found in the dashboard (`/_sim/tasks`),
/// and nothing is submitted again.
@Suite("import: an uncertain shot adopts its task from the dashboard")
struct ImportTests {
    static let film = """
        version: 1
        shots:
          harbour:
            type: std-text-to-video
            prompt: A harbour at dawn
          rain:
            type: o3-std-video-edit
            prompt: Add rain
            video: ${shots.harbour.video}
        """

    /// The simulator's dashboard: task id → prompt.
    func dashboard(_ r: Rehearsal) async throws -> [(id: String, prompt: String)] {
        let request = HTTPClientRequest(url: r.simulator.baseURL + "/_sim/tasks")
        let response = try await KlingClient.sharedHTTPClient.execute(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tasks = try #require(object["tasks"] as? [[String: Any]])
        return tasks.compactMap { task in
            guard let id = task["task_id"] as? String, let request = task["request"] as? [String: Any],
                let prompt = request["prompt"] as? String
            else { return nil }
            return (id, prompt)
        }
    }

    func importTask(_ r: Rehearsal, _ id: String, _ task: String, _ extra: [String] = []) async throws -> CLI.Result {
        try await r.run(
            [
                "import", r.file, id, task, "--endpoint", r.simulator.baseURL, "--time-scale",
                String(Rehearsal.timeScale),
            ]
                + extra)
    }

    @Test("kill -9 between the request and its answer, then import the task: rendered, no new task")
    func afterKillNine() async throws {
        // Every answer comes three seconds late: the process is killed while the first one is on its way.
        let r = try await Rehearsal(Self.film) {
            $0.faults = [.slow: 1]
            $0.slowDelay = 3 * Rehearsal.timeScale
        }
        defer { Task { await r.stop() } }
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["apply", r.file, "--yes"] + r.arguments
        process.currentDirectoryURL = r.scratch.url
        process.environment = ProcessInfo.processInfo.environment.merging(["KLING_API_KEY": r.key]) { _, b in b }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Killed once the task exists and its answer is still on its way. The watch runs on a thread
        // of its own, so that a busy test pool cannot make it miss the three seconds.
        let tasksPage = URL(string: r.simulator.baseURL + "/_sim/tasks")!
        _ = await eventually(within: .seconds(20), every: .milliseconds(5)) {
            guard process.isRunning else { return true }
            let text = (try? String(contentsOf: tasksPage, encoding: .utf8)) ?? ""
            return text.contains("A harbour at dawn") && r.shots["harbour"]?["status"] as? String == "submitting"
        } then: {
            kill(process.processIdentifier, SIGKILL)
        }
        await process.exited()
        let tasks = try await dashboard(r)
        #expect(r.shots["harbour"]?["status"] as? String == "submitting")
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("uncertain"))

        let task = try #require(tasks.first { $0.prompt == "A harbour at dawn" }?.id)
        let result = try await importTask(r, "harbour", task)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(r.shots["harbour"]?["status"] as? String == "succeeded")
        #expect(r.shots["harbour"]?["task_id"] as? String == task)
        #expect(await r.stats().tasksCreated == 1, "nothing was submitted again")
        #expect(try r.verifiedFiles() == 1)
    }

    @Test("a lost answer, then import: the shot renders and what uses it follows with the next apply")
    func afterLostAnswer() async throws {
        let r = try await Rehearsal(Self.film) { $0.faults = [.lost: 1] }
        defer { Task { await r.stop() } }
        let first = try await r.apply()
        #expect(first.status == 1)
        #expect(r.shots["harbour"]?["status"] as? String == "uncertain")
        let task = try #require(try await dashboard(r).first?.id)
        let result = try await importTask(r, "harbour", task)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(await r.stats().tasksCreated == 1)
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("harbour") && plan.stdout.contains("unchanged"))
    }

    @Test("a task of another shot is refused, naming the difference; --force adopts it")
    func mismatch() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let harbour = try #require(r.shots["harbour"]?["task_id"] as? String)
        let refused = try await importTask(r, "rain", harbour)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is not a render of rain"), "\(refused.stderr)")
        #expect(refused.stderr.contains("type `std-text-to-video`, not `o3-std-video-edit`"))
        let replace = try await importTask(r, "rain", harbour, ["--force"])
        #expect(replace.status == 1, "rain has a finished render: replacing it needs --yes")
        #expect(replace.stderr.contains("pass --yes"))
        let forced = try await importTask(r, "rain", harbour, ["--force", "--yes"])
        #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
        #expect(r.shots["rain"]?["task_id"] as? String == harbour)
        #expect(await r.stats().tasksCreated == 2)
    }

    @Test("an unknown task or a task id that is not one is refused, and nothing changes")
    func unknownTask() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        let before = r.manifestData
        let unknown = try await importTask(r, "harbour", "n75nosuchtask")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("does not know task n75nosuchtask"), "\(unknown.stderr)")
        let bad = try await importTask(r, "harbour", "../../etc")
        #expect(bad.status == 2)
        #expect(r.manifestData == before)
    }

    @Test("a shot with a task in flight (already paid for) is not re-pointed without --yes")
    func runningNeedsYes() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let harbour = try #require(r.shots["harbour"]?["task_id"] as? String)
        let url = r.manifestURL
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var shots = try #require(object["shots"] as? [String: [String: Any]])
        shots["rain"]?["status"] = "running"
        object["shots"] = shots
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        let before = r.manifestData
        let refused = try await importTask(r, "rain", harbour, ["--force"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("a task in flight"), "\(refused.stderr)")
        #expect(r.manifestData == before, "nothing was changed")
    }
}
