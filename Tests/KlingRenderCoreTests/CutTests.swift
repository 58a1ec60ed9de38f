import Foundation
import Testing

@testable import KlingRenderCore

@Suite("The cut: checked where it is written, planned as a node after its clips")
struct CutTests {
    static let shots = """
        version: 1
        name: Eagle Film
        shots:
          a:
            type: std-text-to-video
            prompt: a
            duration: 5
          b:
            type: std-text-to-video
            prompt: b
            duration: 4
          e:
            type: o3-std-video-edit
            prompt: e
            video: ${shots.a.video}

        """

    func errors(_ cut: String) -> String {
        describe(load(Self.shots + cut).diagnostics.filter { $0.severity == .error })
    }

    @Test("a good cut loads with its defaults: NAME.mp4, the pick, in 0, cuts")
    func loads() throws {
        let project = try #require(
            load(
                Self.shots
                    + "cut:\n  clips:\n    - shot: a\n    - shot: b\n      transition: crossfade 0.5\n    - shot: e\n      out: 3\n"
            )
            .project)
        let cut = try #require(project.cut)
        #expect(cut.output == "eagle-film.mp4")
        #expect(cut.clips.map(\.shot) == ["a", "b", "e"])
        #expect(cut.clips[1].transition == .crossfade(0.5))
        #expect(cut.seconds(in: project) == 5 + 4 + 3 - 0.5)
        #expect(cut.take(of: cut.clips[0], in: project) == 1)
    }

    @Test(
        "each rule is a located error",
        arguments: [
            ("cut:\n  clips:\n    - shot: nosuch\n", "18:13: error: `cut.clips[0].shot` names no shot: `nosuch`"),
            (
                "cut:\n  clips:\n    - shot: a\n      in: 3\n      out: 2\n",
                "20:12: error: `cut.clips[0].out` (2 s) must be after `in` (3 s)"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n      out: 6\n",
                "19:12: error: `cut.clips[0].out` is 6 s, past the end of `a` (5 s)"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n    - shot: b\n      out: 0.5\n      transition: crossfade 1\n",
                "19:7: error: `cut.clips[1].transition` lasts 1 s, longer than its clip (`b`, 0.5 s)"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n      transition: fade 1\n",
                "19:19: error: `cut.clips[0].transition`: the first clip has no clip before it to come from"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n    - shot: b\n      transition: wipe\n",
                "20:19: error: `cut.clips[1].transition` must be `cut`, `crossfade SECONDS` or `fade SECONDS` (through black)"
            ),
            (
                "cut:\n  size: 1921x1080\n  clips:\n    - shot: a\n",
                "17:9: error: `cut.size` must be WIDTHxHEIGHT in even pixels, such as 1920x1080"
            ),
            (
                "cut:\n  output: ../film.mp4\n  clips:\n    - shot: a\n",
                "17:11: error: `cut.output` must be a file name ending in .mp4 under the output folder, such as `film.mp4`"
            ),
            ("cut:\n  clips: []\n", "17:10: error: `cut.clips` must be a list of one clip or more (`- shot: ID`)"),
            (
                "cut:\n  clips:\n    - shot: a\n  audio:\n    music: score/none.mp3\n",
                "20:12: error: `cut.audio.music` file `score/none.mp3` does not exist"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n  audio:\n    music: /etc/passwd\n",
                "20:12: error: `cut.audio.music` file `/etc/passwd` is an absolute path; write it relative to the project file"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n  audio:\n    shots: loud\n",
                "20:12: error: `cut.audio.shots` must be `keep` (the clips' own sound) or `mute`"
            ),
            ("cut:\n  clips:\n    - shot: a\n      trim: 2\n", "19:7: error: unknown field `trim` in `cut.clips[0]`"),
            (
                "cut:\n  quality: best\n  clips:\n    - shot: a\n",
                "17:12: error: `cut.quality` must be `final` (the film) or `draft` (a quick proxy, NAME.draft.mp4)"
            ),
            (
                "cut:\n  exports: [otio, aaf]\n  clips:\n    - shot: a\n",
                "17:19: error: `cut.exports` takes `otio`, `fcpxml` and `edl`, each at most once"
            ),
            (
                "cut:\n  output: a.mp4\n  clips:\n    - shot: a\n",
                "17:11: error: `cut.output` `a.mp4` would be a file of shot `a`"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n    - shot: b\n      out: 1\n      transition: crossfade 0.75\n    - shot: a\n      transition: crossfade 0.75\n",
                "19:7: error: `cut.clips[1]` (`b`, 1 s) is shorter than its two transitions (0.75 s in, 0.75 s out)"
            ),
            (
                "cut:\n  clips:\n    - shot: a\n      take: 0\n",
                "19:13: error: `cut.clips[0].take` must be a whole number from 1 to 99, not 0"
            ),
        ])
    func rules(_ cut: String, _ message: String) {
        #expect(errors(cut).hasPrefix(message), "\(errors(cut))")
    }

    @Test("a clip whose render is uncertain blocks the cut, which is then no change to apply")
    func uncertainClip() throws {
        let fixture = try PlanFixture(Self.shots + "cut:\n  clips:\n    - shot: a\n    - shot: b\n")
        try fixture.markAllRendered(status: ["b": .uncertain])
        let plan = try fixture.plan()
        #expect(plan.cut?.action == .blocked)
        #expect(plan.cut?.reasons == ["clip 2 (b) is uncertain: import its task or --replace it first"])
        #expect(!plan.shots.contains { $0.action.isChange } && !plan.hasChanges)
    }

    @Test("a take the cut names beyond `takes:` is kept in the plan: fetched again when missing")
    func cutTake() throws {
        let fixture = try PlanFixture(Self.shots + "cut:\n  clips:\n    - shot: a\n      take: 2\n")
        #expect(throws: PlanError.self) { try fixture.plan() }
        try fixture.markAllRendered(options: PlanOptions(retake: ["a"]))
        try FileManager.default.removeItem(at: fixture.folder.appendingPathComponent("renders/a.take2.mp4"))
        let plan = try fixture.plan()
        #expect(plan.shots.first { $0.key == "a.take2" }?.action == .download)
        #expect(plan.cut?.clips == ["a.take2"] && plan.cut?.action == .assemble)
    }

    @Test("music must be audio by its bytes, inside the project")
    func music() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kling-cut-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // An ID3 tag with no frames, then an MPEG audio frame: an MP3 by its bytes.
        try Data("ID3\u{4}\u{0}\u{0}".utf8 + [0, 0, 0, 0, 0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 64))
            .write(
                to: folder.appendingPathComponent("theme.mp3"))
        try Data("just text\n".utf8).write(to: folder.appendingPathComponent("notes.mp3"))
        let file = folder.appendingPathComponent("film.yaml").path
        let good = ProjectLoader().load(
            text: Self.shots + "cut:\n  clips:\n    - shot: a\n  audio:\n    music: theme.mp3\n", file: file)
        #expect(good.project?.cut?.audio.music?.media == .mp3, "\(good.diagnostics)")
        let bad = ProjectLoader().load(
            text: Self.shots + "cut:\n  clips:\n    - shot: a\n  audio:\n    music: notes.mp3\n", file: file)
        #expect(describe(bad.diagnostics).contains("is not an MP3, WAV, FLAC, Ogg or M4A audio file (by its bytes)"))
    }

    @Test("the cut's fingerprint: a new trim or pick changes it, a comment does not")
    func fingerprint() throws {
        let base = "cut:\n  clips:\n    - shot: a\n      out: 4\n"
        func print(_ yaml: String) throws -> String {
            let project = try #require(load(yaml).project)
            return try #require(project.cut).fingerprint(in: project, clipFiles: [String(repeating: "a", count: 64)])
        }
        let first = try print(Self.shots + base)
        #expect(try print(Self.shots + "# a comment\n" + base) == first)
        #expect(try print(Self.shots + base.replacingOccurrences(of: "out: 4", with: "out: 3")) != first)
        #expect(
            try print(
                Self.shots.replacingOccurrences(of: "duration: 5\n", with: "duration: 5\n    takes: 2\n    pick: 2\n")
                    + base) != first)
    }
}
