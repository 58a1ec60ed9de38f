import Foundation
import KlingRenderCore
import KlingRenderExecution
import KlingReview

/// `apply` and `import` as a person sees them: the plan, the question before credits are spent,
/// the live progress (or JSON lines), the summary, the review page's path; Ctrl-C stops the run
/// gracefully, a second Ctrl-C at once. The apply operation's delegate.
class ApplyView: ApplyDelegate, @unchecked Sendable {
    let json: Bool
    /// What an interrupt stops.
    let control = ApplyControl()
    private let lock = NSLock()
    private var progress: ProgressView?
    private var ticker: Task<Void, Never>?
    private var interrupts: InterruptHandler?

    init(json: Bool) {
        self.json = json
    }

    func show(_ plan: Plan, in workspace: Workspace) {
        if !json { print(PlanView(terminal: .standardOutput).render(plan), terminator: "") }
    }

    func consent(to plan: Plan) async throws {
        try confirmOnTerminal(
            plan.simulated
                ? "\nRehearse this plan against the simulator? No credits are spent."
                : "\nApply this plan and spend up to \(plan.totalCredits.formatted) credits?",
            offTerminal:
                "apply asks before it spends credits, and standard input is not a terminal: pass --yes to apply this plan (\(plan.totalCredits.formatted) credits)",
            cancelled: "Apply cancelled; nothing was sent.")
    }

    func waitingForLock(heldBy holder: String, state: String) {
        if !json { printError("waiting for the lock: \(state) is locked by \(Printable.escaped(holder))…") }
    }

    func nothingToDo(_ plan: Plan, workspace: Workspace) {
        guard json else { return print("Nothing to do: no request was sent.") }
        let shots = plan.shots.map { shot in
            ApplyReport.ShotResult(
                id: shot.key, outcome: shot.action == .uncertain ? .uncertain(.recordedUncertain) : .unchanged)
        }
        let report = ApplyReport(shots: shots, estimatedCredits: 0, consumedCredits: 0, files: [], stopReason: nil)
        print(
            SummaryView(terminal: .standardOutput, json: true).render(report, plan: plan, workspace: workspace),
            terminator: "")
    }

    func note(_ note: ApplyNote) {
        guard !json else { return }
        switch note {
        case .nothingLeft:
            print("Nothing left to do: another run rendered this plan meanwhile. No request was sent.")
        case .partlyDone(let shots, let credits):
            print(
                "Another run rendered part of this plan meanwhile; applying what is left: \(shots) shot\(shots == 1 ? "" : "s"), \(credits.formatted) credits."
            )
        case .reviewNotWritten(let why):
            printError("warning: the review page was not written: \(why)")
        }
    }

    /// The live view laid out, and Ctrl-C caught before the first request can go out: a signal
    /// that came while the engine started would be lost, or kill the run.
    func willRun(_ plan: Plan) {
        let progress = ProgressView(terminal: .standardOutput, json: json, plan: plan)
        let control = self.control
        let interrupts = InterruptHandler {
            progress.note("interrupted: no new task is submitted; waiting for answers already on their way…")
            control.stop()
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                progress.tick()
            }
        }
        lock.withLock { (self.progress, self.ticker, self.interrupts) = (progress, ticker, interrupts) }
    }

    func event(_ event: ExecutionEvent) {
        lock.withLock { progress }?.handle(event)
    }

    func finished(_ report: ApplyReport, plan: Plan, workspace: Workspace) {
        let (progress, ticker, interrupts) = lock.withLock { (self.progress, self.ticker, self.interrupts) }
        ticker?.cancel()
        interrupts?.stop()
        progress?.finish()
        print(
            SummaryView(terminal: .standardOutput, json: json).render(report, plan: plan, workspace: workspace),
            terminator: "")
    }

    func reviewWritten(_ written: ReviewPage.Written, workspace: Workspace) {
        if !json { print(ReviewPage.describe(written, workspace: workspace), terminator: "") }
    }
}
