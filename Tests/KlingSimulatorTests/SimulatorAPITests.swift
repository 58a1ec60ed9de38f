import Foundation
import KlingAPI
import KlingSimulator
import Testing

@Suite("The simulator answers as the API does")
struct SimulatorAPITests {
    @Test("the quick-start request creates a Kling 3.0 task that costs 400 credits")
    func quickStartRequest() async throws {
        try await withSimulator { sim in
            let answer = try await send(sim, .POST, "/api/generate", json: quickStart)
            #expect(answer.status == 200)
            #expect(answer.json["code"] as? Int == 200)
            #expect(answer.json["message"] as? String == "success")
            let id = try #require(answer.data["task_id"] as? String)
            #expect(id.hasPrefix("n75"))
            #expect(answer.data["status"] as? String == "IN_PROGRESS")
            #expect(answer.data["consumed_credits"] as? Int == 400)
            let stats = await sim.stats()
            #expect(stats.tasksCreated == 1 && stats.creditsCharged == 400)
        }
    }

    @Test(
        "each family's example body gets its id prefix and price",
        arguments: [
            (
                #"{"type":"std-image-to-video","prompt":"The eagle turns","image":"https://example.com/e.jpg","duration":4,"sound":false}"#,
                "n75", 160
            ),
            (
                #"{"type":"o3-pro-reference-to-video","prompt":"Glides between towers","images":["https://example.com/r.jpg"],"duration":5}"#,
                "n71", 360
            ),
            (
                #"{"type":"o3-pro-video-edit","prompt":"Snowy background","video":"https://example.com/v.mp4","keep_original_sound":true}"#,
                "n71", 435
            ),
            (#"{"type":"o3-std-text-to-video","prompt":"Misty lake","duration":10,"aspect_ratio":"9:16"}"#, "n71", 360),
        ])
    func exampleBodies(body: String, prefix: String, credits: Int) async throws {
        try await withSimulator { sim in
            let answer = try await send(sim, .POST, "/api/generate", json: body)
            #expect(answer.status == 200)
            #expect((answer.data["task_id"] as? String)?.hasPrefix(prefix) == true)
            #expect(answer.data["consumed_credits"] as? Int == credits)
        }
    }

    @Test("a task goes IN_PROGRESS → SUCCESS and its video is a real MP4 served with Content-Length and Range")
    func lifecycleAndVideo() async throws {
        try await withSimulator { sim in
            let created = try await send(sim, .POST, "/api/generate", json: quickStart)
            let id = try #require(created.data["task_id"] as? String)
            let first = try await send(sim, .GET, "/api/status?task_id=\(id)")
            #expect(first.data["request"] as? [String: Any] != nil)
            let done = try await waitForTask(sim, id)
            #expect(done.data["status"] as? String == "SUCCESS")
            #expect(done.data["created_at"] as? String != nil)
            #expect(done.data["type"] as? String == "pro-text-to-video")
            #expect(done.data["error_message"] is NSNull)
            let url = try #require((done.data["response"] as? [String])?.first)
            let path = try #require(URL(string: url)?.path)
            let video = try await send(sim, .GET, path, key: nil)
            #expect(video.status == 200)
            #expect(video.headers.first(name: "Content-Length") == String(video.body.count))
            #expect(video.body.count > 1000)
            #expect(video.body[4..<8] == Data("ftyp".utf8), "an MP4 starts with an ftyp box")
            let part = try await send(sim, .GET, path, key: nil, headers: [("Range", "bytes=100-199")])
            #expect(part.status == 206)
            #expect(part.body == video.body[100..<200])
            #expect(part.headers.first(name: "Content-Range") == "bytes 100-199/\(video.body.count)")
            let tail = try await send(
                sim, .GET, path, key: nil, headers: [("Range", "bytes=\(video.body.count - 10)-")])
            #expect(tail.body == video.body.suffix(10))
            let bad = try await send(sim, .GET, path, key: nil, headers: [("Range", "bytes=999999999-")])
            #expect(bad.status == 416)
        }
    }

    @Test(
        "every documented error is reachable, with its status and code",
        arguments: [
            (#"{"type":"pro-text-to-video","prompt":""}"#, 400, "INVALID_PROMPT"),
            (#"{"type":"pro-text-to-video","prompt":5}"#, 400, "INVALID_PROMPT"),
            (#"{"type":"pro-text-to-video","prompt":"x","duration":16}"#, 400, "INVALID_DURATION"),
            (#"{"type":"pro-text-to-video","prompt":"x","duration":"5"}"#, 400, "INVALID_DURATION"),
            (#"{"type":"pro-text-to-vide","prompt":"x"}"#, 400, "INVALID_TYPE"),
            (#"{"prompt":"x"}"#, 400, "INVALID_TYPE"),
            (#"{"type":"pro-image-to-video","prompt":"x"}"#, 400, "MISSING_IMAGE"),
            (#"{"type":"o3-std-video-edit","prompt":"x","video":"ftp://x"}"#, 400, "MISSING_VIDEO"),
        ])
    func validationErrors(body: String, status: Int, code: String) async throws {
        try await withSimulator { sim in
            let answer = try await send(sim, .POST, "/api/generate", json: body)
            #expect(answer.status == status)
            #expect(answer.json["error"] as? String == code)
            #expect(answer.json["code"] as? Int == status)
            #expect(await sim.stats().tasksCreated == 0)
        }
    }

    @Test("a prompt of 2000 characters is taken, 2001 is refused")
    func promptLength() async throws {
        try await withSimulator { sim in
            let ok = try await send(
                sim, .POST, "/api/generate",
                json: #"{"type":"std-text-to-video","prompt":"\#(String(repeating: "a", count: 2000))"}"#)
            #expect(ok.status == 200)
            let long = try await send(
                sim, .POST, "/api/generate",
                json: #"{"type":"std-text-to-video","prompt":"\#(String(repeating: "a", count: 2001))"}"#)
            #expect(long.json["error"] as? String == "INVALID_PROMPT")
        }
    }

    @Test("401 without a key or with a wrong one; 402 when the balance is short, charging nothing")
    func accounts() async throws {
        try await withSimulator({ $0.keys = ["poor": 300, "rich": 1000] }) { sim in
            let none = try await send(sim, .POST, "/api/generate", json: quickStart, key: nil)
            #expect(none.status == 401 && none.json["error"] as? String == "INVALID_API_KEY")
            let wrong = try await send(sim, .GET, "/api/status?task_id=n75x", key: "nope")
            #expect(wrong.status == 401)
            let poor = try await send(sim, .POST, "/api/generate", json: quickStart, key: "poor")
            #expect(poor.status == 402 && poor.json["error"] as? String == "INSUFFICIENT_CREDITS")
            let rich = try await send(sim, .POST, "/api/generate", json: quickStart, key: "rich")
            #expect(rich.status == 200)
            let again = try await send(sim, .POST, "/api/generate", json: quickStart, key: "rich")
            #expect(again.status == 200, "credits are deducted at creation: 600 left, 400 needed")
            let third = try await send(sim, .POST, "/api/generate", json: quickStart, key: "rich")
            #expect(third.status == 402, "200 left, 400 needed")
            let stats = await sim.stats()
            #expect(stats.balances["rich"] == 200 && stats.balances["poor"] == 300)
            // A task is private to its key.
            let id = try #require(rich.data["task_id"] as? String)
            let other = try await send(sim, .GET, "/api/status?task_id=\(id)", key: "poor")
            #expect(other.status == 404)
        }
    }

    @Test("429 RATE_LIMITED with Retry-After past the request rate and past the tasks in flight")
    func rateLimits() async throws {
        try await withSimulator({
            $0.requestsPerSecond = 1
            $0.timeScale = 1
        }) { sim in
            // Thirty at once: at most one a second gets through, however long a loaded machine takes
            // to send them (only a machine that spreads them over thirty seconds sees no 429).
            let started = ContinuousClock.now
            let answers = try await withThrowingTaskGroup(of: WireAnswer.self) { group in
                for _ in 0..<30 { group.addTask { try await send(sim, .GET, "/api/status?task_id=n75none") } }
                return try await group.reduce(into: [WireAnswer]()) { $0.append($1) }
            }
            let seconds = Int((ContinuousClock.now - started).components.seconds) + 1
            #expect(answers.filter { $0.status != 429 }.count <= seconds + 1)
            #expect(answers.contains { $0.status == 429 } || seconds >= 30)
            if let limited = answers.first(where: { $0.status == 429 }) {
                #expect(limited.headers.first(name: "Retry-After") != nil)
                #expect(limited.json["error"] as? String == "RATE_LIMITED")
            }
        }
        try await withSimulator({
            $0.maxTasksInFlight = 1
            $0.timeScale = 1
        }) { sim in
            #expect(try await send(sim, .POST, "/api/generate", json: quickStart).status == 200)
            let second = try await send(sim, .POST, "/api/generate", json: quickStart)
            #expect(second.status == 429 && second.headers.first(name: "Retry-After") != nil)
            #expect(await sim.stats().tasksCreated == 1)
        }
    }

    @Test("the client reads every answer of the simulator into the right typed case")
    func clientClassification() async throws {
        try await withSimulator({
            $0.keys = ["k": 500]
            $0.faults = [.internalError: 1]
        }) { sim in
            let client = KlingClient(baseURL: sim.baseURL, apiKey: "k")
            await #expect(
                throws: KlingAPIError.serverError(status: 500, code: "INTERNAL_ERROR", message: "Internal server error")
            ) {
                try await client.generate(body: Data(quickStart.utf8))
            }
            #expect(await sim.stats().tasksCreated == 0)
            let wrong = KlingClient(baseURL: sim.baseURL, apiKey: "secret-wrong-key")
            do throws(KlingAPIError) {
                _ = try await wrong.generate(body: Data(quickStart.utf8))
                Issue.record("a wrong key was accepted")
            } catch {
                guard case .invalidAPIKey = error else {
                    Issue.record("\(error)")
                    return
                }
                #expect(!"\(error)".contains("secret-wrong-key"), "the key never appears in an error")
            }
        }
        try await withSimulator { sim in
            let client = KlingClient(baseURL: sim.baseURL, apiKey: SimulatorConfiguration.demoKey)
            let created = try await client.generate(body: Data(quickStart.utf8))
            #expect(created.taskID.hasPrefix("n75") && created.consumedCredits == 400)
            var report = try await client.status(taskID: created.taskID)
            while report.phase == .running { report = try await client.status(taskID: created.taskID) }
            #expect(report.phase == .succeeded && report.urls.count == 1)
            await #expect(throws: KlingAPIError.taskNotFound(taskID: "n75nosuch")) {
                try await client.status(taskID: "n75nosuch")
            }
            await #expect(
                throws: KlingAPIError.rejected(
                    status: 400, code: "INVALID_DURATION", message: "Duration must be an integer from 3 to 15")
            ) {
                try await client.generate(body: Data(#"{"type":"pro-text-to-video","prompt":"x","duration":99}"#.utf8))
            }
        }
    }

    @Test("the client says a request never left when nothing listens")
    func connectionRefused() async throws {
        let client = KlingClient(baseURL: "http://127.0.0.1:1", apiKey: "k")  // nothing listens on port 1
        do throws(KlingAPIError) {
            _ = try await client.generate(body: Data(quickStart.utf8))
            Issue.record("no error")
        } catch {
            guard case .notSent = error else {
                Issue.record("expected notSent, got \(error)")
                return
            }
            #expect(error.isSafeToResubmit)
        }
    }
}
