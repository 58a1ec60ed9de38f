import Foundation
import KlingAPI
import KlingRenderCore
import KlingReview

/// The `apply` operation, whole: the plan made and shown, checked against the budget and the
/// machine, consented to, the API reached, the manifest locked, the plan made again under the
/// lock, the engine run, the report made, the review page written. The CLI, the benchmark and
/// the tests call it; they only turn options into a `Request` and its answers into views.
///
/// Nothing is sent before consent, and nothing is written before the lock: every failure before
/// the engine runs is an `ApplyFailure` that leaves the project, the manifest and the account as
/// they were.
package struct Apply: Sendable {
    /// What was asked.
    package struct Request: Sendable {
        /// The project, opened with its manifest as read before the lock (what the plan shows).
        package var workspace: Workspace
        package var planOptions: PlanOptions
        /// A plan saved by `plan --out`: made again and applied only if identical, without asking.
        package var saved: SavedPlan?
        /// The saved plan's file, for a person.
        package var savedFile: String?
        /// Consent given up front (`--yes`).
        package var consented = false
        package var execution = ExecutionOptions()
        /// Seconds to wait for another holder of the manifest's lock.
        package var lockWait: Double?

        package init(workspace: Workspace, planOptions: PlanOptions) {
            self.workspace = workspace
            self.planOptions = planOptions
        }
    }

    package var request: Request
    /// Reaches the API once the plan is consented to (a rehearsal starts its simulator then).
    package var connect: @Sendable () async throws -> APIAccess
    package var delegate: any ApplyDelegate
    /// Stops the run gracefully when told (an interrupt): no new task, answers on their way kept.
    package var control = ApplyControl()
    /// What the machine has (ffmpeg, the store's credentials): found once, by the caller.
    package var machine = Machine.current

    package init(
        _ request: Request, delegate: any ApplyDelegate, connect: @escaping @Sendable () async throws -> APIAccess
    ) {
        self.request = request
        self.delegate = delegate
        self.connect = connect
    }

    /// The report of the run, or nil when there was nothing to do. Throws before anything is sent,
    /// or when nothing is to do but a shot is uncertain.
    package func run() async throws -> ApplyReport? {
        let shown = request.workspace
        let plan = try makePlan(shown)
        guard plan.hasChanges else {
            try await nothingToDo(plan, workspace: shown)
            return nil
        }
        if let error = Self.outputProblem(shown) { throw ApplyFailure.outputFolder(error) }
        if let problem = AssetRequirements.problem(plan, project: shown.project, machine: machine) {
            throw ApplyFailure.assets(problem)
        }
        if request.saved == nil, !request.consented, plan.totalCredits > 0 { try await delegate.consent(to: plan) }
        let api = try await connect()
        let resumes = plan.shots.contains { $0.action == .resume }
        if let failure = Self.otherEndpoint(in: shown, current: api.label, inFlight: resumes) { throw failure }
        let (delegate, label) = (self.delegate, shown.state.label)
        let waiting: @Sendable (String) -> Void = { delegate.waitingForLock(heldBy: $0, state: label) }
        do {
            return try await withManifestLock(shown.state, command: "apply", wait: request.lockWait, waiting: waiting) {
                try await locked(plan, shown: shown, api: api, writer: $0)
            }
        } catch let error as StateLockError {
            throw ApplyFailure.lock(error)
        }
    }

    /// With the lock held: the plan made again, the output folder made, the plan rendered.
    private func locked(_ plan: Plan, shown: Workspace, api: APIAccess, writer: any ManifestWriter) async throws
        -> ApplyReport?
    {
        guard let (workspace, fresh) = try await planUnderLock(plan, shown: shown) else { return nil }
        do throws(FolderError) {
            try workspace.paths.root.directory(workspace.paths.outputPath, create: true)
        } catch {
            throw ApplyFailure.outputFolder(error)
        }
        return await render(fresh, in: workspace, api: api, writer: writer)
    }

    /// The plan to apply: made now, or a saved plan made again and compared; shown, and checked
    /// against the budget.
    private func makePlan(_ workspace: Workspace) throws(ApplyFailure) -> Plan {
        let plan: Plan
        do {
            plan = try workspace.plan(request.saved?.options ?? request.planOptions)
        } catch {
            throw .plan(error)
        }
        if let saved = request.saved, let problem = saved.staleness(against: workspace) ?? saved.difference(from: plan)
        {
            throw .stale(planFile: request.savedFile ?? "the plan", problem: problem, options: saved.options)
        }
        delegate.show(plan, in: workspace)
        if request.saved != nil, let budget = workspace.project.budget, plan.totalCredits > 0,
            plan.spentCredits.addingSaturated(plan.totalCredits) > budget
        {
            throw .savedOverBudget(
                planFile: request.savedFile ?? "the plan", credits: plan.totalCredits, budget: budget)
        }
        if plan.budgetProblem != nil { throw .overBudget(plan) }
        return plan
    }

    /// A plan with no change: said so, the review page brought up to date; a failure when a shot
    /// is uncertain.
    private func nothingToDo(_ plan: Plan, workspace: Workspace) async throws(ApplyFailure) {
        delegate.nothingToDo(plan, workspace: workspace)
        // The page may predate a pick or a retake made elsewhere: brought up to date.
        if let written = try? await ReviewPage.write(workspace) {
            delegate.reviewWritten(written, workspace: workspace)
        }
        let uncertain = plan.shots.filter { $0.action == .uncertain }.map(\.key)
        if !uncertain.isEmpty { throw .uncertain(uncertain) }
    }

    /// Under the lock, the plan is made again: another apply may have finished while this one asked
    /// for consent or waited for the lock, and its tasks must not be submitted twice. The same plan
    /// goes on; a plan with part of the work done by the other run goes on with what is left, as
    /// that was consented to; anything else is shown again. nil: nothing is left to do.
    private func planUnderLock(_ plan: Plan, shown: Workspace) async throws(ApplyFailure) -> (Workspace, Plan)? {
        let workspace: Workspace
        let fresh: Plan
        do {
            workspace = try await shown.reloadingManifest()
            fresh = try workspace.plan(request.saved?.options ?? request.planOptions)
        } catch let error as Workspace.Failure {
            throw .workspace(error)
        } catch let error as PlanError {
            throw .replanned(error)
        } catch {
            throw .workspace(.manifest(ManifestError(path: shown.state.label, reason: "\(error)")))
        }
        guard fresh.shots != plan.shots else { return (workspace, plan) }
        let consented = Set(plan.shots.filter { $0.action.submits }.map(\.key))
        let left = fresh.shots.filter { $0.action.submits }
        guard request.saved == nil, fresh.totalCredits <= plan.totalCredits,
            left.allSatisfy({ consented.contains($0.key) }), !fresh.shots.contains(where: { $0.action == .uncertain })
        else { throw .changedMeanwhile(state: workspace.state.label) }
        guard fresh.hasChanges else {
            delegate.note(.nothingLeft)
            return nil
        }
        delegate.note(.partlyDone(shots: Set(left.map(\.id)).count, credits: fresh.totalCredits))
        return (workspace, fresh)
    }

    /// The engine over the plan, with the lock held; the report, then the review page.
    private func render(_ plan: Plan, in workspace: Workspace, api: APIAccess, writer: any ManifestWriter) async
        -> ApplyReport
    {
        let assets = AssetRequirements.options(
            for: workspace.project, machine: machine, rehearsalStore: api.rehearsalStore)
        return await Self.render(
            plan, in: workspace, api: api, writer: writer, options: request.execution, assets: assets,
            delegate: delegate, control: control)
    }

    /// A plan run by the engine with the manifest's lock held, reported, and the review page
    /// brought up to date: `apply` and `import` both end here.
    package static func render(
        _ plan: Plan, in workspace: Workspace, api: APIAccess, writer: any ManifestWriter, options: ExecutionOptions,
        assets: AssetOptions, delegate: any ApplyDelegate, control: ApplyControl
    ) async -> ApplyReport {
        var options = options
        options.timeScale = api.timeScale
        var manifest =
            workspace.manifest
            ?? Manifest(project: workspace.project.name, endpoint: api.label, simulated: plan.simulated)
        manifest.endpoint = api.label
        manifest.project = workspace.project.name
        delegate.willRun(plan)
        let engine = Engine(
            project: workspace.project, plan: plan, paths: workspace.paths, manifest: manifest, api: api.client,
            options: options, writer: writer, assets: assets, events: { delegate.event($0) })
        let report = await control.run { await engine.run() }
        delegate.finished(report, plan: plan, workspace: workspace)
        await writeReview(of: workspace, delegate: delegate)
        return report
    }

    /// The review page, brought up to date with what this run rendered. A page that cannot be
    /// written is a warning; the renders are safe either way.
    private static func writeReview(of workspace: Workspace, delegate: any ApplyDelegate) async {
        guard let current = try? await workspace.reloadingManifest() else { return }
        do throws(ReviewPage.Failure) {
            delegate.reviewWritten(try await ReviewPage.write(current), workspace: current)
        } catch {
            delegate.note(.reviewNotWritten(error.message))
        }
    }

    /// Tasks recorded against another endpoint than `current` are not resumed (`inFlight`: the
    /// plan would resume or poll some). The manifest may come from someone else: never advise
    /// sending the key to the host it names. One check for `apply` and `import`.
    package static func otherEndpoint(in workspace: Workspace, current: String, inFlight: Bool) -> ApplyFailure? {
        guard inFlight, let recorded = workspace.manifest?.endpoint, !recorded.isEmpty, recorded != current else {
            return nil
        }
        return .otherEndpoint(state: workspace.state.label, recorded: recorded, current: current)
    }

    /// Why the output folder cannot take the videos (a file, a link out of the project), checked
    /// before anything is sent; a folder that does not exist yet is made under the lock.
    static func outputProblem(_ workspace: Workspace) -> FolderError? {
        do {
            try workspace.paths.root.directory(workspace.paths.outputPath, create: false)
            return nil
        } catch {
            return error.isMissing ? nil : error
        }
    }
}

/// How `apply` reaches the API: the client, what the manifest records as its endpoint, its time
/// scale, and in a rehearsal the simulator's loopback store.
package struct APIAccess: Sendable {
    package var client: any KlingService
    /// What the manifest records: the base URL, or "simulator".
    package var label: String
    package var timeScale: Double
    /// The simulator's store, which hosts a rehearsal's assets when the project names none.
    package var rehearsalStore: String?

    package init(client: any KlingService, label: String, timeScale: Double, rehearsalStore: String? = nil) {
        self.client = client
        self.label = label
        self.timeScale = timeScale
        self.rehearsalStore = rehearsalStore
    }
}

/// Stops a run gracefully from outside (an interrupt): no new task is submitted, the answers on
/// their way are awaited and recorded. A stop that comes before the run started is kept for it.
package final class ApplyControl: @unchecked Sendable {
    private let lock = NSLock()
    private var task: Task<ApplyReport, Never>?
    private var stopped = false

    package init() {}

    package func stop() {
        let task = lock.withLock {
            stopped = true
            return self.task
        }
        task?.cancel()
    }

    /// Runs `body` in a task of its own, so that a stop cancels it alone, not what follows it.
    func run(_ body: @escaping @Sendable () async -> ApplyReport) async -> ApplyReport {
        let task = Task { await body() }
        let stopNow = lock.withLock {
            self.task = task
            return stopped
        }
        if stopNow { task.cancel() }
        return await task.value
    }
}
