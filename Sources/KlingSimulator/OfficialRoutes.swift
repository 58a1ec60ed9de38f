import Foundation
import Hummingbird
import JWTKit
import NIOCore

/// The official Kling AI Open Platform API as the simulator speaks it (`simulator --api kling`):
/// `POST /v1/videos/{text2video,image2video,omni-video}` and `GET /v1/videos/FAMILY/ID` (by task
/// id or `external_task_id`), each signed with an HS256 JWT of an account's access key and secret
/// key (or an API key). Its own reading of the documented wire format, written apart from the
/// client's, onto the same tasks, faults, clock and counters as the gateway's routes.
extension SimulatorServer {
    static let families = ["text2video", "image2video", "omni-video"]

    /// The claims the simulator reads; it checks `exp` and `nbf` itself, to answer 1004 and 1003.
    struct OfficialClaims: JWTPayload {
        var iss: IssuerClaim
        var exp: ExpirationClaim?
        var nbf: NotBeforeClaim?
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// An official error answer: `{"code": 1303, "message": "…", "request_id": "…"}`.
    static func official(_ status: Int, _ code: Int, _ message: String, retryAfter: Int? = nil) -> Response {
        var response = json(
            status,
            [
                "code": SimJSON.int(code), "message": .string(message), "request_id": .string(UUID().uuidString),
                "data": .null,
            ])
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// The account a request is signed for: a JWT whose `iss` is an access key and whose HS256
    /// signature its secret key makes, within `nbf`…`exp`; or an API key. Then the account's rate.
    static func officialAccount(_ request: Request, as endpoint: String, state: SimulatorState) async -> Result<
        String, Refusal
    > {
        await state.count(endpoint)
        guard let token = bearer(request), !token.isEmpty else {
            return .failure(Refusal(response: official(401, 1001, "Authorization is empty")))
        }
        let configuration = state.configuration
        var account = token
        if token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
            let unverified = try? await JWTKeyCollection().unverified(token, as: OfficialClaims.self)
            guard let access = unverified?.iss.value, let secret = configuration.secrets[access],
                secret.utf8.count >= SimulatorConfiguration.minimumSecretBytes
            else {
                return .failure(Refusal(response: official(401, 1002, "Authorization is invalid")))
            }
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            guard let claims = try? await keys.verify(token, as: OfficialClaims.self) else {
                return .failure(Refusal(response: official(401, 1002, "Authorization is invalid: bad signature")))
            }
            let now = Date()
            if let exp = claims.exp?.value, exp <= now {
                return .failure(Refusal(response: official(401, 1004, "Authorization has expired")))
            }
            if let nbf = claims.nbf?.value, nbf > now {
                return .failure(Refusal(response: official(401, 1003, "Authorization is not yet valid")))
            }
            account = access
        }
        guard await state.authenticate(account) else {
            return .failure(Refusal(response: official(401, 1002, "Authorization is invalid")))
        }
        if let retry = await state.rateLimit(account) {
            return .failure(
                Refusal(response: official(429, 1302, "API request is too fast, rate limit", retryAfter: retry)))
        }
        return .success(account)
    }

    static func addOfficialRoutes(
        to router: Router<SimulatorContext>, _ configuration: SimulatorConfiguration, state: SimulatorState
    ) {
        router.post("/v1/videos/:family") { request, context in
            let family = context.parameters.get("family") ?? ""
            guard families.contains(family) else {
                return official(404, 1202, "No such endpoint: /v1/videos/\(family.prefix(40))")
            }
            let account: String
            switch await officialAccount(request, as: "POST /v1/videos", state: state) {
            case .success(let found): account = found
            case .failure(let refusal): return refusal.response
            }
            guard let body = try await jsonObject(request) else {
                return official(400, 1200, "The body must be a JSON object")
            }
            let gateway: [String: SimJSON]
            switch OfficialRequest.gateway(family: family, body) {
            case .success(let made): gateway = made
            case .failure(let problem): return official(400, 1201, problem.message)
            }
            let external: String?
            switch body["external_task_id"] {
            case nil, .null?: external = nil
            case .string(let text)? where !text.isEmpty && text.count <= 64: external = text
            case .string(let text)? where text.isEmpty: external = nil
            default: return official(400, 1201, "external_task_id must be a string of at most 64 characters")
            }
            let inputs = InputCheck(
                fetchOthers: configuration.fetchInputs,
                timeout: .milliseconds(Int64(configuration.inputTimeout * 1000)))
            if let refusal = await inputs.check(gateway) { return official(400, 1201, refusal.message) }
            let outcome = await state.generate(key: account, body: gateway, externalID: external)
            if await state.slowAnswer() { try await Task.sleep(for: slowDelay(configuration)) }
            switch outcome {
            case .rejected(let rejection, let retryAfter):
                return officialRefusal(rejection, retryAfter: retryAfter)
            case .gatewayPage:
                var headers = HTTPFields()
                headers[.contentType] = "text/html"
                return Response(
                    status: .badGateway, headers: headers,
                    body: .init(byteBuffer: ByteBuffer(string: "<html><body><h1>502 Bad Gateway</h1></body></html>")))
            case .dropConnection:
                try? await context.channel.close()
                throw CancellationError()
            case .created(let task):
                return json(
                    200,
                    [
                        "code": SimJSON.int(0), "message": .string("SUCCEED"), "request_id": .string(task.id),
                        "data": officialTask(task, now: await state.now(), base: nil, configuration),
                    ])
            }
        }

        router.get("/v1/videos/:family/:id") { request, context in
            let account: String
            switch await officialAccount(request, as: "GET /v1/videos", state: state) {
            case .success(let found): account = found
            case .failure(let refusal): return refusal.response
            }
            if await state.slowAnswer() { try await Task.sleep(for: slowDelay(configuration)) }
            let family = context.parameters.get("family") ?? ""
            let id = context.parameters.get("id").flatMap { $0.removingPercentEncoding } ?? ""
            guard families.contains(family), let task = await state.task(official: id, key: account),
                OfficialRequest.family(of: task.type) == family
            else {
                return official(404, 1203, "Task not found")
            }
            let base = "http://\(request.head.authority ?? configuration.host)"
            return json(
                200,
                [
                    "code": SimJSON.int(0), "message": .string("SUCCEED"), "request_id": .string(UUID().uuidString),
                    "data": officialTask(task, now: await state.now(), base: base, configuration),
                ])
        }
    }

    /// The gateway's refusals in the official API's codes.
    static func officialRefusal(_ rejection: SimulatorRules.Rejection, retryAfter: Int?) -> Response {
        switch (rejection.status, rejection.code) {
        case (402, _): return official(429, 1102, "Resource pack exhausted: \(rejection.message)")
        case (429, "TASKS_IN_FLIGHT"):
            return official(
                429, 1303, "Parallel task over resource pack limit: \(rejection.message)", retryAfter: retryAfter)
        case (429, _): return official(429, 1302, "API request is too fast, rate limit", retryAfter: retryAfter)
        case (500..<600, _): return official(500, 5000, "Server internal error")
        case (401, _): return official(401, 1000, rejection.message)
        default: return official(400, 1201, rejection.message)
        }
    }

    /// A task as the official API shows it: `submitted` for its first tenth, `processing`, then
    /// `succeed` with its video (when `base` names where videos are) or `failed`.
    static func officialTask(
        _ task: SimulatorState.SimTask, now: Double, base: String?, _ configuration: SimulatorConfiguration
    ) -> SimJSON {
        let done = now >= task.finishesAt
        let status =
            !done
            ? (now < task.createdAt + task.renderSeconds / 10 ? "submitted" : "processing")
            : task.fails ? "failed" : "succeed"
        var data: [String: SimJSON] = [
            "task_id": .string(task.id), "task_status": .string(status),
            "task_info": .object(task.externalID.map { ["external_task_id": .string($0)] } ?? [:]),
            "created_at": .int(Int(task.createdAt * 1000)), "updated_at": .int(Int(now * 1000)),
            "final_unit_deduction": .string(String(task.credits)),
        ]
        if done, task.fails { data["task_status_msg"] = .string("Render failed (simulated fault)") }
        if done, !task.fails, let base {
            let videos: [SimJSON] =
                task.empty
                ? []
                : [
                    .object([
                        "id": .string(task.id + "-1"), "url": .string("\(base)/videos/\(task.id)/1.mp4"),
                        "duration": .string(String(task.duration)),
                    ])
                ]
            data["task_result"] = .object(["videos": .array(videos)])
        }
        return .object(data)
    }
}

/// The official API's request read back into the gateway's (SPEC §1), which the simulator's
/// rules, prices and clips already know.
enum OfficialRequest {
    struct Problem: Error {
        var message: String
    }

    static func family(of type: String) -> String {
        if type.hasPrefix("o3-") { return "omni-video" }
        return type.hasSuffix("image-to-video") ? "image2video" : "text2video"
    }

    static func gateway(family: String, _ body: [String: SimJSON]) -> Result<[String: SimJSON], Problem> {
        let model = body["model_name"]?.string
        let wanted = family == "omni-video" ? "kling-v3-omni" : "kling-v3"
        guard model == wanted else {
            return .failure(Problem(message: "model_name must be \(wanted) on /v1/videos/\(family) in this simulator"))
        }
        let mode = body["mode"]?.string ?? (family == "omni-video" ? "pro" : "std")
        guard mode == "std" || mode == "pro" else { return .failure(Problem(message: "mode must be std or pro")) }
        var out: [String: SimJSON] = [:]
        if let prompt = body["prompt"] { out["prompt"] = prompt }
        if let ratio = body["aspect_ratio"] { out["aspect_ratio"] = ratio }
        switch body["duration"] {
        case nil: break
        case .string(let text)?:
            guard let seconds = Int(text) else {
                return .failure(Problem(message: "duration must be a string of whole seconds"))
            }
            out["duration"] = .int(seconds)
        default: return .failure(Problem(message: "duration must be a string, such as \"5\""))
        }
        switch body["sound"] {
        case nil: break
        case .string("on")?: out["sound"] = .bool(true)
        case .string("off")?: out["sound"] = .bool(false)
        default: return .failure(Problem(message: "sound must be \"on\" or \"off\""))
        }
        for (key, value) in body where !known.contains(key) { out[key] = value }
        var type: String
        switch family {
        case "text2video", "image2video":
            if let negative = body["negative_prompt"] { out["negative_prompt"] = negative }
            if let cfg = body["cfg_scale"] { out["cfg_scale"] = cfg }
            if family == "image2video" {
                if let image = body["image"] { out["image"] = image }
                if let tail = body["image_tail"] { out["end_image"] = tail }
            }
            type = "\(mode)-\(family == "text2video" ? "text" : "image")-to-video"
        default:
            var first: SimJSON?
            var last: SimJSON?
            var references: [SimJSON] = []
            for case .object(let image) in body["image_list"]?.array ?? [] {
                guard let url = image["image_url"] else {
                    return .failure(Problem(message: "image_url must not be empty"))
                }
                switch image["type"]?.string {
                case "first_frame": first = url
                case "end_frame": last = url
                case nil: references.append(url)
                default: return .failure(Problem(message: "image_list[].type must be first_frame or end_frame"))
                }
            }
            let videos = body["video_list"]?.array ?? []
            guard videos.count <= 1 else { return .failure(Problem(message: "video_list takes at most 1 video")) }
            var video: [String: SimJSON]?
            if case .object(let v)? = videos.first { video = v }
            if let video, video["refer_type"]?.string ?? "base" == "base" {
                guard first == nil, last == nil else {
                    return .failure(Problem(message: "a base video cannot be given first or end frames"))
                }
                type = "o3-\(mode)-video-edit"
                out["video"] = video["video_url"]
                if let keep = video["keep_original_sound"]?.string { out["keep_original_sound"] = .bool(keep == "yes") }
                out.removeValue(forKey: "duration")
                out.removeValue(forKey: "sound")
                out.removeValue(forKey: "aspect_ratio")
            } else if video != nil || !references.isEmpty {
                type = "o3-\(mode)-reference-to-video"
                if !references.isEmpty { out["images"] = .array(references) }
                if let video { out["video"] = video["video_url"] }
                if video != nil, case .bool(true)? = out["sound"] {
                    return .failure(Problem(message: "with a reference video, sound can only be off"))
                }
                if video != nil { out.removeValue(forKey: "sound") }
            } else if let first {
                type = "o3-\(mode)-image-to-video"
                out["image"] = first
                if let last { out["end_image"] = last }
            } else {
                guard last == nil else { return .failure(Problem(message: "an end frame needs a first frame")) }
                type = "o3-\(mode)-text-to-video"
            }
        }
        out["type"] = .string(type)
        return .success(out)
    }

    static let known: Set<String> = [
        "model_name", "mode", "prompt", "aspect_ratio", "duration", "sound", "negative_prompt", "cfg_scale", "image",
        "image_tail", "image_list", "video_list", "external_task_id", "callback_url", "watermark_info",
    ]
}
