import Foundation

/// `data` of a `POST /api/generate` answer.
public struct CreatedTask: Sendable, Equatable {
    public var taskID: String
    public var status: String
    public var consumedCredits: Int?

    public init(taskID: String, status: String, consumedCredits: Int?) {
        self.taskID = taskID
        self.status = status
        self.consumedCredits = consumedCredits
    }
}

/// `data` of a `GET /api/status` answer, with its status mapped to a phase.
public struct TaskReport: Sendable, Equatable {
    public var taskID: String
    /// The status word as the API said it.
    public var status: String
    public var phase: TaskPhase
    public var consumedCredits: Int?
    /// `data.response`: the video URLs.
    public var urls: [String]
    /// `error_message`, else `failed_reason`, else the status itself; nil unless failed.
    public var failureReason: String?
    /// The text fields of the request the task was created with, as the API echoes it (`type`,
    /// `prompt`…): what `import` compares with the shot. Empty when the API does not echo it.
    public var echoedRequest: [String: String] = [:]

    public init(
        taskID: String, status: String, phase: TaskPhase, consumedCredits: Int?, urls: [String],
        failureReason: String?
    ) {
        self.taskID = taskID
        self.status = status
        self.phase = phase
        self.consumedCredits = consumedCredits
        self.urls = urls
        self.failureReason = failureReason
    }
}

/// The API's envelope, read leniently: every field optional, unknown fields ignored.
struct Envelope: Decodable {
    var code: Int?
    var message: String?
    var error: String?
    var data: Payload?

    struct Payload: Decodable {
        var taskID: String?
        var status: String?
        var consumedCredits: Int?
        var response: [String]?
        var errorMessage: String?
        var failedReason: String?
        var request: [String: String] = [:]

        enum CodingKeys: String, CodingKey {
            case status, response
            case taskID = "task_id"
            case consumedCredits = "consumed_credits"
            case errorMessage = "error_message"
            case failedReason = "failed_reason"
            case request
        }

        /// Any key of an object, for reading the echoed request's text fields.
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            taskID = try? c.decodeIfPresent(String.self, forKey: .taskID)
            status = try? c.decodeIfPresent(String.self, forKey: .status)
            // Read as a number of any size, then range-checked: `1e30` is dropped, never trapped on.
            consumedCredits = (try? c.decodeIfPresent(Double.self, forKey: .consumedCredits))
                .flatMap { $0.flatMap(WireLimits.credits) }
            // A single URL instead of an array is read as one.
            response =
                (try? c.decodeIfPresent([String].self, forKey: .response))
                ?? (try? c.decodeIfPresent(String.self, forKey: .response)).flatMap { $0.map { [$0] } }
            errorMessage = try? c.decodeIfPresent(String.self, forKey: .errorMessage)
            failedReason = try? c.decodeIfPresent(String.self, forKey: .failedReason)
            if let echoed = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: .request) {
                for key in echoed.allKeys.prefix(64) {
                    if let text = try? echoed.decode(String.self, forKey: key) { request[key.stringValue] = text }
                }
            }
        }
    }

    enum CodingKeys: String, CodingKey { case code, message, error, data }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try? c.decodeIfPresent(Int.self, forKey: .code)
        message = try? c.decodeIfPresent(String.self, forKey: .message)
        error = try? c.decodeIfPresent(String.self, forKey: .error)
        data = try? c.decodeIfPresent(Payload.self, forKey: .data)
    }

    static func decode(_ data: Data) -> Envelope? {
        try? JSONDecoder().decode(Envelope.self, from: data)
    }
}

/// What an answer may hold and still be used: every field from the server is range-checked.
enum WireLimits {
    /// No task costs more credits; a larger number is dropped, never trapped on.
    static let maxCredits = 1_000_000_000
    static let maxTaskIDLength = 128
    /// No render has more videos than this; an answer with more is not used.
    static let maxURLs = 16

    /// 1–128 ASCII letters, digits, `-`, `_`, `.` or `:`.
    static func isTaskID(_ id: String) -> Bool {
        let scalars = id.unicodeScalars
        return !scalars.isEmpty && scalars.count <= maxTaskIDLength
            && scalars.allSatisfy { scalar in
                scalar.isASCII
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                        || "-_.:".unicodeScalars.contains(scalar))
            }
    }

    /// A status word: at most 64 printable ASCII characters.
    static func word(_ text: String?) -> String? {
        guard let text, !text.isEmpty, text.utf8.count <= 64, text.utf8.allSatisfy({ (0x20...0x7E).contains($0) })
        else { return nil }
        return text
    }

    /// An http(s) URL with a host and no user or password, of sensible length, without spaces or controls.
    static func isVideoURL(_ text: String) -> Bool {
        guard text.utf8.count <= 8192, !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }),
            let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { return false }
        return url.user == nil && url.password == nil
    }

    /// Credits as sent: a whole number from 0 to `maxCredits`, else nothing.
    static func credits(_ value: Double) -> Int? {
        guard let whole = Int(exactly: value.rounded()), (0...maxCredits).contains(whole) else { return nil }
        return whole
    }
}

extension KlingAPIError {
    /// The same error with the client's key taken out of every text and each text cut short.
    func redacted(by client: KlingClient) -> KlingAPIError {
        switch self {
        case .invalidAPIKey(let m): .invalidAPIKey(message: client.redacted(m))
        case .insufficientCredits(let m): .insufficientCredits(message: client.redacted(m))
        case .rateLimited(let r, let m): .rateLimited(retryAfter: r, message: client.redacted(m))
        case .rejected(let s, let c, let m):
            .rejected(status: s, code: c.map { client.redacted($0, limit: 40) }, message: client.redacted(m))
        case .serverError(let s, let c, let m):
            .serverError(status: s, code: c.map { client.redacted($0, limit: 40) }, message: client.redacted(m))
        case .notSent(let r): .notSent(reason: client.redacted(r))
        case .answerLost(let r): .answerLost(reason: client.redacted(r))
        case .taskNotFound(let id): .taskNotFound(taskID: client.redacted(id, limit: 130))
        case .urlExpired: self
        case .addressRefused(let r): .addressRefused(reason: client.redacted(r))
        case .unexpectedAnswer(let s, let d): .unexpectedAnswer(status: s, detail: client.redacted(d))
        }
    }
}
