import ArgumentParser
import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import KlingReview
import KlingSimulator

#if canImport(Glibc)
    import Glibc
#endif

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
        if let timeout, Self.seconds(timeout) == nil {
            throw ValidationError(
                "--timeout takes a time of at most 30 days, such as 90s, 30m, 2h or 1d; got `\(Printable.short(timeout, limit: 40))`"
            )
        }
    }

    /// `90`, `90s`, `30m`, `2h`, `1d`: a time above 0 and at most 30 days, else nil.
    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let u = units[last] {
            number = text.dropLast()
            unit = u
        }
        // Decimal digits only: `inf`, `nan`, `0x10` and `1e300` are not times.
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let n = Double(number)
        else { return nil }
        let seconds = n * unit
        return seconds > 0 && seconds <= 30 * 86_400 ? seconds : nil
    }

    func run() async throws {
        let saved = try readSavedPlan()
        let simulated = saved?.options.simulated ?? planning.simulate
        let (shown, shownPlan) = try await makePlan(saved: saved, simulated: simulated)
        guard shownPlan.hasChanges else { return try await nothingToDo(shownPlan, workspace: shown) }
        // Output folder, consent, key and endpoint: all before anything is sent.
        if let problem = outputProblem(shown) { throw fail(problem) }
        if let problem = AssetWiring.problem(shownPlan, project: shown.project, simulated: simulated) {
            throw fail(problem)
        }
        if saved == nil, !yes, shownPlan.totalCredits > 0 { try confirm(shownPlan) }
        let session = try await connection.connect(simulated: simulated, quiet: json)
        defer { Task { await session.simulator?.stop() } }
        try checkEndpoint(of: shown, plan: shownPlan, against: session)
        let writer = try await locking.lock(shown, command: "apply", quiet: json)
        do {
            if let (workspace, plan) = try await planUnderLock(shownPlan, in: shown, saved: saved) {
                try await render(plan, in: workspace, session: session, writer: writer)
            }
        } catch {
            await writer.release()
            throw error
        }
        await writer.release()
    }

    /// The plan rendered, with the lock held.
    private func render(_ plan: Plan, in workspace: Workspace, session: Session, writer: any ManifestWriter)
        async throws
    {
        do {
            try workspace.paths.root.directory(workspace.paths.outputPath, create: true)
        } catch {
            throw fail("the output folder cannot be used: \(error); nothing was sent")
        }
        var options = ExecutionOptions()
        options.parallelism = parallelism ?? workspace.project.parallelism ?? 4
        options.timeout = timeout.flatMap(Self.seconds)
        options.failFast = failFast
        let assets = AssetWiring.options(for: workspace.project, session: session)
        let report = await RenderRun(
            workspace: workspace, plan: plan, session: session, json: json, assets: assets, writer: writer
        ).run(options)
        if !report.succeeded { throw ExitCode.failure }
    }

    /// The options a plan was made with, as `plan` takes them: the command that makes it again.
    static func flags(_ options: PlanOptions) -> String {
        var flags: [String] = []
        if options.simulated { flags.append("--simulate") }
        flags += options.targets.map { "--target \($0)" } + options.replace.map { "--replace \($0)" }
        flags += options.retake.map { "--retake \($0)" }
        if let max = options.maxCredits { flags.append("--max-credits \(max)") }
        if options.verify { flags.append("--verify") }
        return flags.map { " " + $0 }.joined()
    }

    /// What to apply: a saved plan, made again and compared, or a plan made now; shown, and checked
    /// against the budget.
    private func makePlan(saved: SavedPlan?, simulated: Bool) async throws -> (Workspace, Plan) {
        if saved != nil, !planning.targets.isEmpty || !planning.replace.isEmpty || !planning.retake.isEmpty {
            throw fail(
                "a saved plan is applied as it was made; make a new one with `kling-render plan --target/--replace/--retake … --out`"
            )
        }
        if let saved, planning.simulate, !saved.options.simulated {
            throw fail(
                "\(file) was planned for real renders; make a rehearsal plan with `kling-render plan --simulate --out`")
        }
        let workspace: Workspace
        let plan: Plan
        do {
            workspace = try await openWorkspace(
                try saved?.projectPath(planFile: file) ?? file, simulated: simulated, state: stateOptions)
            // A saved plan is made again from the project and the manifest, and applied only if the same.
            plan = try workspace.plan(saved?.options ?? planning.planOptions)
        } catch let error as PlanError {
            throw fail(error.message)
        }
        if let saved, let problem = saved.staleness(against: workspace) ?? saved.difference(from: plan) {
            throw fail(
                "\(file) is stale: \(problem); nothing was sent. Make a new plan with `kling-render plan \(workspace.project.file)\(Self.flags(saved.options)) --out \(file)`"
            )
        }
        if !json { print(PlanView(terminal: .standardOutput).render(plan), terminator: "") }
        if saved != nil, let budget = workspace.project.budget, plan.totalCredits > budget {
            throw fail(
                "\(file) costs \(plan.totalCredits.formatted) credits, above `budget: \(budget)` in \(workspace.project.file); a saved plan cannot raise the budget. Nothing was sent."
            )
        }
        if let problem = plan.budgetProblem {
            throw fail("\(problem); nothing was sent. Raise `budget:` or pass --max-credits, or --target fewer shots")
        }
        return (workspace, plan)
    }

    /// A plan with no change: say so (or print the summary), and fail if a shot is uncertain.
    private func nothingToDo(_ plan: Plan, workspace: Workspace) async throws {
        if json {
            let shots = plan.shots.map { shot in
                ApplyReport.ShotResult(
                    id: shot.key, outcome: shot.action == .uncertain ? .uncertain(.recordedUncertain) : .unchanged)
            }
            let report = ApplyReport(shots: shots, estimatedCredits: 0, consumedCredits: 0, files: [], stopReason: nil)
            print(
                SummaryView(terminal: .standardOutput, json: true).render(report, plan: plan, workspace: workspace),
                terminator: "")
        } else {
            print("Nothing to do: no request was sent.")
            // The page may predate a pick or a retake made elsewhere: brought up to date, and shown.
            if let written = try? await ReviewPage.write(workspace) {
                print(ReviewPage.describe(written, workspace: workspace), terminator: "")
            }
        }
        let uncertain = plan.shots.filter { $0.action == .uncertain }.map(\.key)
        if !uncertain.isEmpty {
            throw fail(
                "\(uncertain.joined(separator: ", ")) uncertain: check your Kling account, then `kling-render import` the task, or `--replace ID` to submit again"
            )
        }
    }

    /// Under the lock, the plan is made again: another apply may have finished while this one asked
    /// for consent or waited for the lock, and its tasks must not be submitted twice. The same plan
    /// goes on; a plan with part of the work done by the other run goes on with what is left, as
    /// that was consented to; anything else is shown again. nil: nothing is left to do.
    private func planUnderLock(_ plan: Plan, in shown: Workspace, saved: SavedPlan?) async throws -> (Workspace, Plan)?
    {
        let workspace = try await reloadManifest(of: shown)
        let fresh: Plan
        do {
            fresh = try workspace.plan(saved?.options ?? planning.planOptions)
        } catch {
            throw fail("\(error.message); nothing was sent")
        }
        guard fresh.shots != plan.shots else { return (workspace, plan) }
        let consented = Set(plan.shots.filter { $0.action.submits }.map(\.key))
        let left = fresh.shots.filter { $0.action.submits }
        guard saved == nil, fresh.totalCredits <= plan.totalCredits, left.allSatisfy({ consented.contains($0.key) }),
            !fresh.shots.contains(where: { $0.action == .uncertain })
        else {
            throw fail(
                "\(workspace.state.label) changed while the plan was shown (another apply?); nothing was sent. Run apply again to see the new plan"
            )
        }
        guard fresh.hasChanges else {
            if !json { print("Nothing left to do: another run rendered this plan meanwhile. No request was sent.") }
            return nil
        }
        if !json {
            let shots = Set(left.map(\.id)).count
            print(
                "Another run rendered part of this plan meanwhile; applying what is left: \(shots) shot\(shots == 1 ? "" : "s"), \(fresh.totalCredits.formatted) credits."
            )
        }
        return (workspace, fresh)
    }

    /// Tasks recorded against another endpoint are not resumed here. The manifest may come from
    /// someone else: never advise sending the key to the host it names.
    private func checkEndpoint(of workspace: Workspace, plan: Plan, against session: Session) throws {
        guard let manifest = workspace.manifest, manifest.endpoint != session.label,
            plan.shots.contains(where: { $0.action == .resume })
        else { return }
        throw fail(
            "tasks in \(workspace.state.label) were recorded against \(Printable.short(manifest.endpoint, limit: 120)), "
                + "and this run uses \(session.label). Check which of the two is your Kling API before resuming them; nothing was sent"
        )
    }

    private func readSavedPlan() throws -> SavedPlan? {
        guard file.hasSuffix(".plan") else { return nil }
        do {
            return try SavedPlan.read(file)
        } catch {
            throw fail(error.message)
        }
    }

    private func confirm(_ plan: Plan) throws {
        try confirmOnTerminal(
            "\nApply this plan and spend up to \(plan.totalCredits.formatted) credits?",
            offTerminal:
                "apply asks before it spends credits, and standard input is not a terminal: pass --yes to apply this plan (\(plan.totalCredits.formatted) credits)",
            cancelled: "Apply cancelled; nothing was sent.")
    }

    /// Why the output folder cannot take the videos (a file, a link out of the project), checked
    /// before anything is sent; a folder that does not exist yet is made after consent.
    private func outputProblem(_ workspace: Workspace) -> String? {
        let error: FolderError
        do {
            try workspace.paths.root.directory(workspace.paths.outputPath, create: false)
            return nil
        } catch let refused {
            error = refused
        }
        if error.reason == "no such folder" { return nil }
        return "the output folder cannot be used: \(error); nothing was sent"
    }
}

/// The write end of the interrupt pipe, for the signal handler: a C function cannot capture.
nonisolated(unsafe) private var interruptPipe: Int32 = -1

/// SIGINT and SIGTERM: the first stops the run gracefully, the second exits at once (the manifest
/// is whole at every moment, so nothing is lost either way).
///
/// A process-wide handler that writes a byte to a pipe (the one async-signal-safe thing to do),
/// read by a thread of its own. Not a dispatch signal source over `SIG_IGN`: that receives only
/// signals the kernel hands to a thread that blocks them, and a signal given to one of the many
/// threads started before it (the HTTP client's, the concurrency pool's) was silently ignored.
final class InterruptHandler: @unchecked Sendable {
    init(_ onFirst: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        interruptPipe = fds[1]
        let reader = fds[0]
        Thread {
            InterruptHandler.unblock()
            var count = 0
            var byte: UInt8 = 0
            while POSIX.read(reader, &byte, 1) == 1 {
                count += 1
                if count == 1 { onFirst() } else { exit(130) }
            }
        }.start()
        // A process may start with these blocked (its parent's mask is inherited): unblocked here
        // and on the reader's thread, some thread always takes them.
        Self.unblock()
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { _ in
                var byte: UInt8 = 1
                _ = POSIX.write(interruptPipe, &byte, 1)
            }
        }
    }

    static func unblock() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    func stop() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        let write = interruptPipe
        interruptPipe = -1
        if write >= 0 { close(write) }
    }
}
