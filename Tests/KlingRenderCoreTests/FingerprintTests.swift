import Foundation
import Testing

@testable import KlingRenderCore

@Suite("Fingerprints: what changes them, and what does not")
struct FingerprintTests {
    static let base = """
        version: 1
        vars:
          hero: an eagle
          unused: nothing
        shots:
          sunrise:
            type: pro-text-to-video
            prompt: ${vars.hero} at sunrise
          snow:
            type: o3-pro-video-edit
            prompt: make it snow
            video: ${shots.sunrise.video}
          later:
            type: std-text-to-video
            prompt: credits
            after: [snow]
        """

    func fingerprints(_ yaml: String) throws -> [String: String] {
        let result = load(yaml)
        let project = try #require(result.project, "\(describe(result.diagnostics))")
        let graph = ShotGraph(project)
        let all = Fingerprint.all(graph)
        return Dictionary(uniqueKeysWithValues: graph.shots.indices.map { (graph.shots[$0].id, all[$0]) })
    }

    @Test("comments, key order and formatting leave every fingerprint unchanged")
    func formatting() throws {
        let reformatted = """
            # a comment
            shots:
              sunrise: {prompt: "${vars.hero} at sunrise", type: pro-text-to-video}   # flow style
              snow:
                video: ${shots.sunrise.video}
                prompt: 'make it snow'
                type: o3-pro-video-edit
              later: {type: std-text-to-video, after: [snow], prompt: credits}
            vars: {unused: nothing, hero: an eagle}
            version: 1
            """
        #expect(try fingerprints(reformatted) == fingerprints(Self.base))
    }

    @Test("notes and unused vars leave it unchanged")
    func notesAndUnusedVars() throws {
        let changed = Self.base.replacingOccurrences(of: "unused: nothing", with: "unused: something else")
            .replacingOccurrences(of: "    prompt: credits", with: "    prompt: credits\n    notes: a note")
        #expect(try fingerprints(changed) == fingerprints(Self.base))
    }

    @Test("writing a default explicitly leaves it unchanged")
    func explicitDefaults() throws {
        let explicit = Self.base.replacingOccurrences(
            of: "    prompt: ${vars.hero} at sunrise",
            with: "    prompt: ${vars.hero} at sunrise\n    duration: 5\n    aspect_ratio: 16:9\n    sound: true")
        #expect(try fingerprints(explicit) == fingerprints(Self.base))
    }

    @Test("other shots leave it unchanged; a change of a shot changes it")
    func otherShots() throws {
        let before = try fingerprints(Self.base)
        let after = try fingerprints(Self.base.replacingOccurrences(of: "prompt: credits", with: "prompt: the end"))
        #expect(after["later"] != before["later"])
        #expect(after["sunrise"] == before["sunrise"])
        #expect(after["snow"] == before["snow"])
    }

    @Test("a change upstream propagates through video inputs")
    func propagation() throws {
        let before = try fingerprints(Self.base)
        let after = try fingerprints(Self.base.replacingOccurrences(of: "at sunrise", with: "at dusk"))
        #expect(after["sunrise"] != before["sunrise"])
        #expect(after["snow"] != before["snow"], "snow edits sunrise's output")
        #expect(after["later"] == before["later"], "`after` orders, it carries no data")
    }

    @Test("a var used by a shot changes it")
    func usedVar() throws {
        let before = try fingerprints(Self.base)
        let after = try fingerprints(Self.base.replacingOccurrences(of: "hero: an eagle", with: "hero: a hawk"))
        #expect(after["sunrise"] != before["sunrise"])
    }

    @Test("extra fields are part of it")
    func extra() throws {
        let before = try fingerprints(Self.base)
        let after = try fingerprints(
            Self.base.replacingOccurrences(of: "    prompt: credits", with: "    prompt: credits\n    extra: {seed: 7}")
        )
        #expect(after["later"] != before["later"])
    }
}

@Suite("The canonical form written by hand is JSONEncoder's, byte for byte")
struct CanonicalJSONTests {
    static let values: [JSONValue] = [
        .object([
            "type": .string("pro-text-to-video"),
            "prompt": .string("quote \" backslash \\ slash / tab \t newline \n é ☃ 🦅"),
            "duration": .int(5), "sound": .bool(false), "cfg_scale": .double(0.35),
            "images": .array([.string("https://x/a.png")]),
            "aspect_ratio": .string("16:9"), "negative_prompt": .null,
        ]),
        .object([
            "a_b": .int(1), "ab": .int(2), "a": .int(3), "a_": .int(4),
            "b": .object(["z": .array([]), "y": .object([:])]),
        ]),
        .object([
            "a10": .int(1), "a9": .int(2), "B": .int(3), "a": .int(4), "A_x": .int(5), "ключ": .int(6), "_": .int(7),
        ]),
        .string(String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) })),
        .array([.double(1), .double(-0.5), .double(1e-7), .double(123456789.125), .int(-42), .int(Int.max)]),
    ]

    @Test("every value encodes to the same bytes both ways", arguments: values.indices)
    func sameBytes(_ index: Int) throws {
        let value = Self.values[index]
        let expected = try CanonicalJSON.data(value)
        #expect(CanonicalJSON.compact(value) == Array(expected), "\(String(decoding: expected, as: UTF8.self))")
    }
}
