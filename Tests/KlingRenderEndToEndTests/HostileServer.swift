import Foundation
import Hummingbird
import NIOCore
import Testing

/// A server on loopback that answers as a hostile or broken Kling gateway would: each test
/// scripts the answers, everything else is a well-behaved API (a task, a success, a small video).
/// The built binary talks to it with `--endpoint`, over real sockets and real HTTP.
final class HostileServer: @unchecked Sendable {
    struct Call: Sendable {
        var method: String
        var path: String
        var query: String
        var body: String
        var authorization: String?
        var range: String?
    }

    enum Answer: Sendable {
        /// A body with a status and headers.
        case raw(Int, Data, headers: [String: String] = [:])
        /// `length` bytes, one every `interval`: a download that drips.
        case drip(length: Int, interval: Duration)
        /// The usual answer of a well-behaved API.
        case normal
    }

    typealias Script = @Sendable (Call, _ base: String) async -> Answer

    /// An MP4's first box: what the media gate reads to take bytes for a video.
    static let mp4Head = Data([0, 0, 0, 0x10] + Array("ftypisom".utf8) + [0, 0, 0, 0])
    /// `mp4Head`, then bytes up to 40,000 in all.
    static let video = mp4Head + Data((16..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })

    private(set) var baseURL = ""
    private var task: Task<Void, any Error>?
    private let lock = NSLock()
    private var log: [Call] = []

    init(_ script: @escaping Script) async throws {
        let router = Router()
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let respond: @Sendable (Request, String) async throws -> Response = { [unowned self] request, method in
            let body = try await request.body.collect(upTo: 1 << 20)
            let call = Call(
                method: method, path: request.uri.path, query: request.uri.query ?? "",
                body: String(buffer: body), authorization: request.headers[.authorization],
                range: request.headers[.range])
            self.lock.withLock { self.log.append(call) }
            return Self.response(for: await script(call, self.baseURL), call: call, base: self.baseURL)
        }
        router.post("**") { request, _ in try await respond(request, "POST") }
        router.get("**") { request, _ in try await respond(request, "GET") }
        // As an S3 store: HEAD and PUT.
        router.head("**") { request, _ in try await respond(request, "HEAD") }
        router.put("**") { request, _ in try await respond(request, "PUT") }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        baseURL = "http://127.0.0.1:\(port)"
    }

    func stop() async {
        task?.cancel()
        _ = try? await task?.value
    }

    var calls: [Call] { lock.withLock { log } }

    func count(_ method: String, _ path: String) -> Int {
        calls.filter { $0.method == method && $0.path.hasPrefix(path) }.count
    }

    // MARK: - Answers

    static func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> Answer {
        .raw(status, Data(text.utf8), headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a })
    }

    static func created(_ task: String = "n75hostile1", credits: String = "400") -> Answer {
        json(
            200,
            #"{"code":200,"message":"success","data":{"task_id":"\#(task)","status":"IN_PROGRESS","consumed_credits":\#(credits)}}"#
        )
    }

    static func succeeded(_ task: String, urls: [String]) -> Answer {
        let list = urls.map { "\"\($0)\"" }.joined(separator: ",")
        return json(
            200,
            #"{"code":200,"message":"success","data":{"task_id":"\#(task)","status":"SUCCESS","response":[\#(list)]}}"#)
    }

    private static func response(for answer: Answer, call: Call, base: String) -> Response {
        switch answer {
        case .normal:
            if call.path == "/api/generate" { return response(for: created(), call: call, base: base) }
            if call.path == "/api/status" {
                let task = call.query.components(separatedBy: "task_id=").last ?? "n75hostile1"
                return response(for: succeeded(task, urls: ["\(base)/videos/\(task).mp4"]), call: call, base: base)
            }
            return response(for: .raw(200, video, headers: ["Content-Type": "video/mp4"]), call: call, base: base)
        case .raw(let status, let data, let headers):
            var fields = HTTPFields()
            for (name, value) in headers {
                switch name {
                case "Content-Type": fields[.contentType] = value
                case "Retry-After": fields[.retryAfter] = value
                case "Content-Range": fields[.contentRange] = value
                case "Location": fields[.location] = value
                default: Issue.record("HostileServer sends no \(name) header")
                }
            }
            return Response(
                status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        case .drip(let length, let interval):
            var fields = HTTPFields()
            fields[.contentType] = "video/mp4"
            let body = ResponseBody(contentLength: length) { writer in
                for _ in 0..<length {
                    try await writer.write(ByteBuffer(bytes: [0x41]))
                    try await Task.sleep(for: interval)
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: fields, body: body)
        }
    }
}

/// A project in a scratch folder rendered against a `HostileServer`, as a user would with `--endpoint`.
final class HostileRun: @unchecked Sendable {
    let scratch: Scratch
    let server: HostileServer
    var key = "hostile-test-key-7f3a9c"

    static let oneShot = """
        version: 1
        shots:
          a:
            type: std-text-to-video
            prompt: a fox in the snow
            duration: 5
        """

    init(_ yaml: String = HostileRun.oneShot, _ script: @escaping HostileServer.Script) async throws {
        scratch = try Scratch()
        try scratch.write("film.yaml", yaml)
        server = try await HostileServer(script)
    }

    func stop() async { await server.stop() }

    func apply(_ extra: [String] = [], environment: [String: String] = [:]) async throws -> CLI.Result {
        try await run(["apply", "film.yaml", "--yes"] + extra, environment: environment)
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CLI.Result {
        // apply talks to the server, its waits compressed 1000 times (a 300 s Retry-After is 0.3 s).
        let full =
            arguments.first == "apply" ? arguments + ["--endpoint", server.baseURL, "--time-scale", "1000"] : arguments
        var env = ["KLING_API_KEY": key]
        for (k, v) in environment { env[k] = v }
        return try await CLI.run(full, in: scratch.url, environment: env)
    }

    var manifestText: String {
        (try? String(contentsOf: scratch.url.appendingPathComponent("film.manifest.json"), encoding: .utf8)) ?? ""
    }

    var shot: [String: Any] {
        let data = Data(manifestText.utf8)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        return (object?["shots"] as? [String: [String: Any]])?["a"] ?? [:]
    }
}
