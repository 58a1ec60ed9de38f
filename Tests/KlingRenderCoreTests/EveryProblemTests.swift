import Foundation
import Testing

@testable import KlingRenderCore

@Suite("validate reports every problem it can check in one run")
struct EveryProblemTests {
    @Test("a misspelled field, an out: past a shot's end and a transition longer than its clip: three errors, located")
    func three() {
        let yaml = """
            version: 1
            name: three
            shots:
              a:
                type: std-text-to-video
                prompt: a harbour at dawn
                duration: 5
                promt: typo here
              b:
                type: std-text-to-video
                prompt: gulls
                duration: 5
            cut:
              clips:
                - shot: a
                  out: 9
                - shot: b
                  transition: crossfade 7

            """
        let result = ProjectLoader().load(data: Data(yaml.utf8), file: "film.yaml")
        #expect(result.project == nil)
        let errors = result.diagnostics.filter { $0.severity == .error }
        #expect(
            errors.map { "\($0.location?.line ?? 0): \($0.message)" } == [
                "8: unknown field `promt` in shot `a`",
                "16: `cut.clips[0].out` is 9 s, past the end of `a` (5 s)",
                "17: `cut.clips[1].transition` lasts 7 s, longer than its clip (`b`, 5 s)",
            ])
    }

    @Test("a transition is checked against its neighbour even when a clip between others is wrong")
    func neighbours() {
        let yaml = """
            version: 1
            name: n
            shots:
              a:
                type: std-text-to-video
                prompt: one
                duration: 5
              b:
                type: std-text-to-video
                prompt: two
                duration: 5
            cut:
              clips:
                - shot: nosuch
                - shot: a
                  out: 2
                - shot: b
                  transition: fade 3

            """
        let result = ProjectLoader().load(data: Data(yaml.utf8), file: "film.yaml")
        let messages = result.diagnostics.filter { $0.severity == .error }.map(\.message)
        #expect(messages.contains { $0.hasPrefix("`cut.clips[0].shot` names no shot") })
        #expect(messages.contains("`cut.clips[2].transition` lasts 3 s, longer than the clip before (`a`, 2 s)"))
    }
}
