import Foundation
import Testing

@testable import KlingRenderCore

@Suite("pick: one value of the storyboard changed where it is written")
struct PickEditTests {
    static let film =
        "version: 1\r\nname: pk\r\nx-shared: &shared\r\n  pick: 2\r\nshots:\r\n  # the opening\r\n  sunrise:\r\n"
        + "    type: std-text-to-video\r\n    prompt: \"dawn, gulls\"   # quoted\r\n    takes: 3\r\n  city:\r\n"
        + "    <<: *shared\r\n    type: std-text-to-video\r\n    prompt: the city\r\n    takes: 2\r\n  snow:\r\n"
        + "    type: std-text-to-video\r\n    prompt: snow\r\n    takes: 2\r\n    pick: 1 # first\r\n"

    func project() throws -> Project {
        let result = ProjectLoader().load(text: Self.film, file: "film.yaml")
        return try #require(result.project, "\(result.diagnostics)")
    }

    @Test("a written pick: exactly its digits change; comments, quoting and CRLF stay")
    func replace() throws {
        let edit = try PickEdit.edit(Self.film, project: project(), shot: "snow", take: 2, rendered: []).get()
        #expect(edit.text == Self.film.replacingOccurrences(of: "pick: 1 # first", with: "pick: 2 # first"))
        #expect(edit.line == 20 && edit.before == 1 && edit.after == 2 && !edit.added)
    }

    @Test("no pick written: one line after `takes:`, indented as it, with the file's line ending")
    func insert() throws {
        let edit = try PickEdit.edit(Self.film, project: project(), shot: "sunrise", take: 3, rendered: []).get()
        #expect(
            edit.text == Self.film.replacingOccurrences(of: "    takes: 3\r\n", with: "    takes: 3\r\n    pick: 3\r\n")
        )
        #expect(edit.line == 11 && edit.added)
        #expect(ProjectLoader().load(text: edit.text, file: "film.yaml").project?.shot("sunrise")?.pick == 3)
    }

    @Test("a pick from a merge key is refused with where it is written; a take that does not exist, with the takes")
    func refused() throws {
        #expect(
            PickEdit.edit(Self.film, project: try project(), shot: "city", take: 1, rendered: [])
                == .failure(.shared(shot: "city", at: SourceLocation(line: 4, column: 9))))
        #expect(
            PickEdit.edit(Self.film, project: try project(), shot: "snow", take: 4, rendered: [])
                == .failure(.noTake(shot: "snow", take: 4, takes: [1, 2])))
        // A take rendered beyond `takes:` (a retake) may be picked.
        #expect(
            (try? PickEdit.edit(Self.film, project: try project(), shot: "snow", take: 4, rendered: [1, 4]).get())
                != nil)
    }

    @Test("hostile shapes: a `takes:` line inside a block prompt is not the shot's; a lone CR is refused")
    func hostile() throws {
        let block = """
            version: 1
            name: b
            shots:
              a:
                prompt: |
                  takes: three tries
                type: std-text-to-video
              b:
                type: std-text-to-video
                prompt: two

            """
        let project = try #require(ProjectLoader().load(text: block, file: "film.yaml").project)
        // Take 1 is within `takes:` (1): the line goes after `type:`, at the shot's own indentation.
        let edit = try PickEdit.edit(block, project: project, shot: "a", take: 1, rendered: []).get()
        #expect(
            edit.text
                == block.replacingOccurrences(
                    of: "    type: std-text-to-video\n  b:", with: "    type: std-text-to-video\n    pick: 1\n  b:"))
        let cr = "version: 1\rname: x\rshots:\r  a:\r    type: std-text-to-video\r    prompt: p\r    takes: 2\r"
        let crProject = try #require(ProjectLoader().load(text: cr, file: "film.yaml").project)
        #expect(PickEdit.edit(cr, project: crProject, shot: "a", take: 2, rendered: []) == .failure(.lineBreaks))
    }
}
