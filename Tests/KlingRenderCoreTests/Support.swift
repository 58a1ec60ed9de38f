import Foundation

@testable import KlingRenderCore

/// The repository's folders, found from this file so tests run from any working directory.
enum Paths {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repository.appendingPathComponent("Tests/Fixtures")
    static let examples = repository.appendingPathComponent("examples")

    static func yamlFiles(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { folder.appendingPathComponent($0) }
    }
}

/// Golden files are re-recorded only on purpose: `KLING_RECORD=1 swift test`.
enum Golden {
    static var recording: Bool { ProcessInfo.processInfo.environment["KLING_RECORD"] == "1" }

    /// The recorded text, or records `actual` when recording; nil when there is no golden file.
    static func expected(_ file: URL, actual: String) throws -> String? {
        if recording {
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try actual.write(to: file, atomically: true, encoding: .utf8)
            return actual
        }
        return try? String(contentsOf: file, encoding: .utf8)
    }
}

func load(_ yaml: String, file: String = "test.yaml") -> LoadResult {
    ProjectLoader().load(text: yaml, file: file)
}

/// The diagnostics of a load as `LINE:COL: severity: message` lines.
func describe(_ diagnostics: [Diagnostic]) -> String {
    diagnostics.map { d in
        let position = d.location.map { "\($0.line):\($0.column)" } ?? "-"
        let line = "\(position): \(d.severity.rawValue): \(d.message)"
        return d.note.map { line + "\n    note: \($0)" } ?? line
    }.joined(separator: "\n") + "\n"
}
