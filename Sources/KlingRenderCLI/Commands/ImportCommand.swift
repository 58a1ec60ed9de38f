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

    /// The shot the take `id` belongs to.
    private var shotID: String { Take.parse(id)?.id ?? id }

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
            let session = try await sessions.open(connection, simulated: false, quiet: json)
            // The lock first, then the manifest: what is read is what is written back.
            let opened = try await openWorkspace(file, simulated: false, state: stateOptions)
            try await locking.withLock(opened, command: "import", quiet: json) { writer in
                try await adopt(in: opened, session: session, writer: writer)
            }
            await sessions.stop()
        } catch {
            await sessions.stop()
            throw error
        }
    }

    /// With the lock held: the task checked, recorded, then polled and downloaded.
    private func adopt(in opened: Workspace, session: Session, writer: any ManifestWriter) async throws {
        let workspace = try await reloadManifest(of: opened)
        let planned = try plannedShot(in: workspace)
        guard let shot = workspace.project.shot(shotID) else { throw fail("no shot `\(shotID)` in \(file)") }
        try checkEndpoint(workspace, session: session)
        let report = try await askForTask(session)
        try compare(report, with: shot)
        if let recorded = workspace.manifest?.shots[id], [.succeeded, .running].contains(recorded.status), !yes {
            try confirmReplace(recorded)
        }
        try await record(report, shot: shot, planned: planned, in: workspace, writer: writer)
        // Made again from the manifest just written: the shot resumes its adopted task.
        let adopted = try await reloadManifest(of: workspace)
        var plan = try adopted.plan()
        plan.shots = plan.shots.filter { $0.key == id }
        plan.removed = []
        plan.totalCredits = 0
        guard plan.shots.first?.action == .resume else { throw fail("\(id) cannot resume task \(taskID)") }
        if !json { print("Importing task \(taskID) as \(id).") }
        let view = ApplyView(json: json)
        let result = await Apply.render(
            plan, in: adopted, api: session.access, writer: writer, options: ExecutionOptions(), assets: AssetOptions(),
            delegate: view, control: view.control)
        if !result.succeeded { throw ExitCode.failure }
    }

    private func plannedShot(in workspace: Workspace) throws -> Plan.PlannedShot {
        do {
            let plan = try workspace.plan(PlanOptions(targets: [shotID]))
            guard let planned = plan.shots.first(where: { $0.key == id }) else {
                throw fail(
                    "`\(shotID)` has no take `\(id)`: its takes are \(plan.shots.filter { $0.id == shotID }.map(\.key).joined(separator: ", "))"
                )
            }
            return planned
        } catch let error as PlanError {
            throw fail(error.message)
        }
    }

    private func askForTask(_ session: Session) async throws -> TaskReport {
        do {
            return try await session.client.status(taskID: taskID)
        } catch .taskNotFound {
            throw fail(
                "the API does not know task \(taskID): check the id in your Kling dashboard. Nothing was changed.")
        } catch {
            throw fail("cannot ask for task \(taskID): \(error). Nothing was changed.")
        }
    }

    /// The echoed request must be the shot's (type and prompt), unless `--force`.
    private func compare(_ report: TaskReport, with shot: Shot) throws {
        guard !force else { return }
        let prompt = shot.request { _ in "" }["prompt"]
        var differences: [String] = []
        if report.echoedRequest.isEmpty {
            throw fail(
                "the API does not echo task \(taskID)'s request, so it cannot be checked; --force imports it unchecked")
        }
        if report.echoedRequest["type"] != shot.type.name {
            differences.append("type `\(report.echoedRequest["type"] ?? "none")`, not `\(shot.type.name)`")
        }
        if let prompt, .string(report.echoedRequest["prompt"] ?? "") != prompt {
            differences.append("another prompt (`\(Printable.short(report.echoedRequest["prompt"] ?? "", limit: 60))`)")
        }
        if !differences.isEmpty {
            throw fail(
                "task \(taskID) is not a render of \(id): it has \(differences.joined(separator: " and ")). "
                    + "Pick the right task, or --force to import it anyway. Nothing was changed.")
        }
    }

    /// Tasks of other shots recorded against another endpoint would be taken for this one's.
    private func checkEndpoint(_ workspace: Workspace, session: Session) throws {
        let inFlight = workspace.manifest?.shots.contains { $0.key != id && $0.value.status == .running } ?? false
        guard
            case .otherEndpoint(let state, let recorded, let current)? = Apply.otherEndpoint(
                in: workspace, current: session.label, inFlight: inFlight)
        else { return }
        throw fail(
            "tasks in \(state) were recorded against \(Printable.short(recorded, limit: 120)), "
                + "and this import uses \(current). Check which of the two is your Kling API; nothing was changed")
    }

    /// A finished render, or a task in flight (paid for), is replaced only after a yes.
    private func confirmReplace(_ recorded: ManifestShot) throws {
        let what =
            recorded.status == .running
            ? "a task in flight (\(recorded.taskID ?? "?"), already paid for)" : "a finished render"
        try confirmOnTerminal(
            "\(id) already has \(what). Replace it with task \(taskID)?",
            offTerminal: "\(id) already has \(what); pass --yes to replace it with task \(taskID)",
            cancelled: "Import cancelled; nothing was changed.")
    }

    /// The task id goes into the manifest first, as `apply` would have written it.
    private func record(
        _ report: TaskReport, shot: Shot, planned: Plan.PlannedShot, in workspace: Workspace, writer: any ManifestWriter
    ) async throws {
        var manifest =
            workspace.manifest ?? Manifest(project: workspace.project.name, endpoint: "", simulated: false)
        let sent = { (input: MediaInput) -> String in
            if case .shotVideo(let id) = input {
                return manifest.shots[workspace.project.shot(id)?.pickedKey ?? id]?.urls.first ?? ""
            }
            return input.source(workspace.project.inputFiles)
        }
        manifest.shots[id] = ManifestShot(
            type: shot.type.name, fingerprint: planned.fingerprint, request: shot.request(resolve: sent),
            inputs: shot.inputs, status: .running, taskID: taskID, estimatedCredits: planned.estimatedCredits,
            consumedCredits: report.consumedCredits)
        manifest.shots[id]?.picks = shot.upstreamPicks { workspace.project.shot($0)?.pick }
        do {
            try await writer.write(manifest)
        } catch {
            throw fail("cannot write the manifest: \(error). Nothing was changed.")
        }
    }
}
