/// What went wrong talking to the API, typed so that the executor decides from the case, never
/// from a message. No case ever carries the API key or a request header.
public enum KlingAPIError: Error, Sendable, Equatable {
    /// 401: the key is missing, wrong or revoked. Nothing else will work.
    case invalidAPIKey(message: String)
    /// 402: the account cannot pay for this task. No task was created.
    case insufficientCredits(message: String)
    /// 429: too many requests or tasks in flight. No task was created.
    case rateLimited(retryAfter: Duration?, message: String)
    /// A documented 4xx refusal of the request itself (400 INVALID_PROMPT…). No task was created;
    /// sending the same request again gives the same answer.
    case rejected(status: Int, code: String?, message: String)
    /// A 5xx answer after which no task exists (500 INTERNAL_ERROR, 502, 503): safe to retry.
    case serverError(status: Int, code: String?, message: String)
    /// The connection could not be made: the request never left, so no task can exist.
    case notSent(reason: String)
    /// The request went out and no usable answer came back: a task may exist, and may be charged.
    case answerLost(reason: String)
    /// `GET /api/status` does not know the task (404).
    case taskNotFound(taskID: String)
    /// A video URL answers 403, 404 or 410: it has expired.
    case urlExpired(status: Int)
    /// A URL or a redirect points where no connection is made (a local or private address, as
    /// written or as its name resolves): nothing was sent there.
    case addressRefused(reason: String)
    /// Any other answer that cannot be used (a download's 5xx, a body that is not the API's).
    case unexpectedAnswer(status: Int, detail: String)

    /// Whether `POST /api/generate` may be sent again: only where no task can have been created.
    public var isSafeToResubmit: Bool {
        switch self {
        case .rateLimited, .serverError, .notSent: true
        default: false
        }
    }
}

extension KlingAPIError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidAPIKey(let m): "the API refused the key (401 INVALID_API_KEY): \(m)"
        case .insufficientCredits(let m): "not enough credits (402 INSUFFICIENT_CREDITS): \(m)"
        case .rateLimited(_, let m): "rate limited (429): \(m)"
        case .rejected(let s, let c, let m): "the API refused the request (\(s)\(c.map { " \($0)" } ?? "")): \(m)"
        case .serverError(let s, let c, let m): "the API failed (\(s)\(c.map { " \($0)" } ?? "")): \(m)"
        case .notSent(let r): "could not reach the API: \(r)"
        case .answerLost(let r): "the answer was lost after the request went out: \(r)"
        case .taskNotFound(let id): "the API does not know task \(id)"
        case .urlExpired(let s): "the video URL has expired (\(s))"
        case .addressRefused(let r): "not fetched: \(r)"
        case .unexpectedAnswer(let s, let d): "unexpected answer (\(s)): \(d)"
        }
    }
}
