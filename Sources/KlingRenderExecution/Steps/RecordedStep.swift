/// A shot whose outcome is already known from the manifest (an earlier request's answer was lost):
/// nothing runs, and everything that uses its video is blocked.
package struct RecordedStep: Step {
    package var id: String
    package var outcome: ShotOutcome
    package var context: RunContext

    package var resource: Resource { .none }

    package func run() async -> StepEnd {
        if case .uncertain(let reason) = outcome { context.emit(RunEvent.uncertain(shot: id, reason: reason)) }
        return .ended(outcome)
    }
}
