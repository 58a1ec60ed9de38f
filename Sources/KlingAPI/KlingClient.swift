import AsyncHTTPClient
import Foundation
import KlingRenderCore
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// The Kling API over HTTP: create a task, ask for its status, fetch its videos.
///
/// Answers are classified by HTTP status first, then by the code found in the body; empty,
/// non-JSON and HTML bodies are survived. The key goes only into the `Authorization` header of
/// API requests: never to a video URL, never into an error.
public struct KlingClient: Sendable {
    public static let defaultBaseURL = "https://kling3api.com"

    public let baseURL: String
    private let apiKey: String
    private let http: HTTPClient
    /// How long one API request may take, answer included.
    public var requestTimeout: TimeAmount = .seconds(90)

    /// One client for the process, never shut down (a static lives as long as the process): a
    /// connection that cannot be made fails within `connect`, not at the request's deadline.
    /// Redirects are followed by `execute`, which judges every hop's address first.
    public static let sharedHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: .seconds(120))))

    /// Why a key cannot be sent, or nil: a key is visible ASCII (no space, newline, NUL or DEL),
    /// at most 4096 characters. The reason never quotes the key.
    public static func keyProblem(_ key: String) -> String? {
        if key.isEmpty { return "is empty" }
        if key.utf8.count > 4096 { return "is \(key.utf8.count) bytes long; a key is at most 4096" }
        if key.utf8.contains(where: { $0 < 0x21 || $0 > 0x7E }) {
            return "holds a character an HTTP header cannot carry (a space, newline, NUL, DEL or non-ASCII)"
        }
        return nil
    }

    /// Every text that came from outside (the server, the network stack), made safe to keep: the
    /// key spelled out anywhere in it is replaced, so is the signature (and session token) of a
    /// presigned URL an answer echoes (a week of read access, not to be committed), and it is cut
    /// to `limit` characters.
    public func redacted(_ text: String, limit: Int = 300) -> String {
        var text = Secrets.shared.redact(withoutKey(text))
        if text.range(of: "x-amz-", options: .caseInsensitive) != nil {
            // `=`, percent-encoded inside another URL (`%3D`), or as a JSON field (`": "`).
            text = text.replacingOccurrences(
                of: #"(?i)(x-amz-(signature|security-token|credential)(=|%3D|"\s*:\s*"))[^&\s"'<>]*"#,
                with: "$1[redacted]", options: .regularExpression)
        }
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    private func withoutKey(_ text: String) -> String {
        var text = text
        if apiKey.count >= 4 {
            text = text.replacingOccurrences(of: apiKey, with: "[redacted key]")
            if let encoded = apiKey.addingPercentEncoding(withAllowedCharacters: .alphanumerics), encoded != apiKey {
                text = text.replacingOccurrences(of: encoded, with: "[redacted key]")
            }
        }
        return text
    }

    /// Whether a text spells out the key (as is, or percent-encoded) or another secret of the run:
    /// such a text is never kept.
    func holdsKey(_ text: String) -> Bool {
        withoutKey(text) != text || Secrets.shared.holdsSecret(text)
    }

    public init(baseURL: String, apiKey: String, http: HTTPClient = KlingClient.sharedHTTPClient) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
        self.http = http
    }

    /// `POST /api/generate` with a JSON body. Each request has a connection of its own
    /// (`Connection: close`), so that a keep-alive connection the server dropped can never turn a
    /// request that was never read into an uncertain one, nor the reverse.
    public func generate(body: Data) async throws(KlingAPIError) -> CreatedTask {
        try await generate(body: body, label: nil)
    }

    /// The label goes in `X-Kling-Render-Shot`, printable ASCII only, at most 80 bytes.
    public func generate(body: Data, label: String?) async throws(KlingAPIError) -> CreatedTask {
        do {
            return try await unredactedGenerate(body: body, label: label)
        } catch {
            throw error.redacted(by: self)
        }
    }

    private func unredactedGenerate(body: Data, label: String?) async throws(KlingAPIError) -> CreatedTask {
        if let problem = Self.keyProblem(apiKey) { throw .notSent(reason: "the API key \(problem)") }
        var request = HTTPClientRequest(url: baseURL + "/api/generate")
        request.method = .POST
        request.headers = apiHeaders
        if let label {
            let printable = String(
                String.UnicodeScalarView(label.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }).prefix(80)
            )
            if !printable.isEmpty { request.headers.add(name: "X-Kling-Render-Shot", value: printable) }
        }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Connection", value: "close")
        request.body = .bytes(ByteBuffer(bytes: body))
        let (status, headers, data) = try await send(request, sent: true)
        guard status == 200 else { throw Self.classify(status: status, headers: headers, body: data) }
        guard let envelope = Envelope.decode(data), let taskID = envelope.data?.taskID, !taskID.isEmpty else {
            // A 200 that names no task: one may have been created all the same.
            throw .answerLost(reason: "the answer to the request has no task id (\(Self.snippet(data)))")
        }
        guard WireLimits.isTaskID(taskID), !holdsKey(taskID) else {
            throw .answerLost(reason: "the answer names a task id that is not one (\(taskID.utf8.count) bytes)")
        }
        // Anything else in the answer that is unusable is dropped, never fatal: the task id is what counts.
        return CreatedTask(
            taskID: taskID, status: WireLimits.word(envelope.data?.status) ?? "",
            consumedCredits: envelope.data?.consumedCredits)
    }

    /// `GET /api/status?task_id=…`.
    public func status(taskID: String) async throws(KlingAPIError) -> TaskReport {
        do {
            var report = try await unredactedStatus(taskID: taskID)
            report.status = redacted(report.status)
            report.failureReason = report.failureReason.map { redacted($0) }
            return report
        } catch {
            throw error.redacted(by: self)
        }
    }

    private func unredactedStatus(taskID: String) async throws(KlingAPIError) -> TaskReport {
        if let problem = Self.keyProblem(apiKey) { throw .notSent(reason: "the API key \(problem)") }
        var components = URLComponents(string: baseURL + "/api/status")
        components?.queryItems = [URLQueryItem(name: "task_id", value: taskID)]
        var request = HTTPClientRequest(url: components?.string ?? baseURL + "/api/status")
        request.headers = apiHeaders
        let (status, headers, data) = try await send(request, sent: false)
        if status == 404 { throw .taskNotFound(taskID: taskID) }
        guard status == 200 else { throw Self.classify(status: status, headers: headers, body: data) }
        guard let payload = Envelope.decode(data)?.data, let word = WireLimits.word(payload.status) else {
            throw .unexpectedAnswer(status: status, detail: "no task status in the answer (\(Self.snippet(data)))")
        }
        if let other = payload.taskID, other != taskID {
            throw .unexpectedAnswer(
                status: status, detail: "the answer is about another task (\(other.utf8.count) bytes)")
        }
        var phase = TaskPhase(status: word)
        let offered = payload.response ?? []
        let urls = offered.filter { WireLimits.isVideoURL($0) && !holdsKey($0) }
        var reason: String?
        if phase == .succeeded, offered.count > WireLimits.maxURLs {
            phase = .failed
            reason = "the API reported \(offered.count) video URLs; a render has at most \(WireLimits.maxURLs)"
        } else if phase == .succeeded, urls.isEmpty {
            phase = .failed
            reason =
                offered.isEmpty
                ? "the API reported \(word) with no video URL"
                : "the API reported \(word) with no http(s) video URL (\(offered.count) other)"
        } else if phase == .failed {
            reason = [payload.errorMessage, payload.failedReason].compactMap { $0 }.first { !$0.isEmpty } ?? word
        }
        var report = TaskReport(
            taskID: taskID, status: word, phase: phase, consumedCredits: payload.consumedCredits,
            urls: urls, failureReason: reason)
        report.echoedRequest = payload.request.mapValues { redacted($0, limit: 4000) }
        return report
    }

    /// Fetches a video from `offset` (a `Range` request when above 0), handing each chunk to
    /// `receive` as it arrives: memory stays flat whatever the size. No API key is sent.
    public func download(
        _ url: String, from offset: Int64, head: (DownloadHead) async throws -> Void,
        receive: (ByteBuffer) async throws -> Void
    ) async throws {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        if offset > 0 { request.headers.add(name: "Range", value: "bytes=\(offset)-") }
        let (response, pinned) = try await execute(request, timeout: .hours(6), sent: false)
        do {
            try await read(response, from: offset, head: head, receive: receive)
        } catch {
            try? await pinned?.shutdown()
            throw error
        }
        try? await pinned?.shutdown()
    }

    private func read(
        _ response: HTTPClientResponse, from offset: Int64, head: (DownloadHead) async throws -> Void,
        receive: (ByteBuffer) async throws -> Void
    ) async throws {
        let status = Int(response.status.code)
        switch status {
        case 200:
            let length = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
            try await head(DownloadHead(offset: 0, totalLength: length))
        case 206:
            // `bytes START-END/TOTAL`: the bytes must start where the partial file stops.
            let range = response.headers.first(name: "Content-Range") ?? ""
            let total = range.split(separator: "/").last.flatMap { Int64($0) }
            let start = range.split(separator: " ").last?.split(separator: "-").first.flatMap { Int64($0) }
            guard start == offset || offset == 0 && start == nil else {
                throw KlingAPIError.unexpectedAnswer(
                    status: 206,
                    detail: "the server resumed at another byte than \(offset) (Content-Range: \(Self.plain(range)))")
            }
            try await head(DownloadHead(offset: offset, totalLength: total))
        case 403, 404, 410:
            throw KlingAPIError.urlExpired(status: status)
        default:
            let data = (try? await response.body.collect(upTo: 64 * 1024)).map { Data(buffer: $0) } ?? Data()
            throw KlingAPIError.unexpectedAnswer(status: status, detail: Self.snippet(data))
        }
        do {
            for try await chunk in response.body { try await receive(chunk) }
        } catch let error as HTTPClientError {
            throw Self.transport(error, sent: true)
        }
    }

    // MARK: - Plumbing

    static let userAgent = "kling-render/0.1"
    /// No answer of the API is larger; a bigger one is cut off, not read into memory.
    static let maxAnswerBytes = 4 << 20

    private var apiHeaders: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: Self.userAgent)
        return headers
    }

    /// Sends a request and reads its whole (small) answer. `sent` says what a failure after the
    /// connection was made means: for a POST, that the request may have arrived.
    func send(_ request: HTTPClientRequest, sent: Bool) async throws(KlingAPIError) -> (Int, HTTPHeaders, Data) {
        let (response, pinned) = try await execute(request, timeout: requestTimeout, sent: sent)
        defer { if let pinned { Task { try? await pinned.shutdown() } } }
        let status = Int(response.status.code)
        do {
            let body = try await collect(response.body, within: requestTimeout)
            return (status, response.headers, Data(buffer: body))
        } catch is AnswerTooSlow {
            let reason =
                "the answer (HTTP \(status)) did not arrive whole within \(requestTimeout.nanoseconds / 1_000_000_000) s"
            throw sent ? .answerLost(reason: reason) : .unexpectedAnswer(status: status, detail: reason)
        } catch is NIOTooManyBytesError {
            let reason = "the answer (HTTP \(status)) is larger than \(Self.maxAnswerBytes >> 20) MiB; no API answer is"
            // For a POST the request arrived: a task may exist.
            throw sent ? .answerLost(reason: reason) : .unexpectedAnswer(status: status, detail: reason)
        } catch {
            throw Self.transport(error, sent: sent)
        }
    }

    private struct AnswerTooSlow: Error {}

    /// At most this many redirects are followed.
    static let maxRedirects = 5

    /// Sends a request, following the redirects of a GET (a POST's is its answer): every hop's
    /// address — as written and as it resolves — is judged by `URLPolicy` before a connection is
    /// made, and a name is then connected to at the very address that was judged (a client of its
    /// own, with AsyncHTTPClient's DNS override: certificate and SNI still name the host), so a
    /// second lookup cannot lead elsewhere. Neither a URL nor a redirect reaches the user's own
    /// network unless the API is there itself. Headers go only to the API's own origin. The
    /// pinned client, when one was made, is the caller's to shut down once the body is read.
    private func execute(_ first: HTTPClientRequest, timeout: TimeAmount, sent: Bool) async throws(KlingAPIError)
        -> (HTTPClientResponse, HTTPClient?)
    {
        var request = first
        for hop in 0...Self.maxRedirects {
            var client: HTTPClient?
            // The API's own address is the user's to choose: judged only when a hop leads elsewhere.
            if !(hop == 0 && Self.sameOrigin(request.url, baseURL)) {
                switch await URLPolicy.admission(request.url, endpoint: baseURL) {
                case .refused(let problem):
                    throw .addressRefused(reason: "\(hop == 0 ? "the URL" : "a redirect") \(problem)")
                case .admitted(let pin):
                    client = pin.map { Self.pinned(host: $0.host, to: $0.address) }
                }
            }
            let response: HTTPClientResponse
            do {
                response = try await (client ?? http).execute(request, timeout: timeout)
            } catch {
                try? await client?.shutdown()
                throw Self.transport(error, sent: sent)
            }
            guard request.method == .GET, [301, 302, 303, 307, 308].contains(response.status.code),
                let location = response.headers.first(name: "Location"),
                let next = URL(string: location, relativeTo: URL(string: request.url))?.absoluteString
            else { return (response, client) }
            try? await client?.shutdown()
            if !Self.sameOrigin(next, request.url) { request.headers.remove(name: "Authorization") }
            request.url = next
        }
        throw .unexpectedAnswer(status: 310, detail: "more than \(Self.maxRedirects) redirects")
    }

    /// A client that connects to `host` at `address` only.
    private static func pinned(host: String, to address: String) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(120)))
        configuration.dnsOverride = [host: address]
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    private static func sameOrigin(_ a: String, _ b: String) -> Bool {
        let (x, y) = (URLComponents(string: a), URLComponents(string: b))
        return x?.scheme?.lowercased() == y?.scheme?.lowercased() && x?.host?.lowercased() == y?.host?.lowercased()
            && x?.port == y?.port
    }

    /// An answer's body, whole, within `limit`: a server that drips it a byte at a time is cut off
    /// (the client's own deadline stops once the head has come).
    private func collect(_ body: HTTPClientResponse.Body, within limit: TimeAmount) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: Self.maxAnswerBytes) }
            group.addTask {
                try await Task.sleep(for: .nanoseconds(limit.nanoseconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else { throw AnswerTooSlow() }
            return buffer
        }
    }

    /// A failure of the connection, sorted into "never left" and "may have arrived".
    static func transport(_ error: any Error, sent: Bool) -> KlingAPIError {
        if let error = error as? KlingAPIError { return error }
        // A system error in the system's words ("Connection refused"), not NIO's debug form.
        let text = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? String(describing: error)
        if error is NIOConnectionError || isConnectFailure(error) {
            return .notSent(reason: Self.plain(text))
        }
        return sent ? .answerLost(reason: Self.plain(text)) : .notSent(reason: Self.plain(text))
    }

    /// Whether the connection was never made, by the error's type and code, never its words.
    private static func isConnectFailure(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return [
                HTTPClientError.connectTimeout, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout,
                .invalidURL, .emptyHost, .emptyScheme, .alreadyShutdown,
            ].contains(error)
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        if let error = error as? IOError {
            return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ECONNABORTED].contains(error.errnoCode)
        }
        if let error = error as? NIOConnectionError { return !error.connectionErrors.isEmpty || error.dnsAError != nil }
        return false
    }

    private static func plain(_ text: String) -> String {
        text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// An error answer, by HTTP status first, then by the code in the body's `error` field.
    static func classify(status: Int, headers: HTTPHeaders, body: Data) -> KlingAPIError {
        let envelope = Envelope.decode(body)
        // The code is the body's `error` field, read as the API documents it; never searched for in text.
        let code = envelope?.error.flatMap(WireLimits.word)
        let message = envelope?.message.flatMap { $0.isEmpty ? nil : $0 } ?? snippet(body)
        switch status {
        case 401: return .invalidAPIKey(message: message)
        case 402: return .insufficientCredits(message: message)
        case 429:
            var message = message
            if let wait = retryAfter(headers), wait == .milliseconds(Int64(maxRetryAfter * 1000)),
                let asked = headers.first(name: "Retry-After"), Double(asked).map({ $0 > maxRetryAfter }) ?? true
            {
                message += " (Retry-After: \(String(asked.prefix(40))); waiting \(Int(maxRetryAfter)) s at most)"
            }
            return .rateLimited(retryAfter: retryAfter(headers), message: message)
        case 400..<500: return .rejected(status: status, code: code, message: message)
        // Only these say that nothing was done; any other 5xx (504, a proxy's 520–524) may come
        // after the request reached the API.
        case 500, 502, 503: return .serverError(status: status, code: code, message: message)
        case 504: return .answerLost(reason: "the gateway timed out (504); the task may have been created")
        case 500..<600:
            return .answerLost(reason: "the API answered \(status) (\(message)); the task may have been created")
        default: return .unexpectedAnswer(status: status, detail: message)
        }
    }

    /// The longest `Retry-After` taken: a server asking for more is waited on this long, and told so.
    public static let maxRetryAfter = 300.0

    /// `Retry-After` in seconds or as an HTTP date, capped at `maxRetryAfter`.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0, seconds.isFinite {
            return .milliseconds(Int64(min(seconds, maxRetryAfter) * 1000))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        let seconds = date.timeIntervalSinceNow
        guard seconds.isFinite else { return nil }
        return .milliseconds(Int64(min(max(0, seconds), maxRetryAfter) * 1000))
    }

    /// A short, printable piece of a body: HTML tags stripped, whitespace folded.
    static func snippet(_ body: Data) -> String {
        if body.isEmpty { return "empty body" }
        // Redacted before it is cut: a secret across the cut would leave its start.
        var text = Secrets.shared.redact(String(decoding: body.prefix(2048), as: UTF8.self))
        text = text.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
        text = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        if text.isEmpty { return "\(body.count) bytes that are not text" }
        return text.count > 160 ? String(text.prefix(160)) + "…" : text
    }
}
