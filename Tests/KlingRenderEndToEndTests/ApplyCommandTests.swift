import Foundation
import KlingSimulator
import KlingTestSupport
import Testing

@Suite("kling-render apply against the simulator over loopback")
struct ApplyCommandTests {
    @Test(
        "every example renders end to end; a second apply sends no request and changes no byte",
        arguments: PlanCommandTests.examples)
    func renderExample(_ name: String) async throws {
        let r = try await Rehearsal(example: name)
        defer { Task { await r.stop() } }
        let first = try await r.apply()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("Apply complete"))
        let stats = await r.stats()
        let plan = try await r.run(["plan", "--json", r.file])
        let planned = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
        #expect(stats.tasksCreated == r.shots.count, "one task per shot")
        #expect(planned?["total_credits"] as? Int == 0, "nothing left to do")
        #expect(try r.verifiedFiles() == r.shots.count)
        #expect(
            r.shots.values.allSatisfy { $0["status"] as? String == "succeeded" && ($0["task_id"] as? String) != nil })
        let manifest = r.manifestData
        #expect(try schemaAccepts(r.manifestURL), "the manifest follows schema/manifest.schema.json")
        if name == "eagle" {
            // The film: 4 + 3 + 4 + 3.5 + 3 s of trims less a 0.5 s crossfade and a 1 s fade.
            let streams = try await CutCommandTests.streams(r.scratch.path("renders/eagle/eagle.mp4"))
            let duration: String? = streams["video"]?["duration"] as? String
            let seconds = try #require(duration.flatMap { Double($0) })
            #expect(abs(seconds - 16) <= 1.0 / 24, "the film is \(seconds) s")
            #expect(streams["audio"] != nil)
        }

        let second = try await r.apply()
        #expect(second.status == 0)
        #expect(second.stdout.contains("Nothing to do"))
        let quiet = try await r.apply(["--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(quiet.stdout.utf8)) as? [String: Any]
        #expect(summary?["succeeded"] as? Bool == true)
        #expect((summary?["shots"] as? [[String: Any]])?.allSatisfy { $0["outcome"] as? String == "unchanged" } == true)
        #expect(await r.stats().requests == stats.requests, "a no-op apply makes no request")
        #expect(r.manifestData == manifest, "the manifest is byte for byte the same")
    }

    @Test("editing one shot re-renders it and its dependents only, and keeps the other files")
    func editOneShot() async throws {
        let r = try await Rehearsal(example: "eagle")
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let before = r.shots
        let tasks = await r.stats().tasksCreated
        try r.edit(
            "Change the background to a snowy mountain landscape",
            with: "Change the background to a snowy alpine valley")
        let result = try await r.apply()
        #expect(result.status == 0, "\(result.stdout)")
        #expect(await r.stats().tasksCreated == tasks + 2, "snow and snow-night only")
        let after = r.shots
        for id in ["sunrise", "portrait", "city", "credits-roll"] {
            #expect(after[id]?["task_id"] as? String == before[id]?["task_id"] as? String, "\(id) untouched")
        }
        for id in ["snow", "snow-night"] {
            #expect(after[id]?["task_id"] as? String != before[id]?["task_id"] as? String, "\(id) rendered again")
        }
        // snow-night's request names snow's new video.
        let snowURL = (after["snow"]?["urls"] as? [String])?.first
        #expect((after["snow-night"]?["request"] as? [String: Any])?["video"] as? String == snowURL)
        #expect(try r.verifiedFiles() == 8, "six shots, sunrise in three takes")
    }

    static let chain = """
        version: 1
        shots:
          base:
            type: std-text-to-video
            prompt: A lighthouse at night FAILME
          edit:
            type: o3-std-video-edit
            prompt: Add a storm
            video: ${shots.base.video}
          tail:
            type: std-text-to-video
            prompt: Seagulls at dawn
            after: [edit]
          other:
            type: o3-std-text-to-video
            prompt: A quiet harbour
        """

    @Test("a FAILED shot blocks its dependents only; independent shots render; exit 1 with reasons")
    func failedBlocksDependents() async throws {
        let r = try await Rehearsal(Self.chain) { $0.failPrompts = ["FAILME"] }
        defer { Task { await r.stop() } }
        let result = try await r.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("failed     base"))
        #expect(result.stdout.contains("blocked    edit: waits on base"))
        #expect(result.stdout.contains("blocked    tail: waits on base"))
        #expect(r.shots["other"]?["status"] as? String == "succeeded")
        #expect(r.shots["base"]?["status"] as? String == "failed")
        #expect(r.shots["edit"] == nil && r.shots["tail"] == nil, "blocked shots were never submitted")
        #expect(await r.stats().tasksCreated == 2)
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("the last render failed"))
    }

    @Test("--fail-fast stops submitting at the first failure")
    func failFast() async throws {
        let r = try await Rehearsal(Self.chain.replacingOccurrences(of: "  other:", with: "  zz:")) {
            $0.failPrompts = ["FAILME"]
        }
        defer { Task { await r.stop() } }
        let result = try await r.apply(["--fail-fast", "--parallelism", "1"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("--fail-fast"))
        #expect(await r.stats().tasksCreated == 1, "nothing submitted after base failed")
    }

    static let pair = """
        version: 1
        shots:
          one:
            type: pro-text-to-video
            prompt: A red fox in the snow
          two:
            type: o3-pro-video-edit
            prompt: Make it night
            video: ${shots.one.video}
        """

    @Test("500s, gateway pages, 429 bursts and slow answers: retried until every shot renders, each submitted once")
    func retriedFaults() async throws {
        for fault in [SimulatorFault.internalError, .gateway, .ratelimit, .slow] {
            let r = try await Rehearsal(Self.pair) {
                $0.faults = [fault: 0.5]
                $0.seed = 7
                $0.slowDelay = 0.2
            }
            let result = try await r.apply()
            #expect(result.status == 0, "\(fault): \(result.stdout)")
            let stats = await r.stats()
            #expect(stats.tasksCreated == 2, "\(fault)")
            #expect((stats.faults[fault.rawValue] ?? 0) > 0, "\(fault) struck")
            #expect(try r.verifiedFiles() == 2)
            await r.stop()
        }
    }

    @Test("drop and lost: the shot is uncertain, never submitted again, until --replace")
    func uncertainAnswers() async throws {
        for (fault, created) in [(SimulatorFault.drop, 0), (.lost, 1)] {
            let r = try await Rehearsal(Self.pair) { $0.faults = [fault: 1] }
            let result = try await r.apply()
            #expect(result.status == 1)
            #expect(result.stdout.contains("uncertain  one"), "\(result.stdout)")
            #expect(result.stdout.contains("--replace one"))
            #expect(r.shots["one"]?["status"] as? String == "uncertain")
            #expect(r.shots["two"] == nil)
            let posts = await r.stats().requests["POST /api/generate"]
            #expect(posts == 1, "\(fault): the POST is not retried once it may have arrived")
            #expect(await r.stats().tasksCreated == created)

            let again = try await r.apply()
            #expect(again.status == 1)
            #expect(await r.stats().requests["POST /api/generate"] == posts, "an uncertain shot is not resubmitted")
            await r.stop()
        }
    }

    @Test("--replace submits an uncertain shot again and renders what waits on it")
    func replaceUncertain() async throws {
        let r = try await Rehearsal(Self.pair) { $0.faults = [.lost: 1] }
        #expect(try await r.apply().status == 1)
        await r.stop()
        // The same folder against a healthy simulator.
        var configuration = SimulatorConfiguration()
        configuration.timeScale = Rehearsal.timeScale
        configuration.useFFmpeg = false
        let healthy = try SimulatorProcess(configuration)
        defer { healthy.stop() }
        let result = try await CLI.run(
            ["apply", r.file, "--yes", "--replace", "one", "--endpoint", healthy.baseURL, "--time-scale", "3000"],
            in: r.scratch.url, environment: ["KLING_API_KEY": r.key])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(await healthy.stats().tasksCreated == 2)
    }

    @Test("fail: the task's FAILED status and reason are recorded")
    func failedTask() async throws {
        let r = try await Rehearsal(Self.pair) { $0.faults = [.fail: 1] }
        defer { Task { await r.stop() } }
        let result = try await r.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("Render failed (simulated fault)"))
        #expect(r.shots["one"]?["error"] as? String == "Render failed (simulated fault)")
        #expect(r.shots["one"]?["consumed_credits"] as? Int == 400, "the API charged it")
    }

    @Test("empty: a success without a video URL is reported as the API's failure")
    func emptySuccess() async throws {
        let r = try await Rehearsal(Self.pair) { $0.faults = [.empty: 1] }
        defer { Task { await r.stop() } }
        let result = try await r.apply()
        #expect(result.status == 1)
        #expect(
            result.stdout.contains("failed     one: the API reported SUCCESS with no video URL"), "\(result.stdout)")
        #expect(result.stdout.contains("blocked    two"))
        #expect(r.shots["one"]?["status"] as? String == "failed")
    }

    @Test("expire: an expired video URL is reported as such, with the fix")
    func expiredURL() async throws {
        let r = try await Rehearsal(Self.pair) {
            $0.faults = [.expire: 1]
            $0.expireAfter = 0
        }
        defer { Task { await r.stop() } }
        let result = try await r.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("the video URL has expired"), "\(result.stdout)")
        #expect(result.stdout.contains("--replace one"))
        #expect(r.shots["one"]?["status"] as? String == "succeeded", "the render itself succeeded")
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("download"))
    }

    @Test("402 stops submitting and lets running tasks finish")
    func insufficientCredits() async throws {
        let r = try await Rehearsal(
            Self.pair.replacingOccurrences(
                of: "    video: ${shots.one.video}\n", with: "    video: https://example.com/v.mp4\n")
        ) {
            $0.keys = ["small": 500]
        }
        defer { Task { await r.stop() } }
        r.key = "small"
        let result = try await r.apply(["--parallelism", "1"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("402"))
        #expect(r.shots.count == 1 && r.shots["one"]?["status"] as? String == "succeeded")
        #expect(await r.stats().tasksCreated == 1)
    }

    @Test("a wrong key stops at once with a clear message, and no key is ever printed or written")
    func keyHandling() async throws {
        let r = try await Rehearsal(Self.pair) { $0.keys = ["sk-right-8472": 100_000] }
        defer { Task { await r.stop() } }
        r.key = "sk-WRONG-secret-5531"
        let wrong = try await r.apply()
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("401"))
        #expect(await r.stats().tasksCreated == 0)
        r.key = "sk-right-8472"
        let right = try await r.apply(["--json"])
        #expect(right.status == 0)
        for text in [
            wrong.stdout, wrong.stderr, right.stdout, right.stderr,
            String(decoding: r.manifestData ?? Data(), as: UTF8.self),
        ] {
            #expect(!text.contains("sk-WRONG-secret-5531") && !text.contains("sk-right-8472"))
        }
        // --json: one JSON object per line.
        for line in right.stdout.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "\(line)")
        }
    }

    @Test("without a key, without --yes off a terminal, or over the budget, nothing is sent")
    func refusals() async throws {
        let r = try await Rehearsal(Self.pair)
        defer { Task { await r.stop() } }
        r.key = ""
        let noKey = try await r.apply()
        #expect(noKey.status == 1)
        #expect(noKey.stderr.contains("KLING_API_KEY is not set"))
        r.key = SimulatorConfiguration.demoKey
        let noYes = try await r.apply(yes: false)
        #expect(noYes.status == 1)
        #expect(noYes.stderr.contains("--yes"))
        let over = try await r.apply(["--max-credits", "100"])
        #expect(over.status == 1)
        #expect(over.stderr.contains("over --max-credits 100, the cap of one run"), "\(over.stderr)")
        #expect(await r.stats().requests.isEmpty, "not one request")
        #expect(r.manifestData == nil)
    }

    @Test("a stale saved plan names the command that makes it again, with the options it was made with")
    func staleSuggestion() async throws {
        let scratch = try Scratch()
        let yaml =
            "version: 1\nshots:\n  a: {type: std-text-to-video, prompt: one}\n  b: {type: std-text-to-video, prompt: two}\n"
        try scratch.write("film.yaml", yaml)
        let saved = try await CLI.run(
            ["plan", "film.yaml", "--simulate", "--target", "b", "--out", "h.plan"], in: scratch.url)
        #expect(saved.status == 0, "\(saved.stderr)")
        try scratch.write("film.yaml", yaml.replacingOccurrences(of: "two", with: "three"))
        let stale = try await CLI.run(["apply", "h.plan"], in: scratch.url)
        #expect(stale.status == 1)
        #expect(
            stale.stderr.contains(
                "Make a new plan with `kling-render plan ./film.yaml --simulate --target b --out h.plan`"),
            "\(stale.stderr)")
    }

    @Test("a saved plan applies exactly; a stale one is refused")
    func savedPlans() async throws {
        let r = try await Rehearsal(Self.pair)
        defer { Task { await r.stop() } }
        #expect(try await r.run(["plan", r.file, "--target", "one", "--out", "one.plan"]).status == 0)
        let applied = try await r.run(["apply", "one.plan"] + r.arguments)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(r.shots.keys.sorted() == ["one"])
        #expect(try await r.run(["plan", r.file, "--out", "all.plan"]).status == 0)
        try r.edit("Make it night", with: "Make it dusk")
        let stale = try await r.run(["apply", "all.plan"] + r.arguments)
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("changed since this plan was made"))
        #expect(await r.stats().tasksCreated == 1)
    }

    @Test("a second apply on the same manifest is refused, naming the holder")
    func lock() async throws {
        let r = try await Rehearsal(Self.pair)
        defer { Task { await r.stop() } }
        let lockPath = r.manifestURL.path + ".lock"
        try "pid 4242 (kling-render apply film.yaml)\n".write(toFile: lockPath, atomically: false, encoding: .utf8)
        // This test process holds the lock, as another apply would: no waiting for a helper to take it.
        let fd = open(lockPath, O_RDWR)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        defer { close(fd) }
        let result = try await r.apply()
        #expect(result.status == 1)
        #expect(result.stderr.contains("film.manifest.json is locked by pid 4242 (kling-render apply film.yaml)"))
        #expect(result.stderr.contains("--lock-timeout"), "the way to wait is named")
        let waited = try await r.apply(["--lock-timeout", "1s"])
        #expect(waited.status == 1)
        #expect(
            waited.stderr.contains("waiting for the lock: film.manifest.json is locked by pid 4242"), "\(waited.stderr)"
        )
        #expect(waited.stderr.contains("waited 1 s for film.manifest.json"), "\(waited.stderr)")
        #expect(await r.stats().requests.isEmpty)
    }

    @Test("--timeout leaves tasks in flight; the next apply resumes them without submitting again")
    func timeoutAndResume() async throws {
        // Real time: a 5 s pro render takes four minutes, far past the time-out.
        let r = try await Rehearsal(Self.pair) { $0.timeScale = 1 }
        defer { Task { await r.stop() } }
        let first = try await CLI.run(
            ["apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--timeout", "0.3s"],
            in: r.scratch.url, environment: ["KLING_API_KEY": r.key])
        #expect(first.status == 1)
        #expect(first.stdout.contains("in flight"), "\(first.stdout)")
        #expect(first.stdout.contains("to resume"))
        #expect(r.shots["one"]?["status"] as? String == "running")
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("resume"))
        try await r.simulator.advance(seconds: 600)  // the render is done
        let second = try await CLI.run(
            ["apply", r.file, "--yes", "--target", "one", "--endpoint", r.simulator.baseURL],
            in: r.scratch.url, environment: ["KLING_API_KEY": r.key])
        #expect(second.status == 0, "\(second.stdout)")
        #expect(second.stdout.contains("resume"))
        #expect(await r.stats().tasksCreated == 1, "one was resumed, not submitted again")
        #expect(try r.verifiedFiles() == 1)
    }

    @Test("status shows each shot against the file and the disk")
    func status() async throws {
        let r = try await Rehearsal(example: "eagle")
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let clean = try await r.run(["status", r.file, "--detailed-exitcode"])
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("8 of 8 takes rendered, current and on disk"), "\(clean.stdout)")
        try FileManager.default.removeItem(at: r.scratch.url.appendingPathComponent("renders/eagle/city.mp4"))
        try Data("tampered".utf8).write(to: r.scratch.url.appendingPathComponent("renders/eagle/snow.mp4"))
        try r.edit("soaring through clouds", with: "gliding through clouds")
        let dirty = try await r.run(["status", r.file, "--json", "--detailed-exitcode"])
        #expect(dirty.status == 2)
        let json = try JSONSerialization.jsonObject(with: Data(dirty.stdout.utf8)) as? [String: Any]
        // One row per take: each shot's picked one.
        let rows = Dictionary(
            uniqueKeysWithValues: (json?["shots"] as? [[String: Any]] ?? []).filter { $0["picked"] as? Bool == true }
                .map { ($0["id"] as? String ?? "", $0) })
        #expect((rows["city"]?["files"] as? [[String: Any]])?.first?["state"] as? String == "missing")
        #expect((rows["snow"]?["files"] as? [[String: Any]])?.first?["state"] as? String == "modified")
        #expect(rows["sunrise"]?["current"] as? Bool == false)
        #expect(rows["portrait"]?["current"] as? Bool == true)
    }
}

/// Whether Python's jsonschema accepts a manifest against schema/manifest.schema.json.
func schemaAccepts(_ manifest: URL) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let schema = CLI.repository.appendingPathComponent("schema/manifest.schema.json").path
    process.arguments = [
        "python3", CLI.repository.appendingPathComponent("scripts/check-schema.py").path, schema, manifest.path,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let verdicts = try JSONDecoder().decode([String: Bool].self, from: data)
    return verdicts[manifest.path] == true
}
