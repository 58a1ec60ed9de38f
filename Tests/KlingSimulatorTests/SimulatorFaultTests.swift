import Foundation
import KlingAPI
import KlingSimulator
import Testing

@Suite("Fault injection: seeded, reproducible, and what each does on the wire")
struct SimulatorFaultTests {
    /// The outcome of 30 requests, as a client sees them.
    func schedule(seed: UInt64) async throws -> [String] {
        try await withSimulator({
            $0.seed = seed
            $0.requestsPerSecond = 10_000
            $0.faults = [.internalError: 0.2, .drop: 0.1, .lost: 0.1, .fail: 0.3]
        }) { sim in
            let client = KlingClient(baseURL: sim.baseURL, apiKey: SimulatorConfiguration.demoKey)
            var outcomes: [String] = []
            for _ in 0..<30 {
                do {
                    let task = try await client.generate(body: Data(quickStart.utf8))
                    var report = try await client.status(taskID: task.taskID)
                    while report.phase == .running { report = try await client.status(taskID: task.taskID) }
                    outcomes.append("\(task.taskID):\(report.phase)")
                } catch {
                    outcomes.append("\(error)")
                }
            }
            return outcomes
        }
    }

    @Test("the same seed repeats the same schedule exactly; another seed does not")
    func reproducible() async throws {
        let a = try await schedule(seed: 42)
        let b = try await schedule(seed: 42)
        let c = try await schedule(seed: 43)
        #expect(a == b)
        #expect(a != c)
        #expect(a.contains { $0.hasSuffix(":failed") } && a.contains { $0.hasSuffix(":succeeded") })
        #expect(a.contains { $0.contains("500") })
    }

    @Test("drop: no answer, no task; lost: no answer, a task created and charged")
    func dropAndLost() async throws {
        for (fault, created) in [(SimulatorFault.drop, 0), (.lost, 1)] {
            try await withSimulator({ $0.faults = [fault: 1] }) { sim in
                let client = KlingClient(baseURL: sim.baseURL, apiKey: SimulatorConfiguration.demoKey)
                do throws(KlingAPIError) {
                    _ = try await client.generate(body: Data(quickStart.utf8))
                    Issue.record("\(fault): an answer came")
                } catch {
                    guard case .answerLost = error else {
                        Issue.record("\(fault): \(error)")
                        return
                    }
                    #expect(!error.isSafeToResubmit)
                }
                let stats = await sim.stats()
                #expect(stats.tasksCreated == created, "\(fault)")
                #expect(stats.faults[fault.rawValue] == 1)
            }
        }
    }

    @Test("fail: the task ends FAILED with an error message; its credits were charged")
    func failedTask() async throws {
        try await withSimulator({ $0.faults = [.fail: 1] }) { sim in
            let created = try await send(sim, .POST, "/api/generate", json: quickStart)
            let id = try #require(created.data["task_id"] as? String)
            let done = try await waitForTask(sim, id)
            #expect(done.data["status"] as? String == "FAILED")
            #expect((done.data["error_message"] as? String)?.isEmpty == false)
            #expect((done.data["response"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("ratelimit: a burst of 429s with Retry-After, then service again")
    func rateLimitBurst() async throws {
        try await withSimulator({ $0.faults = [.ratelimit: 1] }) { sim in
            let answer = try await send(sim, .POST, "/api/generate", json: quickStart)
            #expect(answer.status == 429 && answer.headers.first(name: "Retry-After") == "1")
            #expect(await sim.stats().tasksCreated == 0)
        }
    }

    @Test("slow: the answer comes, late")
    func slowAnswer() async throws {
        try await withSimulator({
            $0.faults = [.slow: 1]
            $0.slowDelay = 0.3
            $0.timeScale = 1
        }) { sim in
            let start = ContinuousClock.now
            let answer = try await send(sim, .POST, "/api/generate", json: quickStart)
            #expect(answer.status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(250))
        }
    }

    @Test("expire: the video URL answers 404 URL_EXPIRED once its time has passed")
    func expiringURL() async throws {
        try await withSimulator({
            $0.faults = [.expire: 1]
            $0.expireAfter = 60
        }) { sim in
            let created = try await send(sim, .POST, "/api/generate", json: quickStart)
            let id = try #require(created.data["task_id"] as? String)
            let done = try await waitForTask(sim, id)
            let url = try #require((done.data["response"] as? [String])?.first)
            var status = 200
            for _ in 0..<200 where status == 200 {
                status = try await send(sim, .GET, URL(string: url)!.path, key: nil).status
                if status == 200 { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(status == 404)
            let answer = try await send(sim, .GET, URL(string: url)!.path, key: nil)
            #expect(answer.json["error"] as? String == "URL_EXPIRED")
        }
    }
}

@Suite("The simulator survives what a careless or hostile client sends")
struct SimulatorRobustnessTests {
    @Test(
        "bad bodies get a JSON 400",
        arguments: ["{not json", "[1,2]", "\"text\"", "", "null"])
    func badBodies(_ body: String) async throws {
        try await withSimulator { sim in
            let answer = try await send(sim, .POST, "/api/generate", body: Data(body.utf8))
            #expect(answer.status == 400)
            #expect(answer.json["error"] as? String != nil)
        }
    }

    @Test("a body over 1 MiB gets 413, unknown paths 404 and wrong methods 405, all as JSON")
    func oversizedAndUnknown() async throws {
        try await withSimulator { sim in
            let big = Data(repeating: UInt8(ascii: "a"), count: (1 << 20) + 10)
            let large = try await send(sim, .POST, "/api/generate", body: big)
            #expect(
                large.status == 413 && large.json["error"] as? String == "PAYLOAD_TOO_LARGE",
                "\(String(decoding: large.body, as: UTF8.self))")
            let unknown = try await send(sim, .GET, "/api/nothing")
            #expect(unknown.status == 404 && unknown.json["error"] as? String == "NOT_FOUND")
            let method = try await send(sim, .DELETE, "/api/generate")
            #expect([404, 405].contains(method.status) && method.json["error"] as? String != nil)
            let missing = try await send(sim, .GET, "/api/status")
            #expect(missing.status == 404)
            // Still serving after all that.
            #expect(try await send(sim, .POST, "/api/generate", json: quickStart).status == 200)
        }
    }

    @Test("100 concurrent clients are all served, and every task is counted once")
    func concurrentClients() async throws {
        try await withSimulator({
            $0.requestsPerSecond = 1000
            $0.maxTasksInFlight = 1000
        }) { sim in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await send(sim, .POST, "/api/generate", json: quickStart).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.count == 100 && statuses.allSatisfy { $0 == 200 })
            let stats = await sim.stats()
            #expect(stats.tasksCreated == 100 && stats.creditsCharged == 40_000)
            #expect(stats.requests["POST /api/generate"] == 100)
        }
    }

    @Test("stats over HTTP, and reset")
    func statsAndReset() async throws {
        try await withSimulator { sim in
            _ = try await send(sim, .POST, "/api/generate", json: quickStart)
            let stats = try await send(sim, .GET, "/_sim/stats", key: nil)
            #expect(stats.json["tasks_created"] as? Int == 1)
            #expect(stats.json["credits_charged"] as? Int == 400)
            #expect((stats.json["requests"] as? [String: Int])?["POST /api/generate"] == 1)
            #expect(stats.json["faults"] is [String: Any])
            _ = try await send(sim, .POST, "/_sim/reset", key: nil)
            #expect(await sim.stats().tasksCreated == 0)
        }
    }

    @Test("a web page elsewhere cannot reset or advance the simulator: /_sim/ controls answer loopback origins only")
    func foreignOrigin() async throws {
        try await withSimulator { sim in
            _ = try await send(sim, .POST, "/api/generate", json: quickStart)
            for origin in ["https://evil.example", "null", "http://127.0.0.1.evil.example"] {
                for path in ["/_sim/reset", "/_sim/advance?seconds=1000"] {
                    let refused = try await send(sim, .POST, path, key: nil, headers: [("Origin", origin)])
                    #expect(refused.status == 403, "\(origin) \(path)")
                }
            }
            #expect(await sim.stats().tasksCreated == 1, "nothing was reset")
            let local = try await send(sim, .POST, "/_sim/reset", key: nil, headers: [("Origin", "http://127.0.0.1:8080")])
            #expect(local.status == 200)
            #expect(await sim.stats().tasksCreated == 0)
        }
    }
}
