import Foundation
import Testing

@testable import KlingRenderCore

/// The JSON Schema, checked by a real validator (Python's `jsonschema`, which `.ci/run` installs).
@Suite("The JSON Schema agrees with the loader")
struct SchemaTests {
    static let schema = Paths.repository.appendingPathComponent("schema/kling-render.schema.json")

    /// Invalid files whose problem no JSON Schema can see: references, interpolation, the graph,
    /// YAML-level checks. The loader alone rejects these; every other invalid file fails both.
    static let loaderOnly: Set<String> = [
        "after-missing-shot", "after-self", "alias-bomb", "cycle-three", "cycle-through-after", "duration-float-tag",
        "merge-key-twice", "question-key", "image-relative",
        "deep-nesting", "duplicate-key", "duplicate-shot", "missing-prompt", "missing-type",
        "prompt-too-long-after-interpolation", "self-reference", "shot-output-in-prompt",
        "unknown-reference-kind", "unknown-shot-reference", "unknown-var", "unterminated-interpolation",
    ]

    func schemaVerdicts(_ files: [URL], schema: URL = SchemaTests.schema) throws -> [String: Bool] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", Paths.repository.appendingPathComponent("scripts/check-schema.py").path, schema.path]
            + files.map(\.path)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "check-schema.py failed: is jsonschema installed?")
        return try JSONDecoder().decode([String: Bool].self, from: data)
    }

    @Test("every example and valid fixture passes the schema")
    func validFiles() throws {
        let files = FixtureTests.examples + FixtureTests.valid
        let verdicts = try schemaVerdicts(files)
        for file in files { #expect(verdicts[file.path] == true, "\(file.lastPathComponent)") }
    }

    @Test("every invalid fixture the schema can judge fails it")
    func invalidFiles() throws {
        let verdicts = try schemaVerdicts(FixtureTests.invalid)
        for file in FixtureTests.invalid {
            let name = file.deletingPathExtension().lastPathComponent
            let expected = Self.loaderOnly.contains(name)
            #expect(verdicts[file.path] == expected, "\(name): schema said \(String(describing: verdicts[file.path]))")
        }
    }

    @Test("the schema lists the task types of the table, and describes every field")
    func typesAndDescriptions() throws {
        let data = try Data(contentsOf: Self.schema)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let defs = try #require(json["$defs"] as? [String: Any])
        let shot = try #require(defs["shot"] as? [String: Any])
        let properties = try #require(shot["properties"] as? [String: [String: Any]])
        let types = try #require(properties["type"]?["enum"] as? [String])
        #expect(types == TaskType.all.map(\.name))
        #expect(Set(properties.keys) == Set(ProjectBuilder.shotKeys))
        for (name, property) in properties { #expect(property["description"] is String, "\(name)") }
        let top = try #require(json["properties"] as? [String: [String: Any]])
        #expect(Set(top.keys) == Set(ProjectBuilder.topLevelKeys))
        for (name, property) in top { #expect(property["description"] is String, "\(name)") }
    }

    @Test("manifests written by the tool, and the hand-written fixture, follow schema/manifest.schema.json")
    func manifestSchema() throws {
        let fixture = try PlanFixture(PlannerTests.film)
        try fixture.markAllRendered(status: ["snow": .running, "roll": .uncertain])
        let written = fixture.folder.appendingPathComponent("film.manifest.json")
        let handWritten = Paths.fixtures.appendingPathComponent("plan/classified/film.manifest.json")
        let schema = Paths.repository.appendingPathComponent("schema/manifest.schema.json")
        let verdicts = try schemaVerdicts([written, handWritten], schema: schema)
        #expect(verdicts[written.path] == true)
        #expect(verdicts[handWritten.path] == true)
    }
}
