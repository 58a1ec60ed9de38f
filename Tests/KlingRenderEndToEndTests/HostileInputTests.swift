import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Odd inputs get a message that says what they are, and nothing traps or hangs.
@Suite("Odd inputs: named for what they are, never a trap or a hang")
struct HostileInputTests {
    static let film = """
        version: 1
        shots:
          a:
            type: std-text-to-video
            prompt: a fox
        """

    @Test("a FIFO or a device as the project file is named as such, and nothing blocks")
    func specialFiles() async throws {
        let scratch = try Scratch()
        #expect(mkfifo(scratch.path("pipe.yaml"), 0o644) == 0)
        let fifo = try await CLI.run(["validate", "pipe.yaml"], in: scratch.url)
        #expect(fifo.status == 1)
        #expect(fifo.stderr.contains("is a FIFO (named pipe), not a project file"), "\(fifo.stderr)")
        let zero = try await CLI.run(["plan", "/dev/zero"], in: scratch.url)
        #expect(zero.status == 1)
        #expect(zero.stderr.contains("is a device, not a project file"), "\(zero.stderr)")
    }

    @Test("a 10,000-character line is echoed in at most a screen's width")
    func longLine() async throws {
        let scratch = try Scratch()
        try scratch.write(
            "film.yaml", "version: 1\nshots:\n  " + String(repeating: "x", count: 10_000) + "\n    type: x\n")
        let result = try await CLI.run(["validate", "film.yaml"], in: scratch.url)
        #expect(result.status == 1)
        let longest = result.stderr.split(separator: "\n").map(\.count).max() ?? 0
        #expect(longest < 200, "the longest line printed has \(longest) characters")
    }

    @Test(
        "a broken manifest names the field or the byte",
        arguments: [
            (#""consumed_credits" : 400"#, #""consumed_credits" : 1e308"#, "shots.a.consumed_credits"),
            (#""bytes" : 40000"#, #""bytes" : 1.5"#, "shots.a.files[0].bytes"),
            (#""estimated_credits" : 300"#, #""estimated_credits" : "300""#, "shots.a.estimated_credits"),
        ])
    func brokenManifest(_ find: String, _ replace: String, _ named: String) async throws {
        let run = try await HostileRun(Self.film) { _, _ in .normal }
        defer { Task { await run.stop() } }
        #expect(try await run.apply().status == 0)
        let url = run.scratch.url.appendingPathComponent("film.manifest.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains(find), "the manifest has \(find)")
        try text.replacingOccurrences(of: find, with: replace).write(to: url, atomically: true, encoding: .utf8)
        let result = try await run.run(["plan", "film.yaml"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(named), "\(result.stderr)")
    }

    @Test("a truncated or deeply nested manifest is refused with where it broke, no crash")
    func malformedManifest() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", Self.film)
        try scratch.write("film.manifest.json", #"{"version": 1, "project": "film", "shots": {"a": {"type": "std"#)
        let truncated = try await CLI.run(["plan", "film.yaml"], in: scratch.url)
        #expect(truncated.status == 1)
        #expect(truncated.stderr.contains("ends at byte 62"), "\(truncated.stderr)")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        try scratch.write(
            "film.manifest.json",
            #"{"version":1,"project":"film","endpoint":"x","simulated":false,"totals":{},"shots":{"a":{"request":{"x":"#
                + deep + "}}}}")
        let nested = try await CLI.run(["status", "film.yaml"], in: scratch.url)
        #expect(nested.status == 1, "\(nested.stderr)")
        #expect(nested.stderr.contains("film.manifest.json"))
        #expect(nested.stderr.contains("around character"), "\(nested.stderr)")
    }

    @Test(
        "--timeout and --time-scale that would trap or hang are usage errors",
        arguments: [
            ["--timeout", "inf"], ["--timeout", "1e16"], ["--timeout", "1e300"], ["--timeout", "nan"],
            ["--timeout", "-5s"], ["--timeout", "31d"], ["--time-scale", "1e308"], ["--time-scale", "0"],
            ["--time-scale", "nan"],
        ])
    func hostileOptions(_ option: [String]) async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", Self.film)
        let result = try await CLI.run(["apply", "film.yaml", "--yes"] + option, in: scratch.url)
        #expect(result.status == 2, "\(option): \(result.stderr)")
        #expect(result.stderr.contains(option[0]))
    }

    @Test(
        "an endpoint that is not http(s) is named as such",
        arguments: ["file:///etc/passwd", "ftp://host/x", "http+unix://%2Ftmp%2Fs"])
    func endpoints(_ endpoint: String) async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", Self.film)
        let result = try await CLI.run(
            ["apply", "film.yaml", "--yes", "--endpoint", endpoint], in: scratch.url,
            environment: ["KLING_API_KEY": "k-123456"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is not an http(s) URL"), "\(result.stderr)")
    }

    @Test("an empty key file is named; a key file others can read is warned about, as ssh does")
    func keyFiles() async throws {
        let run = try await HostileRun(Self.film) { _, _ in .normal }
        defer { Task { await run.stop() } }
        try run.scratch.write("empty.key", "\n")
        let empty = try await run.run(
            ["apply", "film.yaml", "--yes", "--api-key-file", "empty.key"], environment: ["KLING_API_KEY": ""])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("the API key file empty.key is empty"), "\(empty.stderr)")
        #expect(run.server.calls.isEmpty)
        try run.scratch.write("open.key", run.key + "\n")
        #expect(chmod(run.scratch.path("open.key"), 0o644) == 0)
        let open = try await run.run(
            ["apply", "film.yaml", "--yes", "--api-key-file", "open.key"], environment: ["KLING_API_KEY": ""])
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.stderr.contains("can be read by others (mode 644); `chmod 600 open.key`"), "\(open.stderr)")
        #expect(!open.stderr.contains(run.key) && !open.stdout.contains(run.key))
    }

    @Test("an endpoint with a user or password is refused: it would be recorded and printed")
    func endpointCredentials() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", Self.film)
        let result = try await CLI.run(
            ["apply", "film.yaml", "--yes", "--endpoint", "http://user:s3cretpw@127.0.0.1:9"], in: scratch.url,
            environment: ["KLING_API_KEY": "k-123456"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("holds a user name or password"), "\(result.stderr)")
        #expect(!result.stderr.contains("s3cretpw") && !result.stdout.contains("s3cretpw"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("film.manifest.json")))
    }
}
