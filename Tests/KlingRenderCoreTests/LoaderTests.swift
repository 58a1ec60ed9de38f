import Foundation
import Testing

@testable import KlingRenderCore

@Suite("Loading: scalars typed by the schema, anchors, defaults, interpolation")
struct LoaderTests {
    func project(_ yaml: String) throws -> Project {
        let result = load(yaml)
        return try #require(result.project, "\(describe(result.diagnostics))")
    }

    @Test("unquoted 16:9, `no` and ids yes/on/off stay strings")
    func yaml11Guessing() throws {
        let p = try project(
            """
            version: 1
            shots:
              yes:
                type: std-text-to-video
                prompt: no
                aspect_ratio: 16:9
              on:
                type: std-text-to-video
                prompt: off
            """)
        #expect(p.shots.map(\.id) == ["yes", "on"])
        #expect(p.shots[0].values[.prompt] == .text("no"))
        #expect(p.shots[0].values[.aspectRatio] == .text("16:9"))
        #expect(p.shots[1].values[.prompt] == .text("off"))
    }

    @Test("`! null` is the text null: the non-specific tag forces a string")
    func bangNull() throws {
        let p = try project("version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: ! null\n")
        #expect(p.shots[0].values[.prompt] == .text("null"))
    }

    @Test("keys are compared code point by code point: NFC and NFD spellings are two keys")
    func codePointKeys() throws {
        let nfc = "x-caf\u{E9}"
        let nfd = "x-cafe\u{301}"
        #expect(nfc == nfd, "Swift calls them equal")
        var sink = DiagnosticSink(file: "t.yaml")
        let root = try YAMLComposer().compose("\(nfc): 1\n\(nfd): 2\n", into: &sink)
        guard case .mapping(let m) = root else {
            Issue.record("not a mapping")
            return
        }
        #expect(m.entries.count == 2)
        #expect(sink.diagnostics.isEmpty, "\(describe(sink.diagnostics))")
    }

    @Test("merge keys: explicit keys win, earlier merge sources win over later ones")
    func mergeKeys() throws {
        let p = try project(
            """
            version: 1
            x-a: &a {type: std-text-to-video, duration: 4}
            x-b: &b {duration: 9, sound: false}
            shots:
              one:
                <<: [*a, *b]
                prompt: hi
              two:
                <<: *a
                duration: 12
                prompt: hi
            """)
        #expect(p.shots[0].values[.duration] == .integer(4))
        #expect(p.shots[0].values[.sound] == .boolean(false))
        #expect(p.shots[1].values[.duration] == .integer(12))
    }

    @Test("a default applies only where the shot's type takes the field")
    func defaultsSkipForbiddenFields() throws {
        let p = try project(
            """
            version: 1
            defaults:
              duration: 7
              cfg_scale: 0.3
            shots:
              base:
                type: pro-text-to-video
                prompt: hi
              o3:
                type: o3-std-text-to-video
                prompt: hi
              edit:
                type: o3-std-video-edit
                prompt: edit
                video: ${shots.base.video}
            """)
        #expect(p.shots[0].values[.duration] == .integer(7))
        #expect(p.shots[0].values[.cfgScale] == .number(0.3))
        #expect(p.shots[1].values[.cfgScale] == nil)
        #expect(p.shots[2].values[.duration] == nil)
        #expect(p.shots[2].dependencies.map(\.id) == ["base"])
    }

    @Test("vars interpolate in text and URLs; $${ is a literal ${")
    func interpolation() throws {
        let p = try project(
            """
            version: 1
            vars:
              who: an eagle
              cdn: https://cdn.example.com
            shots:
              a:
                type: std-image-to-video
                prompt: ${vars.who} costs $${price}
                image: ${vars.cdn}/eagle.png
            """)
        #expect(p.shots[0].values[.prompt] == .text("an eagle costs ${price}"))
        #expect(p.shots[0].values[.image] == .input(.url("https://cdn.example.com/eagle.png")))
    }

    @Test("a NUL written as an escape is refused where it is written, in any value")
    func nulEscape() {
        let result = load(
            "version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: \"dawn\\0\"\n    extra: {seed: \"\\x00\"}\n"
        )
        #expect(result.project == nil)
        let text = describe(result.diagnostics)
        #expect(text.contains("5:13: error: this holds U+0000"), "\(text)")
        #expect(text.contains("6:19: error: this holds U+0000"), "\(text)")
    }

    @Test("an alias bomb is refused without expanding it")
    func aliasBomb() throws {
        var yaml = "version: 1\nx-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            yaml +=
                "x-\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
                + "]\n"
        }
        yaml += "shots: {}\n"
        let result = load(yaml)
        #expect(result.project == nil)
        #expect(result.diagnostics.first?.message.contains("alias bomb") == true)
    }

    @Test("every problem is reported in one run")
    func allProblemsAtOnce() {
        let result = load(
            """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: hi
                duration: 1
              b:
                type: std-text-to-video
                prompt: hi
                aspect_ratio: 2:1
                sound: on
            """)
        #expect(result.diagnostics.filter { $0.severity == .error }.map(\.location?.line) == [6, 10, 11])
    }

    @Test("a missing file, a folder and an oversized file each give one clear line")
    func fileProblems() throws {
        let missing = ProjectLoader().load(path: "/nonexistent/film.yaml")
        #expect(missing.diagnostics.map(\.message) == ["no such file"])
        let folder = ProjectLoader().load(path: NSTemporaryDirectory())
        #expect(folder.diagnostics.map(\.message) == ["is a folder, not a project file"])
        var small = ProjectLoader()
        small.maxFileSize = 10
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("big-\(UUID()).yaml")
        try "version: 1\nshots: {}\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let big = small.load(path: url.path)
        #expect(big.diagnostics.count == 1)
        #expect(big.diagnostics[0].message.contains("limited to 10 bytes"))
    }

    @Test("the price table: a 5 s pro-text-to-video with sound costs 400")
    func priceCheck() throws {
        let p = try project("version: 1\nshots:\n  a:\n    type: pro-text-to-video\n    prompt: hi\n")
        #expect(p.shots[0].estimatedCredits == 400)
        #expect(TaskType.all.count == 12)
        #expect(TaskType.named("o3-pro-video-edit")?.credits(seconds: 10, sound: true) == 435)
        #expect(TaskType.named("std-text-to-video")?.credits(seconds: 10, sound: false) == 400)
    }
}
