import Foundation
import KlingTestSupport
import Testing

@Suite("kling-render simulator")
struct SimulatorCommandTests {
    @Test("--port 0 says where it listens at once, answers the quick-start curl, and stops on SIGTERM")
    func startAnswerStop() async throws {
        try await offPool { try Self.startAnswerStopBlocking() }
    }

    /// Blocking reads and waits: on a thread of its own (`offPool`).
    private static func startAnswerStopBlocking() throws {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["simulator", "--port", "0", "--time-scale", "1000", "--no-ffmpeg"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let started = Date()
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var text = ""
        while !text.contains("\n"), Date().timeIntervalSince(started) < 10 {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let first = try #require(text.split(separator: "\n").first.map(String.init))
        #expect(first.hasPrefix("listening on http://127.0.0.1:"))
        let base = String(first.dropFirst("listening on ".count))

        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = [
            "curl", "-s", "-X", "POST", base + "/api/generate", "-H", "Authorization: Bearer sim-demo-key",
            "-H", "Content-Type: application/json",
            "-d",
            #"{"type":"pro-text-to-video","prompt":"A golden eagle soaring through clouds at sunrise","duration":5,"aspect_ratio":"16:9","sound":true}"#,
        ]
        let answer = Pipe()
        curl.standardOutput = answer
        try curl.run()
        curl.waitUntilExit()
        let body =
            try JSONSerialization.jsonObject(with: answer.fileHandleForReading.readDataToEndOfFile()) as? [String: Any]
        let data = body?["data"] as? [String: Any]
        #expect(body?["code"] as? Int == 200 && body?["message"] as? String == "success")
        #expect((data?["task_id"] as? String)?.hasPrefix("n75") == true)
        #expect(data?["consumed_credits"] as? Int == 400)

        // A second simulator on the same port says so, in one line.
        let port = String(base.split(separator: ":").last ?? "")
        let busy = try CLI.run(["simulator", "--port", port])
        #expect(busy.status == 1)
        #expect(busy.stderr.contains("the address is in use; pick another --port"), "\(busy.stderr)")

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "stops cleanly on SIGTERM rather than dying of it")
    }

    @Test("a malformed --fault or --key is a usage error that names the fix")
    func badOptions() async throws {
        let fault = try await CLI.run(["simulator", "--fault", "explode=0.5"])
        #expect(fault.status == 2)
        #expect(fault.stderr.contains("500, gateway, drop, lost, slow, fail, ratelimit, expire, empty"))
        let key = try await CLI.run(["simulator", "--key", "nocredits"])
        #expect(key.status == 2 && key.stderr.contains("KEY=CREDITS"))
    }
}
