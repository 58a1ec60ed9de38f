import Foundation
import Testing

/// Counts calls in a script (the scripts run on the server's threads).
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    /// The count after this call.
    func next() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}

/// Every reproduction of issue 9 that a server can stage: the built binary against a hostile
/// gateway over loopback.
@Suite("A hostile API: numbers range-checked, answers bounded, the key never echoed")
struct HostileAnswerTests {
    @Test("consumed_credits 1e30 on submission: the task id is recorded, the number dropped, no trap")
    func hugeCredits() async throws {
        let run = try await HostileRun { call, _ in
            call.path == "/api/generate" ? HostileServer.created(credits: "1e30") : .normal
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(run.shot["task_id"] as? String == "n75hostile1")
        #expect(run.shot["status"] as? String == "succeeded")
        #expect(run.shot["consumed_credits"] is NSNull)
        #expect(run.server.count("POST", "/api/generate") == 1)
    }

    @Test("a 100 KB task id in the submission's answer: uncertain, never stored, never resubmitted")
    func hugeTaskIDOnSubmit() async throws {
        let run = try await HostileRun { call, _ in
            call.path == "/api/generate" ? HostileServer.created(String(repeating: "n", count: 100_000)) : .normal
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(run.shot["status"] as? String == "uncertain")
        #expect(run.manifestText.utf8.count < 10_000, "the id is not stored")
        #expect(result.stdout.utf8.count + result.stderr.utf8.count < 10_000, "nor printed")
        #expect(run.server.count("POST", "/api/generate") == 1)
    }

    @Test("a video on a host that refuses connections: the host is named, in the system's words")
    func deadVideoHost() async throws {
        let run = try await HostileRun { call, _ in
            call.path == "/api/status"
                ? HostileServer.succeeded("n75hostile1", urls: ["http://127.0.0.1:1/v.mp4"]) : .normal
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(
            result.stdout.contains("download failed: cannot reach 127.0.0.1:1: Connection refused"), "\(result.stdout)")
        #expect(!result.stdout.contains("could not reach the API"))
        #expect(!result.stdout.contains("errno"))
    }

    @Test("an answer to the submission over 4 MiB: said so, and uncertain (the task may exist)")
    func oversizedSubmissionAnswer() async throws {
        let run = try await HostileRun { call, _ in
            call.path == "/api/generate" ? .raw(200, Data(repeating: 0x20, count: 5 << 20)) : .normal
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("larger than 4 MiB"), "\(result.stdout)")
        #expect(!result.stdout.contains("could not reach the API"))
        #expect(run.shot["status"] as? String == "uncertain")
        #expect(run.server.count("POST", "/api/generate") == 1)
    }

    @Test("Retry-After: 1e300 on submission is capped at 300 s, and said so")
    func hugeRetryAfter() async throws {
        let posts = Counter()
        let run = try await HostileRun { call, _ in
            guard call.path == "/api/generate", posts.next() == 1 else { return .normal }
            return HostileServer.json(
                429, #"{"code":429,"error":"RATE_LIMITED","message":"slow down"}"#, headers: ["Retry-After": "1e300"])
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("waiting 300 s at most"))
        #expect(run.server.count("POST", "/api/generate") == 2)
    }

    @Test("Retry-After of 31 years on every status request: --timeout still ends the run, the task in flight")
    func statusRetryAfterHonoursTimeout() async throws {
        let run = try await HostileRun { call, _ in
            guard call.path == "/api/status" else { return .normal }
            return HostileServer.json(
                429, #"{"code":429,"error":"RATE_LIMITED","message":"later"}"#, headers: ["Retry-After": "999999999"])
        }
        defer { Task { await run.stop() } }
        let started = Date()
        let result = try await run.apply(["--timeout", "2s"])
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(result.status == 1)
        #expect(run.shot["status"] as? String == "running")
        #expect(run.shot["task_id"] as? String == "n75hostile1")
        #expect(result.stdout.contains("in flight"))
    }

    @Test(
        "status answers that never parse end the shot as unknown after 10, in flight, never resubmitted",
        arguments: ["html", "oversized", "500", "400", "foreign-id"])
    func unusableStatusAnswers(_ kind: String) async throws {
        let run = try await HostileRun { call, _ in
            guard call.path == "/api/status" else { return .normal }
            switch kind {
            case "html":
                return .raw(200, Data("<html><body>hello</body></html>".utf8), headers: ["Content-Type": "text/html"])
            case "oversized": return .raw(200, Data(repeating: 0x20, count: 5 << 20))
            case "500": return HostileServer.json(500, #"{"code":500,"error":"INTERNAL_ERROR","message":"boom"}"#)
            case "400": return HostileServer.json(400, #"{"code":400,"error":"BAD","message":"no"}"#)
            default:
                return HostileServer.json(
                    200,
                    #"{"code":200,"data":{"status":"IN_PROGRESS","task_id":"\#(String(repeating: "x", count: 100_000))"}}"#
                )
            }
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("unknown"), "\(result.stdout)")
        #expect(run.server.count("GET", "/api/status") == 10)
        #expect(run.server.count("POST", "/api/generate") == 1)
        #expect(run.shot["status"] as? String == "running", "still in flight: the next apply polls it")
        #expect(result.stdout.utf8.count < 20_000)
    }

    @Test("a video URL of another scheme (http+unix://, file://) is never fetched")
    func foreignScheme() async throws {
        let run = try await HostileRun { call, _ in
            guard call.path == "/api/status" else { return .normal }
            return HostileServer.succeeded("n75hostile1", urls: ["http+unix://%2Fvar%2Frun%2Fdocker.sock/x.mp4"])
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("no http(s) video URL"), "\(result.stdout)")
        #expect(run.shot["status"] as? String == "failed")
        #expect((run.shot["urls"] as? [String])?.isEmpty == true)
    }

    @Test("a download that drips a byte a second is cut off by --timeout; its partial file stays")
    func drippingDownload() async throws {
        let run = try await HostileRun { call, _ in
            call.path.hasPrefix("/videos/") ? .drip(length: 1_000, interval: .seconds(1)) : .normal
        }
        defer { Task { await run.stop() } }
        let started = Date()
        // Long enough for the render to be seen done on a loaded machine (a CI run saw the POST
        // alone take 8 s while ffmpeg and Chromium tests ran beside it); the drip lasts 1,000 s.
        let result = try await run.apply(["--timeout", "30s"])
        #expect(Date().timeIntervalSince(started) < 120)
        #expect(result.status == 1)
        #expect(result.stdout.contains("--timeout reached"), "\(result.stdout)")
        #expect(run.shot["status"] as? String == "succeeded", "rendered and paid: the next apply downloads it")
        let plan = try await run.run(["plan", "film.yaml"])
        #expect(plan.stdout.contains("download"))
    }

    @Test("the key in a 400 message or a FAILED task's error is redacted from screen and manifest")
    func keyInMessages() async throws {
        for (path, answer) in [
            ("/api/generate", #"{"code":400,"error":"INVALID_PROMPT","message":"bad key hostile-test-key-7f3a9c"}"#),
            (
                "/api/status",
                #"{"code":200,"data":{"status":"FAILED","error_message":"Bearer hostile-test-key-7f3a9c refused"}}"#
            ),
        ] {
            let run = try await HostileRun { call, _ in
                guard call.path == path else { return .normal }
                return HostileServer.json(path == "/api/generate" ? 400 : 200, answer)
            }
            let result = try await run.apply()
            await run.stop()
            #expect(result.status == 1)
            #expect(run.shot["status"] as? String == "failed")
            for text in [result.stdout, result.stderr, run.manifestText] {
                #expect(!text.contains(run.key), "the key is never echoed")
            }
            #expect(run.manifestText.contains("[redacted key]"))
        }
    }

    @Test("a key with a newline, NUL or DEL is refused by name before anything is sent")
    func unsendableKey() async throws {
        for key in ["abc\ndefghijk", "abc\u{7F}defghijk", "abc defghijk"] {
            let run = try await HostileRun { _, _ in .normal }
            run.key = key
            let result = try await run.apply()
            await run.stop()
            #expect(result.status == 1)
            #expect(result.stderr.contains("the API key in KLING_API_KEY holds a character"), "\(result.stderr)")
            #expect(!result.stderr.contains("defghijk") && !result.stdout.contains("defghijk"))
            #expect(run.server.calls.isEmpty, "nothing was sent")
            #expect(run.manifestText.isEmpty, "nothing was written")
        }
    }

    @Test("a server's newlines and escape codes reach the screen escaped")
    func escapedServerText() async throws {
        let run = try await HostileRun { call, _ in
            guard call.path == "/api/status" else { return .normal }
            return HostileServer.json(
                200,
                #"{"code":200,"data":{"status":"FAILED","error_message":"\u001b[2J\u001b]0;pwned\u0007\nApply complete: 1 rendered."}}"#
            )
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(!result.stdout.contains("\u{1B}") && !result.stderr.contains("\u{1B}"))
        #expect(!result.stdout.contains("\nApply complete"), "no forged line")
        #expect(result.stdout.contains(#"\u{1B}[2J"#))
    }

    @Test("apply --json | head -c 1: the run goes on, records every shot, and exits 0")
    func closedStdout() async throws {
        let run = try await HostileRun { _, _ in .normal }
        defer { Task { await run.stop() } }
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = [
            "apply", "film.yaml", "--yes", "--json", "--endpoint", run.server.baseURL, "--time-scale", "1000",
        ]
        process.currentDirectoryURL = run.scratch.url
        var env = ProcessInfo.processInfo.environment
        env["KLING_API_KEY"] = run.key
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        _ = try pipe.fileHandleForReading.read(upToCount: 1)
        try pipe.fileHandleForReading.close()
        await process.exited()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(run.shot["status"] as? String == "succeeded")
        #expect((run.shot["files"] as? [Any])?.count == 1)
    }

    @Test("the key as a task id, or in a video URL: never stored, never printed")
    func keyInIDsAndURLs() async throws {
        for (path, answer) in [
            ("/api/generate", HostileServer.created("hostile-test-key-7f3a9c")),
            (
                "/api/status",
                HostileServer.succeeded("n75hostile1", urls: ["http://127.0.0.1:9/hostile-test-key-7f3a9c/v.mp4"])
            ),
        ] {
            let run = try await HostileRun { call, _ in call.path == path ? answer : .normal }
            let result = try await run.apply(["--json"])
            await run.stop()
            #expect(result.status == 1)
            for text in [result.stdout, result.stderr, run.manifestText] {
                #expect(!text.contains(run.key), "\(path): the key is never echoed")
            }
        }
    }

    @Test("10,000 video URLs for one render: not used, not 10,000 files")
    func manyURLs() async throws {
        let run = try await HostileRun { call, base in
            guard call.path == "/api/status" else { return .normal }
            return HostileServer.succeeded("n75hostile1", urls: (0..<10_000).map { "\(base)/videos/\($0).mp4" })
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("10000 video URLs; a render has at most 16"), "\(result.stdout.prefix(2000))")
        #expect(run.server.count("GET", "/videos/") == 0)
    }

    @Test("a status answer that drips a byte a second is cut off by --timeout")
    func drippingStatus() async throws {
        let run = try await HostileRun { call, _ in
            call.path == "/api/status" ? .drip(length: 1_000, interval: .seconds(1)) : .normal
        }
        defer { Task { await run.stop() } }
        let started = Date()
        let result = try await run.apply(["--timeout", "2s"])
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(result.status == 1)
        #expect(run.shot["status"] as? String == "running", "in flight: the next apply polls it")
    }

    @Test("a resume answered from another byte than asked is started over, never appended")
    func lyingContentRange() async throws {
        let run = try await HostileRun { call, _ in
            guard call.path.hasPrefix("/videos/"), call.range != nil else { return .normal }
            return .raw(206, HostileServer.video, headers: ["Content-Range": "bytes 0-39999/40000"])
        }
        defer { Task { await run.stop() } }
        #expect(try await run.apply().status == 0)
        let url = try #require((run.shot["urls"] as? [String])?.first)
        try FileManager.default.removeItem(atPath: run.scratch.path("renders/a.mp4"))
        let partial = run.scratch.path("renders/.a.mp4.\(sha256(Data(url.utf8)).prefix(12)).part")
        try Data(repeating: 0x58, count: 500).write(to: URL(fileURLWithPath: partial))
        let result = try await run.apply()
        #expect(result.status == 0, "\(result.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: run.scratch.path("renders/a.mp4"))) == HostileServer.video)
        #expect(!FileManager.default.fileExists(atPath: partial))
    }
}
