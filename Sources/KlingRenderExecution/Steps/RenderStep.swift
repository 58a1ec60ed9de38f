import Foundation
import KlingAPI
import KlingRenderCore

/// What happens to a shot that renders: submitted (or resumed), then polled until it ends. Its
/// video URLs go to the output store, where the shots that use them find them; its files are the
/// `DownloadStep`'s.
///
/// Invariants, in the order things happen to a shot that is submitted:
/// 1. the intent to submit is written to the manifest before `POST /api/generate` goes out;
/// 2. the task id is written the moment it is known, before anything else;
/// 3. the POST is sent again only when no task can have been created
///    (`KlingAPIError.isSafeToResubmit`); a lost answer leaves the shot uncertain;
/// 4. a task is never marked failed for a local reason (time-out, interrupt, network): it stays
///    in flight and the next apply polls it.
/// The POST itself is never cancelled half-way: an interrupt waits for its answer.
package struct RenderStep: Step {
    package var planned: Plan.PlannedShot
    package var shot: Shot
    package var context: RunContext

    package init(planned: Plan.PlannedShot, shot: Shot, context: RunContext) {
        self.planned = planned
        self.shot = shot
        self.context = context
    }

    package var resource: Resource { .tasks }
    /// The take's key: the manifest entry, the files, the name in events.
    var id: String { planned.key }

    /// Expected seconds of API time for this render.
    package var expectedSeconds: Double { shot.type.expectedRenderSeconds(videoSeconds: shot.seconds) }

    package func run() async -> StepEnd {
        var end = await render()
        if case .failed = end.outcome, context.options.failFast, end.stop == nil {
            end.stop = .submitting(.failFast(shot: id))
        }
        return end
    }

    private func render() async -> StepEnd {
        let taskID: String
        var resumed = false
        var answeredAt: Double?
        switch planned.action {
        case .resume:
            if let recorded = planned.taskID {
                taskID = recorded
                resumed = true
            } else if context.api.namesTasks, let external = await context.recorder.entry(id)?.externalTaskID {
                // A lost answer under an external id, as the plan said: looked up, else sent again.
                switch await submit(reusing: external) {
                case .success(let created): (taskID, answeredAt) = (created.taskID, created.answeredAt)
                case .failure(let ended): return ended.end
                }
            } else {
                // Never a submission the plan did not show: a resume with no task is uncertain.
                context.emit(RunEvent.uncertain(shot: id, reason: .noTaskToResume))
                return .ended(.uncertain(.noTaskToResume))
            }
        case .render, .rerender:
            switch await submit() {
            case .success(let created): (taskID, answeredAt) = (created.taskID, created.answeredAt)
            case .failure(let ended): return ended.end
            }
        case .unchanged, .download, .uncertain:
            return .success
        }
        return await poll(taskID: taskID, resumed: resumed, since: answeredAt)
    }
}

/// A task this run created, and when the POST's answer came (on the run's clock). The render's
/// time is counted from then: not from when the task id had reached the disk (later by a write),
/// nor from when the POST left (earlier by however long it queued for a connection).
struct Submitted {
    var taskID: String
    var answeredAt: Double
}

/// A step that ended before or instead of a task: carried as an error to leave `submit` early.
struct EndedEarly: Error {
    var end: StepEnd
}
