import Foundation
import Testing

@Suite("kling-render validate")
struct ValidateCommandTests {
    @Test("the examples are valid: exit 0")
    func examplesValid() async throws {
        let examples = try FileManager.default.contentsOfDirectory(
            atPath: CLI.repository.appendingPathComponent("examples").path
        )
        .filter { $0.hasSuffix(".yaml") }.map { "examples/" + $0 }
        #expect(examples.count >= 3)
        let result = try await CLI.run(["validate"] + examples, in: CLI.repository)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("examples/eagle.yaml: valid, 6 shots"))
    }

    @Test("an invalid file: exit 1, compiler-style diagnostics with the source line and a caret")
    func invalidFile() async throws {
        let scratch = try Scratch()
        try scratch.write(
            "film.yaml", "version: 1\nshots:\n  a:\n    type: pro-text-to-video\n    prompt: hi\n    duration: 20\n")
        let result = try await CLI.run(["validate", "film.yaml"], in: scratch.url)
        #expect(result.status == 1)
        #expect(
            result.stderr
                == """
                film.yaml:6:15: error: `duration` must be from 3 to 15 seconds, not 20
                        duration: 20
                                  ^

                """)
        #expect(!result.stderr.contains("\u{1B}["), "no colour without a terminal")
    }

    @Test("a state address with a password, however spelled or escaped, is refused without its line being shown")
    func statePasswordHidden() async throws {
        let scratch = try Scratch()
        let base = "version: 1\nshots:\n  a: {type: std-text-to-video, prompt: x}\n"
        let addresses = [
            "postgres://alice:hunter2@db.studio/films", "postgres://db.studio/films?user=alice&password=hunter2",
            "postgres://db.studio/films?p%61ssword=hunter2", #""postgres://db.studio/films?password\x3dhunter2""#,
            "postgres://db.studio/films?PASSWORD=hunter2", "postgres://db.studio/films?sslpassword=hunter2",
        ]
        for address in addresses {
            try scratch.write("film.yaml", base + "state: \(address)\n")
            let result = try await CLI.run(["validate", "film.yaml"], in: scratch.url)
            #expect(result.status == 1)
            #expect(result.stderr.contains("film.yaml:4:8: error: `state`"), "\(result.stderr)")
            #expect(!result.stderr.contains("db.studio"), "the line is not shown: \(result.stderr)")
            #expect(!(result.stdout + result.stderr).contains("hunter2"), "\(result.stderr)")
        }
    }

    @Test("--json gives the diagnostics as data")
    func json() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", "version: 1\nshots:\n  a:\n    type: pro-text-to-video\n    promt: hi\n")
        let result = try await CLI.run(["validate", "--json", "film.yaml"], in: scratch.url)
        #expect(result.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        let files = try #require(object["files"] as? [[String: Any]])
        let diagnostic = try #require((files.first?["diagnostics"] as? [[String: Any]])?.first)
        #expect(diagnostic["line"] as? Int == 5)
        #expect(diagnostic["column"] as? Int == 5)
        #expect(diagnostic["note"] as? String == "did you mean `prompt`?")
    }

    @Test("a usage error exits 2")
    func usageError() async throws {
        let result = try await CLI.run(["validate"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("Missing expected argument"))
    }

    @Test("a missing file gets one clear line and exit 1")
    func missingFile() async throws {
        let result = try await CLI.run(["validate", "/nonexistent/film.yaml"])
        #expect(result.status == 1)
        #expect(result.stderr == "/nonexistent/film.yaml: error: no such file\n")
    }
}
