import ArgumentParser
import Foundation
import KlingRenderCore
import KlingRenderExecution

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Render what the plan says: in dependency order, in parallel; download; write the manifest.",
        discussion: """
            FILE is a project file, or a plan saved by `plan --out`, which is applied exactly and \
            without asking, or refused if the project or the manifest changed since. The key comes from \
            KLING_API_KEY (or --api-key-file); the endpoint from --endpoint, KLING_API_BASE, or \
            https://kling3api.com. --simulate rehearses against a simulator started in this process, \
            writing FILE.sim.manifest.json and OUTPUT-sim/ instead. Exit status: 0 when every shot is \
            rendered and on disk, 1 otherwise.
            """
    )

    @Argument(help: "The project file, or a saved plan.", completion: .file(extensions: ["yaml", "yml", "plan"]))
    var file: String

    @OptionGroup var planning: PlanningOptions

    @Flag(help: "Apply without asking.")
    var yes = false

    @Option(
        help: ArgumentHelp("Tasks in flight at once (default: `parallelism:` in the file, else 4).", valueName: "n"))
    var parallelism: Int?

    @Option(
        help: ArgumentHelp(
            "Stop polling after this long (90s, 30m, 2h); tasks stay in flight for the next apply.", valueName: "time"))
    var timeout: String?

    @Flag(help: "Stop submitting at the first failed shot.")
    var failFast = false

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var stateOptions: StateOptions

    @OptionGroup var locking: LockOptions

    @Flag(help: "Print events as JSON lines.")
    var json = false

    func validate() throws {
        if let parallelism, !(1...256).contains(parallelism) { throw ValidationError("--parallelism takes 1 to 256") }
        if let timeout, TimeSpan.seconds(timeout, atMost: TimeSpan.maxWait) == nil {
            throw ValidationError(
                "--timeout takes a time of at most 30 days, such as 90s, 30m, 2h or 1d; got `\(Printable.short(timeout, limit: 40))`"
            )
        }
    }

    func run() async throws {
        let saved = try readSavedPlan()
        let simulated = saved?.options.simulated ?? planning.simulate
        let project: String
        do {
            project = try saved?.projectPath(planFile: file) ?? file
        } catch {
            throw fail(error.message)
        }
        let workspace = try await openWorkspace(project, simulated: simulated, state: stateOptions)
        var request = Apply.Request(workspace: workspace, planOptions: planning.planOptions)
        (request.saved, request.savedFile, request.consented) = (saved, saved.map { _ in file }, yes)
        request.execution.parallelism = parallelism ?? workspace.project.parallelism ?? 4
        request.execution.timeout = timeout.flatMap { TimeSpan.seconds($0, atMost: TimeSpan.maxWait) }
        request.execution.failFast = failFast
        request.lockWait = locking.wait
        let view = ApplyView(json: json)
        let (connection, json, sessions) = (self.connection, self.json, Sessions())
        let provider = workspace.project.provider
        var apply = Apply(request, delegate: view) {
            try await sessions.open(connection, simulated: simulated, quiet: json, provider: provider).access
        }
        apply.control = view.control
        let report: ApplyReport?
        do {
            report = try await apply.run()
            await sessions.stop()
        } catch let failure as ApplyFailure {
            await sessions.stop()
            // Something written in the file: shown as `validate` shows its errors.
            if case .plan(let error) = failure, error.location != nil { throw fail(error) }
            throw fail(failure.words(in: workspace))
        } catch {
            await sessions.stop()
            throw error
        }
        if report?.succeeded == false { throw ExitCode.failure }
    }

    /// The saved plan FILE names, read and checked against the flags; nil for a project file.
    private func readSavedPlan() throws -> SavedPlan? {
        guard file.hasSuffix(".plan") else { return nil }
        let saved: SavedPlan
        do {
            saved = try SavedPlan.read(file)
        } catch {
            throw fail(error.message)
        }
        if !planning.targets.isEmpty || !planning.replace.isEmpty || !planning.retake.isEmpty || planning.draft {
            throw fail(
                "a saved plan is applied as it was made; make a new one with `kling-render plan --target/--replace/--retake/--draft … --out`"
            )
        }
        if planning.simulate, !saved.options.simulated {
            throw fail(
                "\(file) was planned for real renders; make a rehearsal plan with `kling-render plan --simulate --out`")
        }
        return saved
    }
}
