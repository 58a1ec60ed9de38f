import Foundation

/// How `apply` runs: the options of the command, in one place.
package struct ExecutionOptions: Sendable {
    /// Tasks in flight at once (submitted and not finished). Status requests do not count.
    package var parallelism = 4
    /// Real seconds after which polling stops; the tasks stay in flight for the next apply.
    package var timeout: Double?
    /// Stop submitting at the first failure.
    package var failFast = false
    /// API seconds per real second: expected render times, back-offs and Retry-After are divided by
    /// it (a compressed simulator; 1 against the real API).
    package var timeScale = 1.0
    /// Tries of one request that may be sent again (429, 5xx, connection refused).
    package var submitAttempts = 8
    /// Downloads at once.
    package var downloads = 4
    /// Size cap and stall time-out of each download.
    package var downloadLimits = DownloadLimits()
    /// Consecutive status answers that cannot be used (HTML, oversized, 4xx/5xx, a foreign task id)
    /// after which a shot stops being polled: it stays in flight, and the next apply polls it again.
    package var maxUnusableAnswers = 10

    package init() {}
}

/// How one shot ended in a run.
package enum ShotOutcome: Sendable, Equatable {
    /// Nothing to do: its render was current.
    case unchanged
    /// Rendered (or resumed, or downloaded again) and on disk.
    case done
    case failed(String)
    /// Not started: an upstream shot has no output.
    case blocked(by: String)
    /// The answer to its request was lost: a task may exist.
    case uncertain(String)
    /// Still rendering when the run stopped (time-out, interrupt): the next apply resumes it.
    case inFlight(taskID: String)
    /// Still in flight, but its status answers could not be used, again and again: polling
    /// stopped. Never resubmitted; the next apply polls it again.
    case unanswered(taskID: String, reason: String)
    /// Rendered, but its video could not be fetched.
    case downloadFailed(String)
    /// Never started: the run stopped submitting first.
    case notStarted(String)

    package var isSuccess: Bool { self == .unchanged || self == .done }
}

/// The end of a run: each shot's outcome, in plan order, and the money.
package struct ApplyReport: Sendable {
    package var outcomes: [(id: String, outcome: ShotOutcome)]
    package var estimatedCredits: Int
    package var consumedCredits: Int
    package var files: [ManifestFileWritten]
    /// Why the run stopped early, if it did.
    package var stopReason: String?

    package init(
        outcomes: [(id: String, outcome: ShotOutcome)], estimatedCredits: Int, consumedCredits: Int,
        files: [ManifestFileWritten], stopReason: String?
    ) {
        self.outcomes = outcomes
        self.estimatedCredits = estimatedCredits
        self.consumedCredits = consumedCredits
        self.files = files
        self.stopReason = stopReason
    }

    package var succeeded: Bool { stopReason == nil && outcomes.allSatisfy { $0.outcome.isSuccess } }
}

package struct ManifestFileWritten: Sendable, Equatable {
    package var shot: String
    package var path: String
    package var bytes: Int64
}
