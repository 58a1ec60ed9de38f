import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import Testing

/// The engine in virtual time: an in-memory API and a clock that moves only when every step
/// sleeps, so schedules, polls, back-offs and time-outs are exact numbers.
@Suite("The engine on a virtual clock")
struct EngineTests {
    /// 200 shots: text renders of 3–15 s, edits of earlier shots (edits of edits too), and `after` edges.
    static func dag(_ count: Int = 200) -> String {
        var yaml = "version: 1\nshots:\n"
        for i in 0..<count {
            yaml += "  s\(i):\n"
            if i < 8 || i % 3 == 0 {
                yaml += "    type: std-text-to-video\n    prompt: shot \(i)\n    duration: \(3 + (i * 7) % 13)\n"
            } else {
                yaml +=
                    "    type: o3-std-video-edit\n    prompt: edit \(i)\n    video: ${shots.s\((i * 17) % i).video}\n"
            }
            if i > 20, i % 5 == 0 { yaml += "    after: [s\((i * 11) % i)]\n" }
        }
        return yaml
    }

    /// How long after submission a render of `expected` seconds (taking exactly that) is seen done.
    static func observed(_ expected: Double) -> Double {
        PollSchedule(expected: expected).pollTimes(untilDone: expected).last ?? 0
    }

    @Test("200 shots at unbounded parallelism finish at exactly the critical path, polls as scheduled")
    func criticalPath() async throws {
        let run = try VirtualRun(Self.dag())
        run.options.parallelism = 200
        let report = await run.run()
        #expect(report.succeeded)
        let graph = ShotGraph(run.project)
        let expected = graph.shots.map { $0.type.expectedRenderSeconds(videoSeconds: $0.seconds) }
        let critical = LongestPath.critical(
            order: graph.order, cost: { Self.observed(expected[$0]) }, dependents: graph.downstream)
        #expect(abs(run.clock.now() - critical) < 1e-6, "makespan \(run.clock.now()), critical path \(critical)")
        let polls = expected.map { PollSchedule(expected: $0).pollTimes(untilDone: $0).count }
        #expect(run.api.pollCounts.sorted() == polls.sorted(), "every task polled exactly as scheduled")
        #expect(run.api.generateTimes.count == 200, "one task per shot")
        #expect(run.clock.awake == 0, "every participant left")
    }

    @Test("at parallelism 4 never more than 4 tasks in flight, and the work still finishes")
    func bounded() async throws {
        let run = try VirtualRun(Self.dag(40))
        run.options.parallelism = 4
        let report = await run.run()
        #expect(report.succeeded)
        #expect(run.api.maxInFlight == 4, "the bound is reached and never passed")
        #expect(run.api.generateTimes.count == 40)
    }

    @Test("back-off after 503s is exact: 0.75, 1.5, 3 s with the jitter fixed at one half")
    func backoff() async throws {
        let run = try VirtualRun("version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: a fox\n")
        run.api.generateScript = { call in
            call <= 3 ? .serverError(status: 503, code: nil, message: "busy") : nil
        }
        let report = await run.run(random: 0.5)
        #expect(report.succeeded)
        #expect(run.api.generateTimes == [0, 0.75, 2.25, 5.25])
    }

    @Test("Retry-After is waited exactly, and a 429 lowers the bound on tasks in flight")
    func retryAfter() async throws {
        let run = try VirtualRun("version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: a fox\n")
        run.api.generateScript = { call in
            call == 1 ? .rateLimited(retryAfter: .seconds(7), message: "slow down") : nil
        }
        let report = await run.run()
        #expect(report.succeeded)
        #expect(run.api.generateTimes == [0, 7])
        #expect(
            run.events.all.contains {
                if case .retrying(_, _, let seconds) = $0.kind as? RenderEvent { seconds == 7 } else { false }
            })
    }

    @Test("--timeout stops polling at exactly its time; the task stays in flight")
    func timeout() async throws {
        let run = try VirtualRun("version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: a fox\n")
        run.api.renderSeconds = { _ in 10_000 }
        run.options.timeout = 600
        let report = await run.run()
        #expect(run.clock.now() == 600)
        #expect(report.shots.first?.outcome == .inFlight(taskID: "n75fake1", .timedOut))
        let polls = try #require(run.api.tasks["n75fake1"]?.polls)
        let schedule = PollSchedule(expected: 145).pollTimes(untilDone: 10_000).filter { $0 < 600 }
        #expect(Array(polls.dropLast()) == schedule, "polled on schedule until the deadline")
        #expect(polls.last == 600, "and once more at the deadline itself")
    }

    @Test("a failed shot blocks what uses its video; the rest renders")
    func blocking() async throws {
        let yaml = """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: a fox
              b:
                type: o3-std-video-edit
                prompt: snow
                video: ${shots.a.video}
              c:
                type: std-text-to-video
                prompt: an owl
            """
        let run = try VirtualRun(yaml)
        // One at a time, so that the first request is `a`'s (the longest path goes first): with
        // two in flight, which POST is the API's first is a race of threads.
        run.options.parallelism = 1
        run.api.generateScript = { call in
            call == 1 ? .rejected(status: 400, code: "INVALID_PROMPT", message: "no foxes") : nil
        }
        let report = await run.run()
        let outcomes = Dictionary(uniqueKeysWithValues: report.shots.map { ($0.id, $0.outcome) })
        #expect(outcomes["a"] == .failed(.rejected(status: 400, code: "INVALID_PROMPT", message: "no foxes")))
        #expect(outcomes["b"] == .blocked(by: "a"))
        #expect(outcomes["c"] == .done)
        #expect(run.api.generateTimes.count == 2)
    }

    @Test("the report is a value: it encodes and decodes to itself")
    func reportCodable() async throws {
        let run = try VirtualRun("version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: a fox\n")
        let report = await run.run()
        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(ApplyReport.self, from: data) == report)
    }

    @Test("a task in flight is polled at once, even when a shot it waits on is uncertain")
    func resumeDoesNotWait() async throws {
        let yaml = """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: a fox
              b:
                type: std-text-to-video
                prompt: an owl
                after: [a]
            """
        let run = try VirtualRun(yaml)
        let fingerprints = Dictionary(uniqueKeysWithValues: run.plan.shots.map { ($0.id, $0.fingerprint) })
        run.manifest.shots["a"] = ManifestShot(
            type: "std-text-to-video", fingerprint: fingerprints["a"]!, request: [:], inputs: [:], status: .uncertain,
            estimatedCredits: 300)
        run.manifest.shots["b"] = ManifestShot(
            type: "std-text-to-video", fingerprint: fingerprints["b"]!, request: [:], inputs: [:], status: .running,
            taskID: "n75earlier", estimatedCredits: 300)
        run.api.adopt("n75earlier", finishesAt: 50)
        try run.replan()
        #expect(run.plan.shots.map(\.action) == [.uncertain, .resume])
        let report = await run.run()
        let outcomes = Dictionary(uniqueKeysWithValues: report.shots.map { ($0.id, $0.outcome) })
        #expect(outcomes["a"] == .uncertain(.recordedUncertain))
        #expect(outcomes["b"] == .done, "the paid task is collected, not blocked")
        #expect(run.api.generateTimes.isEmpty, "nothing submitted")
    }
}
