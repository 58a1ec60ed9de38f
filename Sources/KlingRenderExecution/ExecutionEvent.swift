import KlingAPI
import KlingRenderCore

/// What the executor reports while it works. It never prints: the CLI turns these into a live
/// view, log lines or JSON lines.
package enum ExecutionEvent: Sendable, Equatable {
    /// Nothing to do for the shot: its render is current.
    case unchanged(shot: String)
    /// The intent to submit is on disk; the request goes out next.
    case submitting(shot: String)
    /// The task id is on disk.
    case submitted(shot: String, taskID: String, credits: Int?)
    /// A request will be sent again after `seconds`: why, and how many tries so far.
    case retrying(shot: String, reason: String, seconds: Double)
    /// A task's status was asked; `status` is the API's word.
    case polled(shot: String, taskID: String, status: String, phase: TaskPhase)
    /// A status word this client does not know (reported once per word, polled on).
    case unknownStatus(shot: String, status: String)
    /// The render is done: its URLs are known, dependents may start.
    case rendered(shot: String, urls: [String], credits: Int?)
    case downloading(shot: String, file: String, resumedAt: Int64)
    /// Bytes of a file on disk so far, and its length when the server said it (about every 256 KiB).
    case downloadProgress(shot: String, file: String, bytes: Int64, total: Int64?)
    case downloaded(shot: String, file: ManifestFile)
    case failed(shot: String, reason: Reason)
    /// Not started: an upstream shot has no output.
    case blocked(shot: String, by: String)
    /// The request went out and its answer was lost.
    case uncertain(shot: String, reason: Reason)
    /// The local time-out passed: the task stays in flight for the next apply.
    case timedOut(shot: String, taskID: String)
    /// Polling stopped: the answers could not be used. The task stays in flight.
    case unanswered(shot: String, taskID: String, reason: Reason)
    /// The run stops submitting: 401, 402, `--fail-fast`, or an interrupt.
    case stopping(reason: Reason)
    case warning(String)
    /// A frame of a shot's video is on disk (`renders/sunrise.last.png`).
    case frameExtracted(shot: String, path: String)
    /// A local file goes to the asset store.
    case assetUploading(path: String, bytes: Int64)
    /// The store holds the file's content: uploaded now, or found there (no upload).
    case assetStored(path: String, bytes: Int64, uploaded: Bool)
    /// An upstream output's URL is dead or too old: its local file is hosted instead.
    case outputHosted(shot: String, upstream: String, why: String)
    case assetFailed(path: String, reason: Reason)
    /// ffmpeg starts on the cut: its clips and the film's length.
    case cutStarted(path: String, clips: Int, seconds: Double)
    /// Seconds of the film written so far (about one event per second of film).
    case cutProgress(path: String, seconds: Double, of: Double)
    case cutAssembled(path: String, bytes: Int64, seconds: Double)
    case cutFailed(path: String, reason: Reason)

    package var shot: String? {
        switch self {
        case .unchanged(let s), .submitting(let s), .submitted(let s, _, _), .retrying(let s, _, _),
            .polled(let s, _, _, _), .unknownStatus(let s, _), .rendered(let s, _, _), .downloading(let s, _, _),
            .downloadProgress(let s, _, _, _),
            .downloaded(let s, _), .failed(let s, _), .blocked(let s, _), .uncertain(let s, _), .timedOut(let s, _),
            .unanswered(let s, _, _), .frameExtracted(let s, _), .outputHosted(let s, _, _):
            s
        case .stopping, .warning, .assetUploading, .assetStored, .assetFailed, .cutStarted, .cutProgress,
            .cutAssembled, .cutFailed:
            nil
        }
    }
}
