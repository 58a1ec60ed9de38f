import Foundation

/// A local file the project names, to be checked once the whole file is read.
struct FileCheck {
    /// As written in the project file.
    var written: String
    /// As the project keeps it.
    var path: String
    var expect: InputFile.Expect
    var location: SourceLocation
    /// The field that names it (`image`, `cut.audio.music`).
    var field: String
}

extension ProjectBuilder {
    /// The pass that reads the disk: each file the project names is checked once per path and
    /// kind (inside the project, a regular file, the right media by its bytes, within the API's
    /// limits) and hashed. The other passes only read YAML.
    mutating func checkFiles(into project: inout Project) {
        var checked: [String: Result<InputFile, InputProblem>] = [:]
        for check in fileChecks {
            let key = "\(check.path)#\(check.expect)"
            let result = checked[key] ?? InputFile.check(check.path, in: folder, expect: check.expect)
            checked[key] = result
            switch result {
            case .success(let file) where check.expect == .audio: project.cut?.audio.music = file
            case .success(let file): project.inputFiles[file.path] = file
            case .failure(let problem):
                let note =
                    problem == .missing
                    ? "paths are relative to the folder of \(URL(fileURLWithPath: file).lastPathComponent): is the file there?"
                    : nil
                sink.error(
                    check.location,
                    "`\(check.field)` file `\(Printable.short(check.written, limit: 120))` \(problem.message)",
                    note: note)
            }
        }
    }
}
