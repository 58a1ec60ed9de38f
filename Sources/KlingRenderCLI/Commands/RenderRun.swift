import Foundation
import KlingRenderCore
import KlingRenderExecution
import KlingReview

/// A plan rendered through the engine with a person watching: progress on screen, Ctrl-C handled,
/// the summary at the end. `apply` and `import` both end here.
struct RenderRun {
    var workspace: Workspace
    var plan: Plan
    var session: Session
    var json: Bool
    var assets = AssetOptions()
    /// The manifest's writer, from the lock this run holds.
    var writer: any ManifestWriter

    func run(_ options: ExecutionOptions) async -> ApplyReport {
        var options = options
        options.timeScale = session.timeScale
        var manifest =
            workspace.manifest
            ?? Manifest(project: workspace.project.name, endpoint: session.label, simulated: plan.simulated)
        manifest.endpoint = session.label
        manifest.project = workspace.project.name
        let progress = ProgressView(terminal: .standardOutput, json: json, shots: plan.shots, cut: plan.cut)
        let engine = Engine(
            project: workspace.project, plan: plan, paths: workspace.paths, manifest: manifest,
            api: session.client, options: options, writer: writer, assets: assets, events: { progress.handle($0) })
        // Ctrl-C is caught before the first request can go out: a signal that came while the
        // engine started and the handler did not exist yet would be lost, or kill the run.
        let running = RunningTask()
        let interrupts = InterruptHandler {
            progress.note("interrupted: no new task is submitted; waiting for answers already on their way…")
            running.cancel()
        }
        let run = Task { await engine.run() }
        running.set(run)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                progress.tick()
            }
        }
        let report = await run.value
        ticker.cancel()
        interrupts.stop()
        progress.finish()
        print(
            SummaryView(terminal: .standardOutput, json: json).render(report, plan: plan, workspace: workspace),
            terminator: "")
        await writeReview()
        return report
    }

    /// The review page, brought up to date with what this run rendered: its path for a person.
    /// A page that cannot be written is a warning; the renders are safe either way.
    private func writeReview() async {
        guard let current = try? await workspace.reloadingManifest() else { return }
        do {
            let written = try await ReviewPage.write(current)
            if !json { print(ReviewPage.describe(written, workspace: current), terminator: "") }
        } catch {
            if !json { printError("warning: the review page was not written: \(error.message)") }
        }
    }
}

/// The engine's task, cancelled by an interrupt that may come before the task exists.
final class RunningTask: @unchecked Sendable {
    private let lock = NSLock()
    private var task: Task<ApplyReport, Never>?
    private var cancelled = false

    func set(_ task: Task<ApplyReport, Never>) {
        let cancelNow = lock.withLock {
            self.task = task
            return cancelled
        }
        if cancelNow { task.cancel() }
    }

    func cancel() {
        let task = lock.withLock {
            cancelled = true
            return self.task
        }
        task?.cancel()
    }
}
