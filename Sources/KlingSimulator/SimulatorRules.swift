/// The API's rules as the simulator enforces them: written apart from the client's validator on
/// purpose, so that each can catch the other's mistakes.
enum SimulatorRules {
    struct Rejection: Error {
        var status: Int
        var code: String
        var message: String
    }

    struct TypeInfo {
        var creditsPerSecond: (silent: Int, withSound: Int)?
        var fixedCredits: Int?
        var idPrefix: String
        var needsImage = false
        var needsVideo = false
        var isEdit = false
        /// Render time in simulated seconds: base + per second of video.
        var renderBase: Double
        var renderPerSecond: Double
    }

    static let types: [String: TypeInfo] = [
        "pro-text-to-video": TypeInfo(
            creditsPerSecond: (54, 80), idPrefix: "n75", renderBase: 120, renderPerSecond: 24),
        "pro-image-to-video": TypeInfo(
            creditsPerSecond: (54, 80), idPrefix: "n75", needsImage: true, renderBase: 120, renderPerSecond: 24),
        "std-text-to-video": TypeInfo(creditsPerSecond: (40, 60), idPrefix: "n75", renderBase: 60, renderPerSecond: 15),
        "std-image-to-video": TypeInfo(
            creditsPerSecond: (40, 60), idPrefix: "n75", needsImage: true, renderBase: 60, renderPerSecond: 15),
        "o3-pro-text-to-video": TypeInfo(
            creditsPerSecond: (48, 48), idPrefix: "n71", renderBase: 150, renderPerSecond: 24),
        "o3-pro-image-to-video": TypeInfo(
            creditsPerSecond: (48, 48), idPrefix: "n71", needsImage: true, renderBase: 150, renderPerSecond: 24),
        "o3-pro-reference-to-video": TypeInfo(
            creditsPerSecond: (72, 72), idPrefix: "n71", renderBase: 180, renderPerSecond: 24),
        "o3-pro-video-edit": TypeInfo(
            fixedCredits: 435, idPrefix: "n71", needsVideo: true, isEdit: true, renderBase: 180, renderPerSecond: 0),
        "o3-std-text-to-video": TypeInfo(
            creditsPerSecond: (36, 36), idPrefix: "n71", renderBase: 90, renderPerSecond: 15),
        "o3-std-image-to-video": TypeInfo(
            creditsPerSecond: (36, 36), idPrefix: "n71", needsImage: true, renderBase: 90, renderPerSecond: 15),
        "o3-std-reference-to-video": TypeInfo(
            creditsPerSecond: (20, 20), idPrefix: "n71", renderBase: 90, renderPerSecond: 15),
        "o3-std-video-edit": TypeInfo(
            fixedCredits: 360, idPrefix: "n71", needsVideo: true, isEdit: true, renderBase: 120, renderPerSecond: 0),
    ]

    /// A request the simulator accepted: what it costs and how it renders.
    struct Accepted {
        var type: String
        var info: TypeInfo
        var duration: Int
        var aspectRatio: String
        var credits: Int
        var renderSeconds: Double
    }

    static func check(_ body: [String: SimJSON]) throws(Rejection) -> Accepted {
        guard let type = body["type"]?.string, let info = types[type] else {
            throw Rejection(status: 400, code: "INVALID_TYPE", message: "Unknown or missing task type")
        }
        guard let prompt = body["prompt"]?.string, !prompt.allSatisfy(\.isWhitespace) else {
            throw Rejection(status: 400, code: "INVALID_PROMPT", message: "Prompt is required")
        }
        if prompt.unicodeScalars.count > 2000 {
            throw Rejection(status: 400, code: "INVALID_PROMPT", message: "Prompt exceeds 2000 characters")
        }
        var duration = 5
        if !info.isEdit, let raw = body["duration"] {
            guard case .int(let d) = raw, (3...15).contains(d) else {
                throw Rejection(
                    status: 400, code: "INVALID_DURATION", message: "Duration must be an integer from 3 to 15")
            }
            duration = d
        }
        let aspectRatio = body["aspect_ratio"]?.string ?? "16:9"
        if !info.isEdit, !["16:9", "9:16", "1:1"].contains(aspectRatio) {
            throw Rejection(status: 400, code: "INVALID_REQUEST", message: "aspect_ratio must be 16:9, 9:16 or 1:1")
        }
        if info.needsImage, !isURL(body["image"]) {
            throw Rejection(status: 400, code: "MISSING_IMAGE", message: "An image URL is required for image-to-video")
        }
        if info.needsVideo, !isURL(body["video"]) {
            throw Rejection(status: 400, code: "MISSING_VIDEO", message: "A video URL is required for video-edit")
        }
        if let images = body["images"] {
            guard case .array(let list) = images, list.count <= 7, list.allSatisfy({ isURL($0) }) else {
                throw Rejection(status: 400, code: "INVALID_REQUEST", message: "images must be at most 7 image URLs")
            }
        }
        // Every input, asked for or not, is a web address: never a socket or a file.
        for field in ["image", "end_image", "video"] where body[field] != nil && !isURL(body[field]) {
            throw Rejection(status: 400, code: "INVALID_REQUEST", message: "The \(field) must be an http or https URL")
        }
        var sound = true
        if case .bool(let b) = body["sound"] { sound = b }
        let credits: Int
        if let fixed = info.fixedCredits {
            credits = fixed
        } else if let rate = info.creditsPerSecond {
            credits = duration * (sound ? rate.withSound : rate.silent)
        } else {
            credits = 0
        }
        let seconds = info.renderBase + info.renderPerSecond * Double(info.isEdit ? 0 : duration)
        return Accepted(
            type: type, info: info, duration: info.isEdit ? 5 : duration,
            aspectRatio: info.isEdit ? "16:9" : aspectRatio,
            credits: credits, renderSeconds: seconds)
    }

    static func isURL(_ value: SimJSON?) -> Bool {
        guard let s = value?.string else { return false }
        return s.hasPrefix("http://") || s.hasPrefix("https://")
    }
}

/// JSON as the simulator reads and echoes it.
enum SimJSON: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([SimJSON])
    case object([String: SimJSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([SimJSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: SimJSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    var array: [SimJSON]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
