import KlingRenderCore
import KlingRenderExecution

/// The one place where the engine's typed reasons become words for a person, with the command
/// that fixes the problem where there is one. The summary, the progress lines and `--json` all
/// word reasons here.
extension Reason {
    /// `shot` names the shot or take for the advice (`--replace ID`, `--replace ID.take2`); nil
    /// where the reason is the run's.
    func worded(shot: String? = nil) -> String {
        let replace = shot.map { "; `kling-render apply --replace \($0)` submits it again" } ?? ""
        let uncertain = "a task may exist and be charged: check your Kling account"
        switch self {
        case .rejected(let status, let code, let message):
            return "the API refused the request (\(status)\(code.map { " \($0)" } ?? "")): \(message)"
        case .taskFailed(let message): return message
        case .answerLost(let detail): return "\(detail); \(uncertain)\(replace)"
        case .recordedUncertain: return "the answer to its request was lost; \(uncertain)\(replace)"
        case .noTaskToResume: return "the manifest says a task is running but names none; \(uncertain)\(replace)"
        case .submitGaveUp(let tries, let last): return "could not submit after \(tries) tries: \(last)"
        case .keyRefused:
            return
                "the API refused the key (401): check KLING_API_KEY (with `provider: kling`, KLING_ACCESS_KEY and KLING_SECRET_KEY)"
        case .noCredits(let message): return "not enough credits (402 INSUFFICIENT_CREDITS): \(message)"
        case .failFast(let failed): return "--fail-fast: \(failed) failed"
        case .interrupted: return "interrupted"
        case .timedOut: return "--timeout passed; the task stays in flight and the next apply resumes it"
        case .unusableAnswers(let count, let last):
            return "\(count) status answers in a row could not be used, the last: \(last); "
                + "the task stays in flight and the next apply polls it again"
        case .taskUnknown(let task):
            return "the API does not know task \(task): is --endpoint (or KLING_API_BASE) the one it was submitted to?"
        case .urlExpired(let status):
            return "the video URL has expired (HTTP \(status))"
                + (shot.map { "; `kling-render apply --replace \($0)` renders it again" } ?? "")
        case .download(let detail): return detail
        case .noVideoURL:
            return "the manifest records no video URL for it"
                + (shot.map { "; `kling-render apply --replace \($0)` renders it again" } ?? "")
        case .manifestUnwritable(let detail): return "cannot write the manifest, so nothing is submitted: \(detail)"
        case .asset(let path, let detail): return "\(path): \(detail)"
        case .inputUnavailable(let upstream, let detail):
            return "the video of \(upstream) cannot be sent: \(detail)"
        case .inputNeedsStore(let upstream, let why):
            return "the video of \(upstream) cannot be sent: \(why); no asset store is configured"
                + "; add `assets: {store: s3://BUCKET/PREFIX/}` to the project (or `--replace \(upstream)`)"
        case .cut(let detail): return "the cut: \(detail)"
        case .stopped(let reason): return "the run stopped first: \(reason.worded())"
        }
    }
}
