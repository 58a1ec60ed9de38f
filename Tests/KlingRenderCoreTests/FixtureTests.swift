import Foundation
import Testing

@testable import KlingRenderCore

@Suite("Project files: the fixture corpus")
struct FixtureTests {
    static let invalid = Paths.yamlFiles(in: Paths.fixtures.appendingPathComponent("invalid"))
    static let valid = Paths.yamlFiles(in: Paths.fixtures.appendingPathComponent("valid"))
    static let examples = Paths.yamlFiles(in: Paths.examples)

    @Test("the corpus of invalid files is large")
    func corpusSize() {
        #expect(Self.invalid.count >= 40)
    }

    @Test("each invalid file gives exactly its recorded diagnostics", arguments: invalid)
    func invalidFile(_ url: URL) throws {
        let result = ProjectLoader().load(path: url.path)
        #expect(result.project == nil, "an invalid file must not load")
        #expect(result.diagnostics.hasErrors)
        for d in result.diagnostics { #expect(d.file == url.path) }
        let actual = describe(result.diagnostics)
        let golden = url.deletingPathExtension().appendingPathExtension("expected")
        let expected = try #require(try Golden.expected(golden, actual: actual), "no \(golden.lastPathComponent)")
        #expect(actual == expected)
    }

    @Test("each valid file and example loads with no error", arguments: valid + examples)
    func validFile(_ url: URL) throws {
        let result = ProjectLoader().load(path: url.path)
        #expect(!result.diagnostics.hasErrors, "\(describe(result.diagnostics))")
        #expect(result.project != nil)
    }

    @Test("diagnostics come sorted by position")
    func sorted() {
        for url in Self.invalid {
            let positions = ProjectLoader().load(path: url.path).diagnostics.compactMap(\.location)
            #expect(positions == positions.sorted(), "\(url.lastPathComponent)")
        }
    }
}
