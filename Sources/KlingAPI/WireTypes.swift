import Foundation

/// `data` of a `POST /api/generate` answer.
public struct CreatedTask: Sendable, Equatable {
    public var taskID: String
    public var status: String
    public var consumedCredits: Int?
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

        enum CodingKeys: String, CodingKey {
            case status, response
            case taskID = "task_id"
            case consumedCredits = "consumed_credits"
            case errorMessage = "error_message"
            case failedReason = "failed_reason"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            taskID = try? c.decodeIfPresent(String.self, forKey: .taskID)
            status = try? c.decodeIfPresent(String.self, forKey: .status)
            consumedCredits =
                (try? c.decodeIfPresent(Int.self, forKey: .consumedCredits))
                ?? (try? c.decodeIfPresent(Double.self, forKey: .consumedCredits)).flatMap { $0.map(Int.init) }
            // A single URL instead of an array is read as one.
            response =
                (try? c.decodeIfPresent([String].self, forKey: .response))
                ?? (try? c.decodeIfPresent(String.self, forKey: .response)).flatMap { $0.map { [$0] } }
            errorMessage = try? c.decodeIfPresent(String.self, forKey: .errorMessage)
            failedReason = try? c.decodeIfPresent(String.self, forKey: .failedReason)
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
