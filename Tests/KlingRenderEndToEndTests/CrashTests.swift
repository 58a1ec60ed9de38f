import Foundation
import KlingSimulator
import KlingTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Crashes and interrupts lose nothing and pay for nothing twice")
struct CrashTests {
    static let film = """
        version: 1
        shots:
          a:
            type: pro-text-to-video
            prompt: A harbour at dawn
          b:
            type: std-text-to-video
            prompt: Gulls over the pier
          c:
            type: o3-std-video-edit
            prompt: Add rain
            video: ${shots.a.video}
          d:
            type: o3-pro-video-edit
            prompt: Make it night
            video: ${shots.c.video}
          e:
            type: o3-std-text-to-video
            prompt: Fishing boats return
          f:
            type: std-image-to-video
            prompt: The lighthouse turns
            image: https://example.com/lighthouse.jpg
          g:
            type: std-text-to-video
            prompt: Credits over the sea
            after: [d, f]
          h:
            type: o3-std-reference-to-video
            prompt: The same harbour in winter
            images: [https://example.com/winter.jpg]
            video: ${shots.b.video}
        """

    /// Starts apply in the background, its output to `output` and `errors` (discarded when nil).
    func launch(
        _ r: Rehearsal, scale: Double, extra: [String] = [], output: Pipe? = nil, errors: Pipe? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments =
            ["apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--time-scale", String(scale)] + extra
        process.currentDirectoryURL = r.scratch.url
        var env = ProcessInfo.processInfo.environment
        env["KLING_API_KEY"] = r.key
        env["NO_COLOR"] = "1"
        process.environment = env
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = errors ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until the manifest satisfies `condition`, the process ends, or 20 s pass. The watch runs
    /// on a thread of its own: a busy test pool must not make it miss the moment.
    /// Waits on a thread of its own until the manifest says `condition`, and then does `then` on
    /// that same thread, at once: a test resumed later (the pool is busy on a loaded machine)
    /// would act on a run that has moved on, or ended.
    func wait(
        _ r: Rehearsal, for process: Process? = nil,
        until condition: @escaping @Sendable ([String: [String: Any]]) -> Bool,
        then action: @escaping @Sendable () -> Void = {}
    ) async throws {
        let reached = await eventually(within: .seconds(20), every: .milliseconds(5)) {
            process?.isRunning == false || condition(r.shots)
        } then: {
            if process?.isRunning != false { action() }
        }
        if !reached { Issue.record("the manifest never reached the awaited state") }
    }

    static func count(_ shots: [String: [String: Any]], _ status: String) -> Int {
        shots.values.filter { $0["status"] as? String == status }.count
    }

    @Test("kill -9 at several moments, then apply: no task created twice, every file present and verified")
    func killNine() async throws {
        let scale = 300.0
        let r = try await Rehearsal(Self.film) { $0.timeScale = scale }
        defer { Task { await r.stop() } }
        let moments: [@Sendable ([String: [String: Any]]) -> Bool] = [
            { !$0.isEmpty },  // the first intent is on disk
            { Self.count($0, "running") >= 2 },
            { Self.count($0, "succeeded") >= 3 },
            { Self.count($0, "succeeded") >= 6 },
        ]
        var uncertain = Set<String>()
        for moment in moments {
            // Killed between the intent and the answer: uncertain, and submitted again only on
            // request, which is what a user who checked their account would do.
            let now = r.shots.filter {
                $0.value["status"] as? String == "uncertain" || $0.value["status"] as? String == "submitting"
            }.map(\.key)
            uncertain.formUnion(now)
            let process = try launch(
                r, scale: scale, extra: ["--parallelism", "3"] + now.sorted().flatMap { ["--replace", $0] })
            let pid = process.processIdentifier
            try await wait(r, for: process, until: moment, then: { kill(pid, SIGKILL) })
            await process.exited()
            // The manifest is whole after every kill.
            let data = try #require(r.manifestData)
            #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "the manifest is valid JSON after kill -9")
        }
        let last = r.shots.filter {
            $0.value["status"] as? String == "submitting" || $0.value["status"] as? String == "uncertain"
        }.map(\.key).sorted()
        uncertain.formUnion(last)
        let final = try await CLI.run(
            ["apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--time-scale", String(scale)]
                + last.flatMap { ["--replace", $0] },
            in: r.scratch.url, environment: ["KLING_API_KEY": r.key])
        #expect(final.status == 0, "\(final.stdout)\(final.stderr)")
        let stats = await r.stats()
        #expect(stats.tasksCreated >= 8)
        #expect(stats.tasksCreated <= 8 + uncertain.count, "no task created twice (\(uncertain.count) uncertain)")
        #expect(Self.count(r.shots, "succeeded") == 8)
        #expect(try r.verifiedFiles() == 8)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: r.scratch.path("renders")).filter {
            $0.hasSuffix(".part") || $0.contains(".tmp")
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test(
        "what a run killed between writing the manifest and renaming it left (.film.manifest.json.tmp-PID-N) is removed by the next lock holder; other names and links are not"
    )
    func manifestLeftovers() async throws {
        let r = try await Rehearsal("version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: A harbour\n")
        defer { Task { await r.stop() } }
        _ = try r.scratch.write(".film.manifest.json.tmp-4242-17", "{\"half\": ")
        _ = try r.scratch.write(".film.manifest.json.tmp-notes", "mine")
        let target = r.scratch.url.appendingPathComponent("keep.txt")
        try "kept".write(to: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: r.scratch.path(".film.manifest.json.tmp-1-2"), withDestinationPath: target.path)
        let result = try await r.apply()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: r.scratch.url.path)
        #expect(!names.contains(".film.manifest.json.tmp-4242-17"))
        #expect(names.contains(".film.manifest.json.tmp-notes") && names.contains(".film.manifest.json.tmp-1-2"))
        #expect(try String(contentsOf: target, encoding: .utf8) == "kept")
    }

    @Test("Ctrl-C stops submitting, keeps the tasks in flight, says how to resume; the next apply resumes")
    func interrupt() async throws {
        let scale = 100.0
        let r = try await Rehearsal(Self.film) { $0.timeScale = scale }
        defer { Task { await r.stop() } }
        let out = Pipe()
        let err = Pipe()
        let process = try launch(r, scale: scale, output: out, errors: err)
        let pid = process.processIdentifier
        try await wait(r, for: process, until: { Self.count($0, "running") >= 2 }, then: { kill(pid, SIGINT) })
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(stdout)\(stderr)")
        #expect(stderr.contains("interrupted"))
        #expect(stdout.contains("Stopped: interrupted"))
        #expect(stdout.contains("to resume"))
        let created = await r.stats().tasksCreated
        #expect(Self.count(r.shots, "running") + Self.count(r.shots, "succeeded") == created)

        let again = try await CLI.run(
            ["apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--time-scale", String(scale)],
            in: r.scratch.url, environment: ["KLING_API_KEY": r.key])
        #expect(again.status == 0, "\(again.stdout)")
        #expect(await r.stats().tasksCreated == 8, "the interrupted tasks were resumed, not submitted again")
        #expect(try r.verifiedFiles() == 8)
    }
}
