import Foundation
import Testing

@testable import KlingRenderCore

@Suite("A changed field, word by word and element by element")
struct FieldDiffTests {
    /// The runs as `[-old-]{+new+}` text.
    func marked(_ diff: FieldDiff) -> String {
        guard case .text(let runs) = diff else { return "not text: \(diff)" }
        return runs.map {
            switch $0.mark {
            case .same: $0.text
            case .removed, .changed: "[-\($0.text)-]"
            case .added: "{+\($0.text)+}"
            }
        }.joined()
    }

    @Test("one word changed in the middle of a 200-character prompt: only it is marked, both sides whole")
    func middleWord() {
        let head = "A young woman by a rainy window takes a letter from the drawer of an old oak desk, "
        let tail = " in the soft light of a late autumn afternoon, while the city hums far below her window"
        let was = head + "reads it slowly" + tail
        let now = head + "reads it twice" + tail
        #expect(was.count > 180)
        let diff = FieldDiff.of(.string(was), .string(now))
        #expect(marked(diff) == head + "reads it [-slowly-]{+twice+}" + tail)
    }

    @Test("punctuation and spacing stay unmarked around a changed word")
    func punctuation() {
        let diff = FieldDiff.of(.string("dawn, gulls, boats."), .string("dawn, herons, boats."))
        #expect(marked(diff) == "dawn, [-gulls-]{+herons+}, boats.")
    }

    @Test("a list element by element: a file by its path and short hash, one added, one removed")
    func list() {
        let a = "sha256:" + String(repeating: "a", count: 64)
        let b = "sha256:" + String(repeating: "b", count: 64)
        let diff = FieldDiff.of(
            .array([.string("https://cdn/x.png"), .string(a), .string("https://cdn/old.png")]),
            .array([.string("https://cdn/x.png"), .string(b)]),
            files: [nil, "boards/hero.png"])
        guard case .list(let elements) = diff else {
            Issue.record("not a list: \(diff)")
            return
        }
        #expect(
            elements == [
                FieldDiff.Element(
                    mark: .changed, index: 2, before: "sha256 aaaaaaaa", after: "boards/hero.png (sha256 bbbbbbbb)"),
                FieldDiff.Element(mark: .removed, index: 3, before: "https://cdn/old.png", after: nil),
            ])
        let grown = FieldDiff.of(.array([.string("u1")]), .array([.string("u1"), .string("u2")]))
        #expect(grown == .list([FieldDiff.Element(mark: .added, index: 2, before: nil, after: "u2")]))
    }

    @Test("a file's new bytes, a number, a boolean: old → new")
    func values() {
        let diff = FieldDiff.of(
            .string("sha256:" + String(repeating: "1", count: 64)),
            .string("sha256:" + String(repeating: "2", count: 64)),
            files: ["boards/a.png"])
        #expect(diff == .file(path: "boards/a.png", before: "11111111", after: "22222222"))
        #expect(FieldDiff.of(.int(5), .int(10)) == .value(before: .int(5), after: .int(10)))
        // A "hash" that is not hex (a doctored manifest's escape codes) is not shown as one.
        let doctored = JSONValue.string("sha256:\u{1B}[2J\u{1B}[3J")
        #expect(
            FieldDiff.of(doctored, .string("sha256:" + String(repeating: "2", count: 64)), files: ["b.png"])
                == .value(before: doctored, after: .string("sha256:" + String(repeating: "2", count: 64))))
        #expect(FieldDiff.of(.bool(true), nil) == .value(before: .bool(true), after: nil))
    }

    @Test("the diff goes into JSON and comes back as it was")
    func json() throws {
        let diff = FieldDiff.of(.string("make it snow"), .string("make it rain"))
        let data = try CanonicalJSON.encoder().encode(diff)
        #expect(try JSONDecoder().decode(FieldDiff.self, from: data) == diff)
        #expect(String(decoding: data, as: UTF8.self).contains(#""kind":"text""#))
    }

    @Test("texts too long to align word by word are shown whole, removed then added")
    func long() {
        let was = Array(repeating: "word", count: 2_000).joined(separator: " ")
        let diff = FieldDiff.of(.string(was), .string(was + " more"))
        // The common prefix is taken first: only the end differs, and it is cheap.
        #expect(marked(diff).hasSuffix("{+ more+}"))
        let other = Array(repeating: "other", count: 2_000).joined(separator: " ")
        #expect(
            FieldDiff.of(.string(was), .string(other))
                == .text([.init(mark: .removed, text: was), .init(mark: .added, text: other)]))
    }
}

@Suite("The cut's re-plan names the clip and the field")
struct CutChangesTests {
    func spec(_ clips: [[String: JSONValue]], music: JSONValue = .null, size: String = "640x360") -> JSONValue {
        .object([
            "output": .string("renders/film.mp4"), "size": .string(size), "fps": .int(24),
            "clips": .array(clips.map(JSONValue.object)),
            "audio": .object([
                "shots": .string("keep"), "music": music, "music_volume": .double(1), "fade_out": .double(0),
            ]),
        ])
    }

    func clip(_ shot: String, take: Int = 1, out: Double? = nil, sha: String = "a") -> [String: JSONValue] {
        [
            "shot": .string(shot), "take": .int(take), "in": .double(0), "out": out.map(JSONValue.double) ?? .null,
            "transition": .string("cut"), "sha256": .string(sha),
        ]
    }

    @Test("a trim, a pick, a new render, a clip added, the size, the music: one line each")
    func lines() {
        let before = spec([clip("sunrise", out: 3), clip("city"), clip("snow", sha: "s1")], music: .string("m1"))
        let after = spec(
            [clip("sunrise", out: 2.5), clip("city", take: 2), clip("snow", sha: "s2"), clip("night")],
            music: .string("m2"), size: "1280x720")
        #expect(
            Cut.changes(from: before, to: after) == [
                "`cut.size`: 640x360 → 1280x720", "`cut.audio.music` has other bytes",
                "clip 1 (sunrise): `out` 3 → 2.5", "clip 2 (city): `take` 1 → 2", "clip 3 (snow): its video changed",
                "clip 4 (night) added",
            ])
    }

    @Test("numbers read back from the manifest as integers (1, 0) are the project's 1.0 and 0.0: no line")
    func integersReadBack() throws {
        let now = spec([clip("sunrise", out: 3), clip("city", take: 2)])
        let data = try JSONEncoder().encode(spec([clip("sunrise", out: 3), clip("city")]))
        let read = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(Cut.changes(from: read, to: now) == ["clip 2 (city): `take` 1 → 2"])
    }

    @Test("a manifest from before specs were kept: no lines (the plan says the cut changed)")
    func noSpec() {
        #expect(Cut.changes(from: nil, to: spec([clip("a")])).isEmpty)
    }
}
