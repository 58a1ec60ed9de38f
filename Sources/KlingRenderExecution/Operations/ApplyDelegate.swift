import Foundation
import KlingRenderCore
import KlingReview

/// Where the apply operation asks and tells, as Terraform's hooks do: every method has a
/// do-nothing default, so a caller implements only what it shows (the CLI's views, a test that
/// records, a benchmark that watches nothing).
package protocol ApplyDelegate: Sendable {
    /// The plan about to be applied, before consent.
    func show(_ plan: Plan, in workspace: Workspace)
    /// Asked before credits are spent; throws `ApplyFailure.refused` (or any failure) to say no.
    func consent(to plan: Plan) async throws
    /// Another run holds the manifest's lock, and this one waits for it.
    func waitingForLock(heldBy holder: String, state: String)
    /// The plan has nothing to do.
    func nothingToDo(_ plan: Plan, workspace: Workspace)
    func note(_ note: ApplyNote)
    /// The engine is about to run this plan (what a live view lays out).
    func willRun(_ plan: Plan)
    /// One of the engine's events.
    func event(_ event: ExecutionEvent)
    /// The run is over: its report.
    func finished(_ report: ApplyReport, plan: Plan, workspace: Workspace)
    func reviewWritten(_ written: ReviewPage.Written, workspace: Workspace)
}

extension ApplyDelegate {
    package func show(_ plan: Plan, in workspace: Workspace) {}
    package func consent(to plan: Plan) async throws { throw ApplyFailure.refused(credits: plan.totalCredits) }
    package func waitingForLock(heldBy holder: String, state: String) {}
    package func nothingToDo(_ plan: Plan, workspace: Workspace) {}
    package func note(_ note: ApplyNote) {}
    package func willRun(_ plan: Plan) {}
    package func event(_ event: ExecutionEvent) {}
    package func finished(_ report: ApplyReport, plan: Plan, workspace: Workspace) {}
    package func reviewWritten(_ written: ReviewPage.Written, workspace: Workspace) {}
}

/// What the operation tells along the way that is neither an event nor a failure.
package enum ApplyNote: Sendable, Equatable {
    /// Under the lock, another run had rendered part of the plan: what is left goes on.
    case partlyDone(shots: Int, credits: Int)
    /// Under the lock, another run had rendered the whole plan.
    case nothingLeft
    /// The review page could not be written (the renders are safe).
    case reviewNotWritten(String)
}

/// Why `apply` stopped before anything was sent (or, for `uncertain`, with nothing to send).
/// Typed, so that the caller decides from the case and a view words it; never a sentence to search.
package enum ApplyFailure: Error, Sendable {
    /// The project and the manifest cannot be planned.
    case plan(PlanError)
    /// Under the lock, with the manifest read again, they can no longer be planned.
    case replanned(PlanError)
    /// The manifest could not be read again under the lock.
    case workspace(Workspace.Failure)
    /// A saved plan no longer matches the project or the manifest.
    case stale(planFile: String, problem: String, options: PlanOptions)
    /// A saved plan costs more than the project's budget allows.
    case savedOverBudget(planFile: String, credits: Int, budget: Int)
    case overBudget(Plan)
    /// The machine or the project lacks what the plan needs (ffmpeg, a store, credentials).
    case assets(AssetProblem)
    /// The output folder is a file, or a link out of the project.
    case outputFolder(FolderError)
    /// Consent was not given.
    case refused(credits: Int)
    /// Tasks in the manifest were recorded against another endpoint than this run's.
    case otherEndpoint(state: String, recorded: String, current: String)
    /// The manifest's lock is held, or cannot be taken.
    case lock(StateLockError)
    /// Under the lock the plan came out different from the one shown.
    case changedMeanwhile(state: String)
    /// Nothing to do, but these shots are uncertain.
    case uncertain([String])
}
