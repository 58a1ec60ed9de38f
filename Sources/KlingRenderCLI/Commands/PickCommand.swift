import ArgumentParser
import Foundation
import KlingRenderCore

/// `kling-render pick FILE SHOT TAKE`: the take a shot's users get, set where it is written.
struct PickCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pick",
        abstract: "Choose a shot's take: set its `pick:` in the project file, changing nothing else.",
        discussion: """
            Exactly one value changes, or one line `pick: N` is added after `takes:`; comments, order, \
            quoting and line endings are kept, and the file is replaced atomically. Only a take within \
            `takes:` or one that was rendered can be picked. `kling-render plan` then shows what the pick \
            changes (the shots that use its video, the cut).
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Argument(help: "The shot.")
    var shot: String

    @Argument(help: "The take its users get (1 for the first).")
    var take: Int

    @Flag(help: "Count the takes of the simulator's manifest as rendered.")
    var simulate = false

    @OptionGroup var stateOptions: StateOptions

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: simulate, state: stateOptions)
        // The bytes the project was loaded from, checked to be them: the edit is made on them.
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw fail("cannot read \(file) again: \(error.localizedDescription)")
        }
        guard Digest.sha256Hex(data) == workspace.projectDigest, let text = String(validating: data, as: UTF8.self)
        else { throw fail("\(file) changed while it was read; nothing was written") }
        let rendered = workspace.manifest?.takeNumbers(of: shot) ?? []
        switch PickEdit.edit(text, project: workspace.project, shot: shot, take: take, rendered: rendered) {
        case .failure(let failure): throw fail(failure.words(file: file))
        case .success(let edit):
            if edit.before == edit.after {
                print("\(file):\(edit.line): `\(shot)` already picks take \(take); nothing was written.")
                return
            }
            do {
                try AtomicFile.write(
                    Data(edit.text.utf8), to: URL(fileURLWithPath: file).lastPathComponent, in: workspace.paths.root)
            } catch {
                throw fail("cannot write \(file): \(error); it is as it was")
            }
            let was = edit.before.map { "pick: \($0) → " } ?? "added "
            print(
                "\(file):\(edit.line): \(was)pick: \(take) (`\(shot)`). `kling-render plan \(file)` shows what it changes."
            )
        }
    }
}

extension PickEdit.Failure {
    func words(file: String) -> String {
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
