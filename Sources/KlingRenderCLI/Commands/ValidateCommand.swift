import ArgumentParser
import Foundation
import KlingRenderCore

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check project files and report every problem, compiler style.",
        discussion: "Exit status: 0 when every file is valid, 1 when any has an error, 2 for usage errors."
    )

    @Argument(help: "Project files to check.", completion: .file(extensions: ["yaml", "yml"]))
    var files: [String]

    @Flag(help: "Print the diagnostics as JSON.")
    var json = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one project file") }
    }

    func run() async throws {
        let loader = ProjectLoader()
        let results = files.map { loader.load(path: $0) }
        if json {
            try JSONOutput.write(ValidationReport(results: results))
        } else {
            let view = DiagnosticView(terminal: .standardError)
            for result in results {
                for d in result.diagnostics { printError(view.render(d, source: result.source)) }
            }
            for (file, result) in zip(files, results) where result.project != nil {
                let shots = result.project?.shots.count ?? 0
                print("\(file): valid, \(shots) shot\(shots == 1 ? "" : "s")")
            }
        }
        if results.contains(where: { $0.diagnostics.hasErrors }) { throw ExitCode.failure }
    }
}

/// `validate --json`: one entry per file, with its diagnostics.
struct ValidationReport: Encodable {
    struct File: Encodable {
        var file: String
        var valid: Bool
        var shots: Int?
        var diagnostics: [DiagnosticJSON]
    }

    var valid: Bool
    var files: [File]

    init(results: [LoadResult]) {
        files = results.map { r in
            File(
                file: r.diagnostics.first?.file ?? r.project?.file ?? "", valid: r.project != nil,
                shots: r.project?.shots.count, diagnostics: r.diagnostics.map(DiagnosticJSON.init))
        }
        valid = files.allSatisfy(\.valid)
    }
}

struct DiagnosticJSON: Encodable {
    var severity: String
    var file: String
    var line: Int?
    var column: Int?
    var message: String
    var note: String?

    init(_ d: Diagnostic) {
        severity = d.severity.rawValue
        file = d.file
        line = d.location?.line
        column = d.location?.column
        message = d.message
        note = d.note
    }
}

enum JSONOutput {
    static func write(_ value: some Encodable) throws {
        var data = try CanonicalJSON.data(value, pretty: true)
        data.append(0x0A)
        Output.write(data)
    }
}
