import Foundation
import KlingRenderCore

/// Why a shot did not render, or why the run stopped: typed, so that the engine never words
/// advice for a person. The CLI's views word each case once (and add the command that fixes it).
package enum Reason: Sendable, Equatable, Codable {
    /// The API refused the request (a 4xx): sending it again gives the same answer.
    case rejected(status: Int, code: String?, message: String)
    /// The task ended FAILED.
    case taskFailed(message: String)
    /// The request went out and its answer was lost: a task may exist, and may be charged.
    case answerLost(detail: String)
    /// The manifest records a submission whose answer was lost (an earlier run).
    case recordedUncertain
    /// The manifest says a task runs but names none.
    case noTaskToResume
    /// Sent again `tries` times where no task could exist (429, 5xx, refused), and given up.
    case submitGaveUp(tries: Int, last: String)
    /// 401: the key was refused.
    case keyRefused
    /// 402: the account cannot pay.
    case noCredits(message: String)
    /// `--fail-fast` after this shot failed.
    case failFast(shot: String)
    /// Ctrl-C.
    case interrupted
    /// `--timeout` passed.
    case timedOut
    /// Status answers in a row that could not be used.
    case unusableAnswers(count: Int, last: String)
    /// The API does not know the task (404, three times).
    case taskUnknown(taskID: String)
    /// A video URL answers 403/404/410.
    case urlExpired(status: Int)
    /// A video could not be fetched (tries ran out, a disk or path problem, a refused URL).
    case download(detail: String)
    /// Nothing to download: the render has no video URL.
    case noVideoURL
    /// The manifest cannot be written, so nothing is submitted.
    case manifestUnwritable(detail: String)
    /// A local file or frame could not be hosted (missing, changed, ffmpeg, the store refused).
    case asset(path: String, detail: String)
    /// An upstream shot's video URL is dead or too old and cannot be replaced by an upload.
    case inputUnavailable(upstream: String, detail: String)
    /// The same, and no asset store is configured that could host the upstream's file instead.
    case inputNeedsStore(upstream: String, why: String)
    /// The cut could not be assembled (a clip not as recorded, ffmpeg, the disk).
    case cut(detail: String)
    /// The run stopped before this shot's turn (the stop's own reason).
    indirect case stopped(Reason)
}

/// How one shot ended in a run.
package enum ShotOutcome: Sendable, Equatable, Codable {
    /// Nothing to do: its render was current.
    case unchanged
    /// Rendered (or resumed, or downloaded again) and on disk.
    case done
    case failed(Reason)
    /// Not started: an upstream shot has no output.
    case blocked(by: String)
    /// The answer to its request was lost: a task may exist.
    case uncertain(Reason)
    /// Still rendering when the run stopped (time-out, interrupt, unusable answers): the next apply
    /// polls it again, never submits it again.
    case inFlight(taskID: String, Reason)
    /// Rendered, but its video could not be fetched.
    case downloadFailed(Reason)
    /// Never started: the run stopped submitting first.
    case notStarted(Reason)

    package var isSuccess: Bool { self == .unchanged || self == .done }

    package var isInFlight: Bool {
        if case .inFlight = self { return true }
        return false
    }
}

/// The end of a run, as a value: each shot's outcome in plan order, the money, the files. The
/// human summary and `--json` are two views of this one value.
package struct ApplyReport: Sendable, Equatable, Codable {
    package struct ShotResult: Sendable, Equatable, Codable {
        package var id: String
        package var outcome: ShotOutcome

        package init(id: String, outcome: ShotOutcome) {
            self.id = id
            self.outcome = outcome
        }
    }

    package var shots: [ShotResult]
    package var estimatedCredits: Int
    package var consumedCredits: Int
    package var files: [ManifestFileWritten]
    /// Why the run stopped early, if it did.
    package var stopReason: Reason?
    /// What kinds other than shots made in the run (the cut's film), each with its outcome.
    package var entries: [Entry] = []

    /// Something a kind of step made beside the shots' videos, as the summary shows it.
    package struct Entry: Sendable, Equatable, Codable {
        /// What it is: `Cut`.
        package var title: String
        package var path: String
        package var outcome: ShotOutcome
        /// What was made, in a few words, once made: `21.5 s, 4.2 MB`.
        package var made: String?
        /// What the summary says when it was not made: `not assembled`.
        package var notMade: String

        package init(title: String, path: String, outcome: ShotOutcome, made: String?, notMade: String) {
            self.title = title
            self.path = path
            self.outcome = outcome
            self.made = made
            self.notMade = notMade
        }
    }

    package init(
        shots: [ShotResult], estimatedCredits: Int, consumedCredits: Int, files: [ManifestFileWritten],
        stopReason: Reason?
    ) {
        self.shots = shots
        self.estimatedCredits = estimatedCredits
        self.consumedCredits = consumedCredits
        self.files = files
        self.stopReason = stopReason
    }

    package var succeeded: Bool {
        stopReason == nil && shots.allSatisfy { $0.outcome.isSuccess } && entries.allSatisfy { $0.outcome.isSuccess }
    }
}

package struct ManifestFileWritten: Sendable, Equatable, Codable {
    package var shot: String
    package var path: String
    package var bytes: Int64
}
