import Foundation

/// A pick made in the project file on disk, by `kling-render pick` and the served review page
/// alike: the file read again and checked to be the bytes the workspace was loaded from, edited
/// by `PickEdit`, replaced atomically.
package enum PickFile {
    /// What was written.
    package struct Picked: Sendable, Codable, Equatable {
        /// The project file, as the user named it.
        package var file: String
        package var line: Int
        package var shot: String
        package var take: Int
        /// The pick before, when one was written.
        package var before: Int?
        /// False when the shot already picked that take: nothing was written.
        package var changed: Bool
        /// The line as it reads now, without its indentation.
        package var text: String
    }

    package struct Refusal: Error, Sendable, Equatable {
        package var message: String
    }

    package static func pick(_ workspace: Workspace, shot: String, take: Int) -> Result<Picked, Refusal> {
        let file = workspace.project.file
        let name = URL(fileURLWithPath: file).lastPathComponent
        // The bytes the project was loaded from, checked to be them: the edit is made on them.
        let data: Data
        do {
            let handle = try workspace.paths.root.openForReading(name)
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch {
            return .failure(Refusal(message: "cannot read \(file) again: \(error)"))
        }
        guard Digest.sha256Hex(data) == workspace.projectDigest, let text = String(validating: data, as: UTF8.self)
        else { return .failure(Refusal(message: "\(file) changed since it was read; nothing was written")) }
        let rendered = workspace.manifest?.takeNumbers(of: shot) ?? []
        let edit: PickEdit.Edit
        switch PickEdit.edit(text, project: workspace.project, shot: shot, take: take, rendered: rendered) {
        case .failure(let failure): return .failure(Refusal(message: failure.words(file: file)))
        case .success(let made): edit = made
        }
        let lines = edit.text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = edit.line <= lines.count ? lines[edit.line - 1] : ""
        var picked = Picked(
            file: file, line: edit.line, shot: shot, take: take, before: edit.before,
            changed: edit.before != edit.after,
            text: line.trimmingCharacters(in: .whitespacesAndNewlines))
        guard picked.changed else { return .success(picked) }
        do {
            try AtomicFile.write(Data(edit.text.utf8), to: name, in: workspace.paths.root)
        } catch {
            picked.changed = false
            return .failure(Refusal(message: "cannot write \(file): \(error); it is as it was"))
        }
        return .success(picked)
    }
}

extension PickEdit.Failure {
    package func words(file: String) -> String {
        switch self {
        case .noShot(let id, let suggestion): "no shot `\(id)` in \(file)" + (suggestion.map { "; \($0)" } ?? "")
        case .noTake(let shot, let take, let takes):
            "`\(shot)` has no take \(take): its takes are \(takes.map(String.init).joined(separator: ", ")); "
                + "raise `takes:`, or render one more with `kling-render apply --retake \(shot)`"
        case .shared(let shot, let at):
            "the pick of `\(shot)` comes from \(file):\(at.line):\(at.column), which other shots may share "
                + "(an anchor or a merge key): change it there, or write `pick:` in the shot itself"
        case .cannotPlace(let shot, let at):
            "`\(shot)` (\(file):\(at.line)) is written so that one line cannot set its pick (no plain `takes:` or "
                + "`type:` line of its own to add `pick:` after): write `pick:` in it by hand; nothing was written"
        case .lineBreaks:
            "\(file) breaks lines with something other than LF or CRLF; pick edits only those files: nothing was written"
        }
    }
}
