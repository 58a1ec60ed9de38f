import Foundation
import KlingTestSupport
import Testing

/// Golden outputs are re-recorded only on purpose: `KLING_RECORD=1 swift test`, then review the diff.
enum GoldenFile {
    static let folder = CLI.repository.appendingPathComponent("Tests/Golden")

    static func check(_ actual: String, _ name: String) throws {
        let url = folder.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["KLING_RECORD"] == "1" {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
        }
        let expected = try #require(try? String(contentsOf: url, encoding: .utf8), "no golden file \(name)")
        #expect(actual == expected, "\(name) differs from its golden file")
    }
}

@Suite("kling-render plan and graph")
struct PlanCommandTests {
    static let examples = ["campaign", "eagle", "harbour", "minimal"]

    @Test("plan of every example, for a person and as JSON, matches its golden file", arguments: examples)
    func examplePlans(_ name: String) async throws {
        let human = try await CLI.run(["plan", "examples/\(name).yaml"], in: CLI.repository)
        #expect(human.status == 0, "\(human.stderr)")
        try GoldenFile.check(human.stdout, "plan/\(name).txt")
        let json = try await CLI.run(["plan", "--json", "examples/\(name).yaml"], in: CLI.repository)
        #expect(json.status == 0)
        try GoldenFile.check(json.stdout, "plan/\(name).json")
    }

    @Test("plan --json: total_credits is the sum of the price table over the shots", arguments: examples)
    func jsonTotals(_ name: String) async throws {
        let result = try await CLI.run(["plan", "--json", "examples/\(name).yaml"], in: CLI.repository)
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let shots = try #require(plan["shots"] as? [[String: Any]])
        let total = try #require(plan["total_credits"] as? Int)
        #expect(total == shots.compactMap { $0["credits"] as? Int }.reduce(0, +))
        for shot in shots {
            #expect(shot["id"] is String && shot["type"] is String && shot["action"] as? String == "render")
            #expect(shot["depends_on"] is [Any])
        }
    }

    @Test("the eagle film costs what the price table says, shot by shot")
    func eagleCredits() async throws {
        let result = try await CLI.run(["plan", "--json", "examples/eagle.yaml"], in: CLI.repository)
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let credits = (plan["shots"] as? [[String: Any]])?.compactMap { $0["credits"] as? Int }
        // 5 s pro with sound (three takes), 4 s pro with sound, 5 s O3 pro reference, O3 pro edit,
        // O3 std edit, 5 s std silent
        #expect(credits == [400, 400, 400, 320, 360, 435, 360, 200])
        #expect(plan["total_credits"] as? Int == 2875)
    }

    @Test("--detailed-exitcode: 2 with changes; over the budget: 1 with a clear message")
    func exitCodes() async throws {
        let changes = try await CLI.run(["plan", "--detailed-exitcode", "examples/minimal.yaml"], in: CLI.repository)
        #expect(changes.status == 2)
        let over = try await CLI.run(["plan", "--max-credits", "100", "examples/minimal.yaml"], in: CLI.repository)
        #expect(over.status == 1)
        #expect(over.stderr.contains("this plan costs 300 credits, over --max-credits 100, the cap of one run"))
        // `budget:` caps the project's spend to date plus the plan, and says so.
        let scratch = try Scratch()
        try scratch.write(
            "film.yaml",
            try String(contentsOf: CLI.repository.appendingPathComponent("examples/minimal.yaml"), encoding: .utf8)
                .replacingOccurrences(of: "shots:", with: "budget: 200\nshots:"))
        let budget = try await CLI.run(["plan", "film.yaml"], in: scratch.url)
        #expect(budget.status == 1)
        #expect(
            budget.stderr.contains("spent 0 of 200 credits (`budget:` in film.yaml); this plan costs 300"),
            "\(budget.stderr)")
    }

    @Test("an invalid file is not planned: exit 1, diagnostics, nothing written")
    func invalid() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", "version: 1\nshots:\n  a:\n    type: nope\n    prompt: hi\n")
        let result = try await CLI.run(["plan", "--out", "film.plan", "film.yaml"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("film.yaml:4:11: error: unknown type `nope`"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path) == ["film.yaml"])
    }

    @Test("--target names an unknown shot: a clear error with a suggestion")
    func unknownTarget() async throws {
        let result = try await CLI.run(["plan", "--target", "sunrize", "examples/eagle.yaml"], in: CLI.repository)
        #expect(result.status == 1)
        #expect(result.stderr.contains("no shot `sunrize` in examples/eagle.yaml; did you mean `sunrise`?"))
    }

    @Test("a corrupt manifest is reported, never overwritten")
    func corruptManifest() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", "version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: hi\n")
        try scratch.write("film.manifest.json", "{not json")
        let result = try await CLI.run(["plan", "film.yaml"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("film.manifest.json: the manifest is not valid JSON"))
        #expect(try String(contentsOfFile: scratch.path("film.manifest.json"), encoding: .utf8) == "{not json")
    }

    @Test("graph renders with Graphviz, every shot and edge present", arguments: examples)
    func dot(_ name: String) async throws {
        let result = try await CLI.run(["graph", "examples/\(name).yaml"], in: CLI.repository)
        #expect(result.status == 0)
        try GoldenFile.check(result.stdout, "graph/\(name).dot")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["dot", "-Tsvg"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(result.stdout.utf8))
        try input.fileHandleForWriting.close()
        let svg = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "dot rejected the graph")
        #expect(svg.contains("<svg"))
    }

    @Test("graph --format mermaid: a flowchart with a node per shot and an edge per dependency")
    func mermaid() async throws {
        let result = try await CLI.run(["graph", "--format", "mermaid", "examples/eagle.yaml"], in: CLI.repository)
        #expect(result.status == 0)
        try GoldenFile.check(result.stdout, "graph/eagle.mmd")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "flowchart TB")
        #expect(lines.filter { $0.contains("[\"") }.count == 7, "six shots and the cut")
        #expect(lines.filter { $0.contains("-->|clip ") && $0.hasSuffix(" cut") }.count == 5)
        #expect(lines.filter { $0.contains(" ~~~ ") }.count == 5, "the storyboard's order, top to bottom")
        #expect(lines.filter { $0.contains("-->|video|") }.count == 3)
        #expect(lines.filter { $0.contains("-.->|after|") }.count == 1)
    }
}

@Suite("kling-render plan against a hand-written manifest")
struct ClassifiedPlanTests {
    static let folder = CLI.repository.appendingPathComponent("Tests/Fixtures/plan/classified")

    @Test("every classification, for a person and as JSON, matches its golden file")
    func classified() async throws {
        let human = try await CLI.run(["plan", "film.yaml"], in: Self.folder)
        #expect(human.status == 0, "\(human.stderr)")
        try GoldenFile.check(human.stdout, "plan/classified.txt")
        let json = try await CLI.run(["plan", "--json", "film.yaml"], in: Self.folder)
        try GoldenFile.check(json.stdout, "plan/classified.json")
        let detailed = try await CLI.run(["plan", "--detailed-exitcode", "film.yaml"], in: Self.folder)
        #expect(detailed.status == 2)
    }
}
