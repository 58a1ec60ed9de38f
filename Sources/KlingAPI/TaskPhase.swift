/// Where a task stands, in one vocabulary whatever the gateway says.
public enum TaskPhase: String, Sendable, Codable {
    case running, succeeded, failed
    /// A status this client does not know: reported once, polled on, never taken for success.
    case unknown

    /// The one table of status words, case-insensitive (SPEC §1).
    static let vocabulary: [String: TaskPhase] = {
        var table: [String: TaskPhase] = [:]
        for word in ["IN_PROGRESS", "IN_QUEUE", "PENDING", "QUEUED", "SUBMITTED", "PROCESSING"] {
            table[word] = .running
        }
        for word in ["SUCCESS", "SUCCEEDED", "SUCCEED", "COMPLETED"] { table[word] = .succeeded }
        for word in ["FAILED", "FAILURE", "ERROR", "EXPIRED", "CANCELED", "CANCELLED"] { table[word] = .failed }
        return table
    }()

    public init(status: String) {
        self = Self.vocabulary[status.uppercased()] ?? .unknown
    }
}
