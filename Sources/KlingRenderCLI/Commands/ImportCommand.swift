import ArgumentParser
import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution

/// `kling-render import FILE ID TASK_ID`: Terraform's `import`, for renders. A shot whose request's
/// answer was lost (uncertain) adopts the task found in the Kling dashboard, which is then polled,
/// downloaded and recorded as if `apply` had submitted it: nothing is submitted, nothing paid again.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Adopt a task from your Kling dashboard as a shot's render (after a lost answer).",
        discussion: """
            The task is asked for its status; the request it echoes must have the shot's type and prompt \
            (--force adopts it all the same). It is then polled until done, downloaded and recorded in the \
            manifest. A shot that already has a finished render is replaced only after you say yes (--yes). \
            The simulator lists its tasks at GET /_sim/tasks.
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Argument(help: "The shot that adopts the task (a take other than the first: `sunrise.take2`).")
    var id: String

    @Argument(help: "The task id, as the Kling dashboard shows it.")
    var taskID: String

    @Flag(help: "Adopt the task even if its request is not the shot's.")
    var force = false

    @Flag(help: "Replace a finished render without asking.")
    var yes = false

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var stateOptions: StateOptions

    @OptionGroup var locking: LockOptions

    @Flag(help: "Print events as JSON lines.")
    var json = false

    func validate() throws {
        guard ManifestCheck.isTaskID(taskID) else {
            throw ValidationError("`\(Printable.short(taskID, limit: 40))` is not a task id")
        }
    }

    func run() async throws {
        let sessions = Sessions()
        do {
            // The lock first, then the manifest: what is read is what is written back.
            let opened = try await openWorkspace(file, simulated: false, state: stateOptions)
            let session = try await sessions.open(
                connection, simulated: false, quiet: json, provider: opened.project.provider)
            let operation = Import(key: id, taskID: taskID, force: force)
            let view = ImportView(json: json, yes: yes)
            let report = try await locking.withLock(opened, command: "import", quiet: json) { writer in
                do {
                    return try await operation.run(
                        in: opened, api: session.access, writer: writer, delegate: view, control: view.control)
                } catch let failure as ImportFailure {
                    throw fail(failure.worded(operation, file: file))
                }
            }
            await sessions.stop()
            if !report.succeeded { throw ExitCode.failure }
        } catch {
            await sessions.stop()
            throw error
        }
    }
}
