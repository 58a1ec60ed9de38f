import Foundation
import KlingRenderCore
import NIOHTTP1

/// The official Kling API's words: the gateway's request (SPEC §1) rewritten for
/// `/v1/videos/text2video`, `/image2video` and `/omni-video`, its answers read, its error codes
/// sorted into `KlingAPIError`'s cases. Pure functions, tested against the documentation's
/// examples.
public enum OfficialWire {
    /// A request for the official API: the path's family and the JSON body.
    public struct Request: Sendable, Equatable {
        public var family: String
        public var body: Data
    }

    public struct Problem: Error, Sendable {
        public var reason: String
    }

    /// Where each of the twelve task types goes, and with which model and mode.
    static func route(_ type: String) -> (family: String, model: String, mode: String)? {
        let mode = type.hasPrefix("pro-") || type.hasPrefix("o3-pro-") ? "pro" : "std"
        switch type {
        case "pro-text-to-video", "std-text-to-video": return ("text2video", "kling-v3", mode)
        case "pro-image-to-video", "std-image-to-video": return ("image2video", "kling-v3", mode)
        case "o3-pro-text-to-video", "o3-std-text-to-video", "o3-pro-image-to-video", "o3-std-image-to-video",
            "o3-pro-reference-to-video", "o3-std-reference-to-video", "o3-pro-video-edit", "o3-std-video-edit":
            return ("omni-video", "kling-v3-omni", mode)
        default: return nil
        }
    }

    /// The gateway's fields this rewrites; any other (from `extra:`) goes through as written.
    static let gatewayFields: Set<String> = [
        "type", "prompt", "duration", "aspect_ratio", "image", "end_image", "video", "images", "sound",
        "negative_prompt", "cfg_scale", "keep_original_sound",
    ]

    /// The gateway request `gateway` (a JSON object with `type`) for the official API.
    public static func request(gateway: Data, externalID: String?) throws(Problem) -> Request {
        guard let object = (try? JSONSerialization.jsonObject(with: gateway)) as? [String: Any] else {
            throw Problem(reason: "the request is not a JSON object")
        }
        guard let type = object["type"] as? String, let route = route(type) else {
            throw Problem(reason: "the official API has no endpoint for the task type \(object["type"] ?? "none")")
        }
        var body: [String: Any] = ["model_name": route.model, "mode": route.mode]
        for (key, value) in object where !gatewayFields.contains(key) { body[key] = value }
        if let prompt = object["prompt"] { body["prompt"] = prompt }
        if let ratio = object["aspect_ratio"] { body["aspect_ratio"] = ratio }
        let edit = type.hasSuffix("video-edit")
        // A string of whole seconds; an edit's length is its video's.
        if !edit, let duration = object["duration"] as? Int { body["duration"] = String(duration) }
        let onOff = { (flag: Bool) in flag ? "on" : "off" }
        let yesNo = { (flag: Bool) in flag ? "yes" : "no" }
        switch route.family {
        case "text2video", "image2video":
            if let sound = object["sound"] as? Bool { body["sound"] = onOff(sound) }
            if let negative = object["negative_prompt"] { body["negative_prompt"] = negative }
            if let cfg = object["cfg_scale"] { body["cfg_scale"] = cfg }
            if let image = object["image"] { body["image"] = image }
            if let tail = object["end_image"] { body["image_tail"] = tail }
        default:
            var images: [[String: Any]] = []
            var videos: [[String: Any]] = []
            if let first = object["image"] as? String { images.append(["image_url": first, "type": "first_frame"]) }
            if let last = object["end_image"] as? String { images.append(["image_url": last, "type": "end_frame"]) }
            for case let reference as String in object["images"] as? [Any] ?? [] {
                images.append(["image_url": reference])
            }
            if let video = object["video"] as? String {
                var entry: [String: Any] = ["video_url": video, "refer_type": edit ? "base" : "feature"]
                if let keep = object["keep_original_sound"] as? Bool { entry["keep_original_sound"] = yesNo(keep) }
                videos.append(entry)
            }
            if !images.isEmpty { body["image_list"] = images }
            if !videos.isEmpty { body["video_list"] = videos }
            // With a video the Omni endpoint makes no sound of its own.
            if let sound = object["sound"] as? Bool { body["sound"] = videos.isEmpty ? onOff(sound) : "off" }
        }
        if let externalID { body["external_task_id"] = externalID }
        guard let data = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) else {
            throw Problem(reason: "the request cannot be written as JSON")
        }
        return Request(family: route.family, body: data)
    }

    /// `family:id` → its parts, for a task id this client made.
    static func split(_ taskID: String) -> (String, String)? {
        guard let colon = taskID.firstIndex(of: ":") else { return nil }
        let family = String(taskID[..<colon])
        let id = String(taskID[taskID.index(after: colon)...])
        guard ["text2video", "image2video", "omni-video"].contains(family), !id.isEmpty else { return nil }
        return (family, id)
    }

    /// A task id as the user may give it to `import`: the official API's own (qualified with the
    /// shot's family) or one this client made.
    public static func qualified(_ id: String, type: String) -> String? {
        if split(id) != nil { return id }
        return route(type).map { $0.family + ":" + id }
    }

    /// The API's envelope, read leniently: every field optional, unknown fields ignored.
    struct Answer: Decodable {
        var code: Int?
        var message: String?
        var data: Task?

        struct Task: Decodable {
            var taskID: String?
            var taskStatus: String?
            var taskStatusMessage: String?
            var externalTaskID: String?
            var videos: [String] = []
            var videoCount = 0
            var deduction: Double?

            enum Keys: String, CodingKey {
                case taskID = "task_id"
                case taskStatus = "task_status"
                case taskStatusMessage = "task_status_msg"
                case taskInfo = "task_info"
                case taskResult = "task_result"
                case deduction = "final_unit_deduction"
            }

            enum Info: String, CodingKey { case externalTaskID = "external_task_id" }
            enum Result: String, CodingKey { case videos }
            enum Video: String, CodingKey { case url }

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Keys.self)
                taskID = try? c.decodeIfPresent(String.self, forKey: .taskID)
                taskStatus = try? c.decodeIfPresent(String.self, forKey: .taskStatus)
                taskStatusMessage = try? c.decodeIfPresent(String.self, forKey: .taskStatusMessage)
                externalTaskID = try? c.nestedContainer(keyedBy: Info.self, forKey: .taskInfo)
                    .decodeIfPresent(String.self, forKey: .externalTaskID)
                // A string of a number ("5", "0.5"), or a number.
                deduction =
                    (try? c.decodeIfPresent(String.self, forKey: .deduction)).flatMap { $0.flatMap(Double.init) }
                    ?? (try? c.decodeIfPresent(Double.self, forKey: .deduction)).flatMap { $0 }
                if let result = try? c.nestedContainer(keyedBy: Result.self, forKey: .taskResult),
                    var list = try? result.nestedUnkeyedContainer(forKey: .videos)
                {
                    while !list.isAtEnd, videoCount <= WireLimits.maxURLs {
                        videoCount += 1
                        if let video = try? list.nestedContainer(keyedBy: Video.self),
                            let url = try? video.decodeIfPresent(String.self, forKey: .url)
                        {
                            videos.append(url)
                        } else {
                            _ = try? list.decode(Skip.self)
                        }
                    }
                }
            }
        }

        /// Any JSON value, read past.
        struct Skip: Decodable {
            init(from decoder: any Decoder) throws {}
        }

        static func decode(_ data: Data) -> Answer? {
            guard data.count <= KlingClient.maxAnswerBytes else { return nil }
            return try? JSONDecoder().decode(Answer.self, from: data)
        }
    }

    /// A status answer as the engine reads it: its phase, its videos (http(s) only, none that
    /// spells a secret), what it cost, why it failed.
    static func report(_ task: Answer.Task, taskID: String, word: String, holdsKey: (String) -> Bool) -> TaskReport {
        var phase = TaskPhase(status: word)
        let urls = task.videos.filter { WireLimits.isVideoURL($0) && !holdsKey($0) }
        var reason: String?
        if phase == .succeeded, task.videoCount > WireLimits.maxURLs {
            phase = .failed
            reason =
                "the API reported more than \(WireLimits.maxURLs) videos; a render has at most \(WireLimits.maxURLs)"
        } else if phase == .succeeded, urls.isEmpty {
            phase = .failed
            reason = "the API reported \(word) with no http(s) video URL"
        } else if phase == .failed {
            reason = task.taskStatusMessage.flatMap { $0.isEmpty ? nil : $0 } ?? word
        }
        return TaskReport(
            taskID: taskID, status: word, phase: phase,
            consumedCredits: task.deduction.flatMap { WireLimits.credits($0.rounded(.up)) }, urls: urls,
            failureReason: reason)
    }

    /// Codes with which a query says it has no such task.
    static let notFoundCodes: Set<Int> = [1203]

    /// An answer that is not a success, by its code first (the official API's table), then by
    /// its HTTP status as the gateway's. `creating`: the answer to a POST, after which a task may
    /// exist unless the code says otherwise.
    package static func classify(status: Int, headers: HTTPHeaders, body: Data, creating: Bool) -> KlingAPIError {
        let answer = Answer.decode(body)
        guard let code = answer?.code, code != 0 else {
            return KlingClient.classify(status: status, headers: headers, body: body)
        }
        let message = "\(code) \(Printable.short(answer?.message ?? "", limit: 4000))"
        switch code {
        case 1000...1004: return .invalidAPIKey(message: message)
        case 1100: return .insufficientCredits(message: message + " (the account is not in good standing)")
        case 1101: return .insufficientCredits(message: message + " (the account is in arrears: pay the bill)")
        case 1102:
            return .insufficientCredits(message: message + " (the resource pack is used up or expired: buy another)")
        case 1302, 1303:
            return .rateLimited(retryAfter: KlingClient.retryAfter(headers), message: message)
        case 5000...5002: return .serverError(status: status, code: String(code), message: message)
        default:
            if (400..<500).contains(status) || (1000..<2000).contains(code) {
                return .rejected(status: status, code: String(code), message: message)
            }
            return creating
                ? .answerLost(reason: "an unknown answer (\(status), code \(code)); a task may exist")
                : .unexpectedAnswer(status: status, detail: message)
        }
    }
}
