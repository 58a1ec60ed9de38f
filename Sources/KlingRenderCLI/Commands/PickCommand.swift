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
        switch PickFile.pick(workspace, shot: shot, take: take) {
        case .failure(let refusal): throw fail(refusal.message)
        case .success(let picked) where !picked.changed:
            print("\(file):\(picked.line): `\(shot)` already picks take \(take); nothing was written.")
        case .success(let picked):
            let was = picked.before.map { "pick: \($0) → " } ?? "added "
            print(
                "\(file):\(picked.line): \(was)pick: \(take) (`\(shot)`). `kling-render plan \(file)` shows what it changes."
            )
        }
    }
}
