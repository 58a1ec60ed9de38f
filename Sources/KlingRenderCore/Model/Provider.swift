import Foundation

/// Which API a project renders with (`provider:`): the gateway of SPEC §1, or the official Kling
/// AI Open Platform API. The planner, the engine and the manifest know a provider by its name and
/// by what it can do, never by its wire format.
package enum Provider: String, Sendable, CaseIterable {
    /// `POST /api/generate` on kling3api.com with a Bearer key: the default.
    case kling3api
    /// The official API (`/v1/videos/…`), signed with an access key and secret key, or an API key.
    case kling

    package static let `default` = Provider.kling3api

    /// The base URL when neither `--endpoint` nor `KLING_API_BASE` names one.
    package var defaultEndpoint: String {
        switch self {
        case .kling3api: "https://kling3api.com"
        case .kling: "https://api-singapore.klingai.com"
        }
    }

    /// Whether a task can be given an id of the client's before it exists, and found by it
    /// (`external_task_id`): then no shot is ever left uncertain.
    package var namesTasks: Bool { self == .kling }

    /// What its prices are counted in, as the plan writes them.
    package var unit: String {
        switch self {
        case .kling3api: "credits"
        case .kling: "units"
        }
    }

    /// Seconds the API keeps a render's video URL by default (`outputs_lifetime`): the official
    /// API keeps results 30 days; the gateway's lifetime is unknown, so a day is assumed.
    package var outputsLifetime: Int {
        switch self {
        case .kling3api: Project.defaultOutputsLifetime
        case .kling: 30 * 86_400
        }
    }

    /// The most attempts a take's task is given ids for.
    package static let maxAttempt = 9_999

    /// The id a take's task is given before it is sent (`external_task_id`): the same for the
    /// same project, take, request and attempt, so that a lost answer is found again and a
    /// duplicate refused: `kr-`, a hash of the project and the whole take key, the request's
    /// fingerprint, the take key's first characters for people, and the attempt; at most 64
    /// characters of letters, digits, `-` and `_`.
    package static func externalTaskID(project: String, take: String, fingerprint: String, attempt: Int) -> String {
        let owner = Digest.sha256Hex(Data((project + "\n" + take).utf8)).prefix(12)
        let name = String(
            String.UnicodeScalarView(
                take.unicodeScalars.map {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) ? $0 : "_"
                }
            ).prefix(24))
        return "kr-\(owner)-\(fingerprint.prefix(8))-\(name)-\(min(max(1, attempt), maxAttempt))"
    }

    /// The attempt an external task id was made for (its last part, 1 to `maxAttempt`), or nil.
    package static func attempt(of externalTaskID: String) -> Int? {
        externalTaskID.split(separator: "-").last.flatMap { Int($0) }.flatMap {
            (1...maxAttempt).contains($0) ? $0 : nil
        }
    }

    /// Whether a text is an external task id this tool makes (a manifest from elsewhere may
    /// hold anything): `kr-`, two hashes, a name, an attempt.
    package static func isExternalTaskID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        let hex = Set("0123456789abcdef")
        return text.count <= 64 && parts.count == 5 && parts[0] == "kr" && parts[1].count == 12
            && parts[1].allSatisfy(hex.contains) && (1...8).contains(parts[2].count)
            && parts[2].allSatisfy(hex.contains) && !parts[3].isEmpty
            && parts[3].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            && attempt(of: text) != nil
    }
}
