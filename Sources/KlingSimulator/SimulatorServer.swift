import Foundation
import Hummingbird
import Logging
import NIOCore

/// A request context that keeps its connection, so a fault can close it without an answer.
struct SimulatorContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    var maxUploadSize: Int { SimulatorServer.maxBody }
}

/// The Kling API simulator over HTTP: `POST /api/generate`, `GET /api/status`, the videos it
/// renders, and `/_sim/stats`, `/_sim/reset` and `/_sim/advance` for tests.
public enum SimulatorServer {
    static let maxBody = 1 << 20

    /// A running simulator: where it listens, its counters, and how to stop it.
    public final class Running: Sendable {
        public let port: Int
        public let host: String
        private let task: Task<Void, any Error>
        let state: SimulatorState

        init(port: Int, host: String, task: Task<Void, any Error>, state: SimulatorState) {
            self.port = port
            self.host = host
            self.task = task
            self.state = state
        }

        public var baseURL: String { "http://\(host):\(port)" }

        public func stats() async -> SimulatorStats { await state.stats() }

        public func reset() async { await state.reset() }

        /// Every task, as `GET /_sim/tasks` lists them.
        public func dashboard() async -> SimulatorDashboard { await state.dashboard() }

        /// Fast-forwards the simulated clock, so that a test never waits for a render.
        public func advance(seconds: Double) async { await state.advance(by: seconds) }

        public func stop() async {
            task.cancel()
            _ = try? await task.value
        }
    }

    /// Simulated seconds a request would take to render, or nil if the simulator would refuse it:
    /// for benchmarks that compare a makespan with its critical-path bound.
    public static func renderSeconds(request: Data) -> Double? {
        guard let body = try? JSONDecoder().decode([String: SimJSON].self, from: request) else { return nil }
        return try? SimulatorRules.check(body).renderSeconds
    }

    /// Starts a simulator in this process and returns once it listens.
    public static func start(_ configuration: SimulatorConfiguration) async throws -> Running {
        let state = SimulatorState(configuration: configuration)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = application(configuration, state: state) { port in continuation.yield(port) }
        let task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return Running(port: port, host: configuration.host, task: task, state: state)
    }

    /// Runs until SIGINT or SIGTERM, calling `onListening` with the bound port first.
    public static func serve(_ configuration: SimulatorConfiguration, onListening: @escaping @Sendable (Int) -> Void)
        async throws
    {
        let state = SimulatorState(configuration: configuration)
        try await application(configuration, state: state, onListening: onListening).runService()
    }

    static func application(
        _ configuration: SimulatorConfiguration, state: SimulatorState, onListening: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: SimulatorContext.self)
        router.add(middleware: JSONErrorMiddleware(state: state))
        switch configuration.api {
        case .gateway: addAPIRoutes(to: router, configuration, state: state)
        case .kling: addOfficialRoutes(to: router, configuration, state: state)
        }
        addVideoRoutes(to: router, clips: ClipStore(configuration: configuration), state: state)
        addControlRoutes(to: router, state: state)
        addStoreRoutes(to: router, objects: StoreObjects(), state: state)
        var logger = Logger(label: "kling-simulator")
        logger.logLevel = .critical
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "kling-simulator"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    /// Counts the request, then checks its key (401) and the key's rate (429).
    @Sendable static func admit(_ request: Request, as endpoint: String, state: SimulatorState) async -> Result<
        String, Refusal
    > {
        await state.count(endpoint)
        guard let key = bearer(request), await state.authenticate(key) else {
            return .failure(Refusal(response: error(401, "INVALID_API_KEY", "Invalid or missing API key")))
        }
        if let retry = await state.rateLimit(key) {
            return .failure(Refusal(response: error(429, "RATE_LIMITED", "Rate limit exceeded", retryAfter: retry)))
        }
        return .success(key)
    }

    /// `POST /api/generate` and `GET /api/status`: the API itself.
    static func addAPIRoutes(
        to router: Router<SimulatorContext>, _ configuration: SimulatorConfiguration, state: SimulatorState
    ) {
        router.post("/api/generate") { request, context in
            let key: String
            switch await admit(request, as: "POST /api/generate", state: state) {
            case .success(let admitted): key = admitted
            case .failure(let refusal): return refusal.response
            }
            guard let body = try await jsonObject(request) else {
                return error(400, "INVALID_REQUEST", "The body must be a JSON object")
            }
            let inputs = InputCheck(
                fetchOthers: configuration.fetchInputs,
                timeout: .milliseconds(Int64(configuration.inputTimeout * 1000)))
            if let refusal = await inputs.check(body) {
                return error(400, refusal.code, refusal.message)
            }
            let label = request.headers.first { $0.name.canonicalName == "x-kling-render-shot" }.map {
                String($0.value.prefix(80))
            }
            let outcome = await state.generate(key: key, body: body, label: label)
            if await state.slowAnswer() { try await Task.sleep(for: slowDelay(configuration)) }
            switch outcome {
            case .rejected(let rejection, let retryAfter):
                return error(rejection.status, rejection.code, rejection.message, retryAfter: retryAfter)
            case .gatewayPage:
                var headers = HTTPFields()
                headers[.contentType] = "text/html"
                let page =
                    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
                return Response(
                    status: .badGateway, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page)))
            case .dropConnection:
                try? await context.channel.close()
                throw CancellationError()
            case .created(let task):
                return json(
                    200,
                    Envelope(
                        code: 200, message: "success",
                        data: SimJSON.object([
                            "task_id": .string(task.id), "status": .string("IN_PROGRESS"),
                            "consumed_credits": .int(task.credits),
                        ])))
            }
        }

        router.get("/api/status") { request, _ in
            try await status(request, configuration, state: state)
        }
    }

    /// `GET /api/status?task_id=…`: the task's state, its request echoed, its video once done.
    static func status(_ request: Request, _ configuration: SimulatorConfiguration, state: SimulatorState) async throws
        -> Response
    {
        let key: String
        switch await admit(request, as: "GET /api/status", state: state) {
        case .success(let admitted): key = admitted
        case .failure(let refusal): return refusal.response
        }
        if await state.slowAnswer() { try await Task.sleep(for: slowDelay(configuration)) }
        guard let id = request.uri.queryParameters["task_id"].map(String.init),
            let task = await state.task(id, key: key),
            task.key == key
        else {
            return error(404, "TASK_NOT_FOUND", "No task with this id")
        }
        let now = await state.now()
        let done = now >= task.finishesAt
        let status = !done ? "IN_PROGRESS" : task.fails ? "FAILED" : "SUCCESS"
        let base = "http://\(request.head.authority ?? "\(configuration.host)")"
        let data: [String: SimJSON] = [
            "task_id": .string(task.id), "status": .string(status), "consumed_credits": .int(task.credits),
            "created_at": .string(timestamp(task.createdAt)), "request": .object(task.request),
            "response": .array(done && !task.fails && !task.empty ? [.string("\(base)/videos/\(task.id)/1.mp4")] : []),
            "error_message": done && task.fails ? .string("Render failed (simulated fault)") : .null,
            "type": .string(task.type),
        ]
        return json(200, Envelope(code: 200, message: "success", data: SimJSON.object(data)))
    }

    /// `GET /videos/TASK/1.mp4`, with `Range`.
    static func addVideoRoutes(to router: Router<SimulatorContext>, clips: ClipStore, state: SimulatorState) {
        router.get("/videos/:task/:file") { request, context in
            await state.count("GET /videos")
            guard let id = context.parameters.get("task"), context.parameters.get("file") == "1.mp4" else {
                return error(404, "NOT_FOUND", "No such video")
            }
            switch await state.video(id) {
            case .notFound:
                return error(404, "NOT_FOUND", "No such video")
            case .expired:
                return error(404, "URL_EXPIRED", "This video URL has expired")
            case .found(let task):
                let source = try await clips.video(for: task)
                return serve(source, range: request.headers[.range])
            }
        }

    }

    /// `/_sim/…`: the counters, the clock, the task list (the "dashboard"), and a reset.
    static func addControlRoutes(to router: Router<SimulatorContext>, state: SimulatorState) {
        router.get("/_sim/tasks") { _, _ in
            json(200, await state.dashboard())
        }
        router.get("/_sim/stats") { _, _ in
            json(200, await state.stats())
        }
        router.post("/_sim/advance") { request, _ in
            if let refused = foreignOrigin(request) { return refused }
            guard let text = request.uri.queryParameters["seconds"], let seconds = Double(String(text)), seconds >= 0
            else {
                return error(
                    400, "INVALID_REQUEST",
                    "POST /_sim/advance?seconds=N fast-forwards the simulated clock by N seconds")
            }
            await state.advance(by: seconds)
            return json(
                200, Envelope(code: 200, message: "success", data: SimJSON.object(["now": .double(await state.now())])))
        }
        router.post("/_sim/reset") { request, _ in
            if let refused = foreignOrigin(request) { return refused }
            await state.reset()
            return json(200, Envelope(code: 200, message: "success", data: SimJSON.null))
        }

    }

    /// A 403 for a state-changing request a web page sent from elsewhere: a browser names the
    /// page's origin, and only a page on this machine's loopback may reset or advance the
    /// simulator. Requests without an `Origin` (curl, the tool, tests) are not a browser's.
    static func foreignOrigin(_ request: Request) -> Response? {
        guard let origin = request.headers[.origin] else { return nil }
        let host = URLComponents(string: origin)?.host?.lowercased().trimmingCharacters(
            in: CharacterSet(charactersIn: "[]"))
        let loopback =
            host.map { host in
                let parts = host.split(separator: ".", omittingEmptySubsequences: false)
                return host == "localhost" || host == "::1"
                    || (parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil })
            } ?? false
        if loopback { return nil }
        return error(
            403, "FORBIDDEN", "the simulator's /_sim/ controls answer only pages on loopback, not \(origin.prefix(80))")
    }

    /// An answer that ends a request before its handler's work.
    struct Refusal: Error {
        var response: Response
    }

    static func slowDelay(_ configuration: SimulatorConfiguration) -> Duration {
        .milliseconds(max(20, Int(configuration.slowDelay * 1000 / max(configuration.timeScale, 1))))
    }

    /// A request's body as a JSON object (at most `maxBody` bytes), or nil when it is not one.
    static func jsonObject(_ request: Request) async throws -> [String: SimJSON]? {
        let buffer = try await request.body.collect(upTo: maxBody)
        return try? JSONDecoder().decode([String: SimJSON].self, from: Data(buffer: buffer))
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    static func timestamp(_ simulatedSeconds: Double) -> String {
        let date = Date(timeIntervalSince1970: 1_767_225_600 + simulatedSeconds)  // 2026-01-01, simulated
        return date.formatted(.iso8601)
    }

    struct Envelope<Data: Encodable>: Encodable {
        var code: Int
        var message: String
        var data: Data
    }

    /// The error body, documented in the README: `{"code": 400, "error": "INVALID_PROMPT", "message": "…", "data": null}`.
    struct ErrorBody: Encodable {
        var code: Int
        var error: String
        var message: String
        var data: SimJSON = .null
    }

    static func json(_ status: Int, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: Int, _ code: String, _ message: String, retryAfter: Int? = nil) -> Response {
        var response = json(status, ErrorBody(code: status, error: code, message: message))
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// Serves whole or a `Range: bytes=a-b` slice, streaming from the source.
    static func serve(_ source: VideoSource, range: String?) -> Response {
        let length = source.length
        var start = 0
        var end = length - 1
        var status = 200
        if let range {
            guard let parsed = parseRange(range, length: length) else {
                var response = error(416, "RANGE_NOT_SATISFIABLE", "Bad range")
                response.headers[.contentRange] = "bytes */\(length)"
                return response
            }
            (start, end) = parsed
            status = 206
        }
        var headers = HTTPFields()
        headers[.contentType] = "video/mp4"
        headers[.acceptRanges] = "bytes"
        if status == 206 { headers[.contentRange] = "bytes \(start)-\(end)/\(length)" }
        let count = max(0, end - start + 1)
        let (first, last) = (start, end)
        let body = ResponseBody(contentLength: count) { writer in
            var offset = first
            while offset <= last {
                let chunk = min(64 * 1024, last - offset + 1)
                try await writer.write(source.bytes(at: offset, count: chunk))
                offset += chunk
            }
            try await writer.finish(nil)
        }
        return Response(status: .init(code: status), headers: headers, body: body)
    }

    static func parseRange(_ header: String, length: Int) -> (Int, Int)? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        if spec[0].isEmpty {
            guard let suffix = Int(spec[1]), suffix > 0 else { return nil }
            return (max(0, length - suffix), length - 1)
        }
        guard let start = Int(spec[0]), start < length, start >= 0 else { return nil }
        let end = spec[1].isEmpty ? length - 1 : min(Int(spec[1]) ?? -1, length - 1)
        return end >= start ? (start, end) : nil
    }
}

/// Every failure answers JSON: unknown paths, wrong methods, oversized bodies, anything thrown.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = SimulatorContext
    let state: SimulatorState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch is NIOTooManyBytesError {
            return SimulatorServer.error(413, "PAYLOAD_TOO_LARGE", "The body is over 1 MiB")
        } catch let error as HTTPError {
            switch error.status.code {
            case 404:
                await state.count("other")
                return SimulatorServer.error(
                    404, "NOT_FOUND", "No such endpoint: \(request.method) \(request.uri.path)")
            case 413: return SimulatorServer.error(413, "PAYLOAD_TOO_LARGE", "The body is over 1 MiB")
            case 405: return SimulatorServer.error(405, "METHOD_NOT_ALLOWED", "\(request.method) is not allowed here")
            default: return SimulatorServer.error(error.status.code, "INVALID_REQUEST", error.body ?? "Bad request")
            }
        }
    }
}
