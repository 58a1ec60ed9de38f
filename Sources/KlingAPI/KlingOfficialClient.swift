import AsyncHTTPClient
import Foundation
import JWTKit
import KlingRenderCore
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The official Kling AI Open Platform API (`provider: kling`): `POST /v1/videos/FAMILY` with a
/// JWT signed from an access key and secret key (or an API key as a Bearer token), `GET
/// /v1/videos/FAMILY/ID` by task id or by the `external_task_id` the client gave it.
///
/// The engine speaks the gateway's request (SPEC §1); this client writes it in the official API's
/// words (`OfficialWire`) and reads the answers back into the same `CreatedTask` and `TaskReport`.
/// Its task ids carry their family (`omni-video:8623…`), since the official API asks for a task
/// under the path it was created on. The plumbing — addresses judged at every hop, answers' size
/// and time limits, downloads — is `KlingClient`'s.
public struct KlingOfficialClient: KlingService {
    public static let defaultBaseURL = "https://api-singapore.klingai.com"
    /// HS256 takes a key at least as long as its digest.
    public static let minimumSecretBytes = 32

    /// How requests are signed.
    public enum Credentials: Sendable {
        /// An access key and secret key: each request carries an HS256 JWT (`iss` the access key,
        /// `exp` 30 minutes on, `nbf` 5 seconds back), signed again a minute before it expires.
        case keys(access: String, secret: String)
        /// One API key, sent as it is.
        case apiKey(String)
    }

    let transport: KlingClient
    let credentials: Credentials
    let tokens: Tokens
    public var baseURL: String { transport.baseURL }
    public var namesTasks: Bool { true }

    public init(
        baseURL: String, credentials: Credentials, http: HTTPClient = KlingClient.sharedHTTPClient,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        transport = KlingClient(baseURL: baseURL, apiKey: "", http: http)
        self.credentials = credentials
        tokens = Tokens(now: now)
        switch credentials {
        case .keys(_, let secret): Secrets.shared.register(secret)
        case .apiKey(let key): Secrets.shared.register(key)
        }
    }

    /// Why a key cannot be sent, or nil (as `KlingClient.keyProblem`), for each part given.
    public static func credentialsProblem(_ credentials: Credentials) -> String? {
        switch credentials {
        case .keys(let access, let secret):
            KlingClient.keyProblem(access).map { "the access key \($0)" }
                ?? KlingClient.keyProblem(secret).map { "the secret key \($0)" }
                // HS256 with a key shorter than its digest is refused by the signer (jwt-kit).
                ?? (secret.utf8.count < Self.minimumSecretBytes
                    ? "the secret key is \(secret.utf8.count) bytes; HS256 signing takes at least \(Self.minimumSecretBytes)"
                    : nil)
        case .apiKey(let key): KlingClient.keyProblem(key).map { "the API key \($0)" }
        }
    }

    // MARK: - KlingService

    public func generate(body: Data) async throws(KlingAPIError) -> CreatedTask {
        try await generate(body: body, label: nil, externalID: nil)
    }

    public func generate(body: Data, label: String?) async throws(KlingAPIError) -> CreatedTask {
        try await generate(body: body, label: label, externalID: nil)
    }

    /// `POST /v1/videos/FAMILY`, the request in the official API's words, with `externalID` as
    /// its `external_task_id`. A label is never sent: it is for a rehearsal's gateway simulator.
    public func generate(body: Data, label: String?, externalID: String?) async throws(KlingAPIError)
        -> CreatedTask
    {
        let wire: OfficialWire.Request
        do {
            wire = try OfficialWire.request(gateway: body, externalID: externalID)
        } catch {
            throw .notSent(reason: "the request cannot be written for the official API: \(error.reason)")
        }
        var request = HTTPClientRequest(url: baseURL + "/v1/videos/" + wire.family)
        request.method = .POST
        request.headers = try await headers()
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Connection", value: "close")
        request.body = .bytes(ByteBuffer(bytes: wire.body))
        let (status, headers, data) = try await send(request, sent: true)
        let answer = OfficialWire.Answer.decode(data)
        guard status == 200, answer?.code == 0 else {
            throw OfficialWire.classify(status: status, headers: headers, body: data, creating: true).redacted(
                by: transport)
        }
        guard let taskID = answer?.data?.taskID, !taskID.isEmpty else {
            throw .answerLost(reason: "the answer to the request has no task id (\(KlingClient.snippet(data)))")
        }
        let qualified = wire.family + ":" + taskID
        guard WireLimits.isTaskID(qualified), !transport.holdsKey(qualified) else {
            throw .answerLost(reason: "the answer names a task id that is not one (\(taskID.utf8.count) bytes)")
        }
        return CreatedTask(
            taskID: qualified, status: WireLimits.word(answer?.data?.taskStatus) ?? "", consumedCredits: nil)
    }

    /// `GET /v1/videos/FAMILY/ID` for a task id this client returned (`family:id`).
    public func status(taskID: String) async throws(KlingAPIError) -> TaskReport {
        guard let (family, id) = OfficialWire.split(taskID) else {
            throw .taskNotFound(taskID: taskID)
        }
        let data = try await query(family: family, id: id, notFound: .taskNotFound(taskID: taskID))
        guard let task = OfficialWire.Answer.decode(data)?.data, let word = WireLimits.word(task.taskStatus) else {
            throw .unexpectedAnswer(status: 200, detail: "no task status in the answer (\(KlingClient.snippet(data)))")
        }
        if let other = task.taskID, other != id {
            throw .unexpectedAnswer(status: 200, detail: "the answer is about another task (\(other.utf8.count) bytes)")
        }
        var report = OfficialWire.report(task, taskID: taskID, word: word) { transport.holdsKey($0) }
        report.status = transport.redacted(report.status)
        report.failureReason = report.failureReason.map { transport.redacted($0) }
        return report
    }

    /// The task created with `externalID`, by `GET /v1/videos/FAMILY/EXTERNAL_ID` (the path takes
    /// either id, as the documentation says); nil when the API has none. `body`: the gateway
    /// request it was sent with, for its family.
    public func find(externalID: String, body: Data) async throws(KlingAPIError) -> CreatedTask? {
        let family: String
        do {
            family = try OfficialWire.request(gateway: body, externalID: externalID).family
        } catch {
            throw .notSent(reason: "the request cannot be written for the official API: \(error.reason)")
        }
        let data: Data
        do {
            data = try await query(family: family, id: externalID, notFound: .taskNotFound(taskID: externalID))
        } catch .taskNotFound {
            return nil
        }
        guard let task = OfficialWire.Answer.decode(data)?.data, let id = task.taskID, !id.isEmpty else {
            throw .unexpectedAnswer(status: 200, detail: "no task in the answer (\(KlingClient.snippet(data)))")
        }
        // The answer is about the task given that id, or it is not an answer to this question
        // (the path also takes a task's own id: a task of another name is never adopted).
        guard task.externalTaskID == externalID else {
            throw .unexpectedAnswer(status: 200, detail: "the answer is about another task")
        }
        let qualified = family + ":" + id
        guard WireLimits.isTaskID(qualified), !transport.holdsKey(qualified) else {
            throw .unexpectedAnswer(status: 200, detail: "the answer names a task id that is not one")
        }
        return CreatedTask(taskID: qualified, status: WireLimits.word(task.taskStatus) ?? "", consumedCredits: nil)
    }

    public func download(
        _ url: String, from offset: Int64, head: (DownloadHead) async throws -> Void,
        receive: (ByteBuffer) async throws -> Void
    ) async throws {
        try await transport.download(url, from: offset, head: head, receive: receive)
    }

    // MARK: - Plumbing

    private func query(family: String, id: String, notFound: KlingAPIError) async throws(KlingAPIError) -> Data {
        // Letters, digits, `-` and `_` as they are; anything else (`.` of `..` too) escaped.
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-_")))
        var request = HTTPClientRequest(url: baseURL + "/v1/videos/" + family + "/" + (escaped ?? id))
        request.headers = try await headers()
        let (status, headers, data) = try await send(request, sent: false)
        let answer = OfficialWire.Answer.decode(data)
        if status == 404 || OfficialWire.notFoundCodes.contains(answer?.code ?? -1) { throw notFound }
        guard status == 200, answer?.code == 0 else {
            throw OfficialWire.classify(status: status, headers: headers, body: data, creating: false).redacted(
                by: transport)
        }
        return data
    }

    private func send(_ request: HTTPClientRequest, sent: Bool) async throws(KlingAPIError) -> (
        Int, HTTPHeaders, Data
    ) {
        do {
            return try await transport.send(request, sent: sent)
        } catch {
            throw error.redacted(by: transport)
        }
    }

    private func headers() async throws(KlingAPIError) -> HTTPHeaders {
        if let problem = Self.credentialsProblem(credentials) { throw .notSent(reason: problem) }
        let token: String
        switch credentials {
        case .apiKey(let key): token = key
        case .keys(let access, let secret):
            do {
                token = try await tokens.current(access: access, secret: secret)
            } catch {
                throw .notSent(reason: "the request could not be signed: \(type(of: error))")
            }
        }
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token)")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: KlingClient.userAgent)
        return headers
    }

    /// The claims of a token the official API accepts: who signed it, until when, from when.
    public struct Claims: JWTPayload, Equatable {
        public var iss: IssuerClaim
        public var exp: ExpirationClaim
        public var nbf: NotBeforeClaim

        public init(iss: IssuerClaim, exp: ExpirationClaim, nbf: NotBeforeClaim) {
            self.iss = iss
            self.exp = exp
            self.nbf = nbf
        }

        public func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
            try nbf.verifyNotBefore()
        }
    }

    /// Tokens signed for the access key, kept until a minute before they expire: a long poll
    /// outlives one, and every token is a secret of the run (never printed, never kept).
    package final class Tokens: @unchecked Sendable {
        static let lifetime: TimeInterval = 1800
        static let early: TimeInterval = 5
        static let margin: TimeInterval = 60
        private let lock = NSLock()
        private var token: (text: String, expires: Date)?
        let now: @Sendable () -> Date

        package init(now: @escaping @Sendable () -> Date) { self.now = now }

        package func current(access: String, secret: String) async throws -> String {
            let time = now()
            if let token = lock.withLock({ token }), token.expires.timeIntervalSince(time) > Self.margin {
                return token.text
            }
            let text = try await Self.sign(access: access, secret: secret, at: time)
            Secrets.shared.register(text)
            lock.withLock { token = (text, time.addingTimeInterval(Self.lifetime)) }
            return text
        }

        /// An HS256 JWT for `access`, signed with `secret`: `exp` 30 minutes after `time`, `nbf` 5
        /// seconds before it, as the official API's authentication page shows.
        static func sign(access: String, secret: String, at time: Date) async throws -> String {
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            let claims = Claims(
                iss: IssuerClaim(value: access), exp: ExpirationClaim(value: time.addingTimeInterval(lifetime)),
                nbf: NotBeforeClaim(value: time.addingTimeInterval(-early)))
            return try await keys.sign(claims)
        }
    }
}

extension KlingOfficialClient {
    /// A token signed as each request's is, at `time` (for tests and the simulator's checks).
    package static func token(access: String, secret: String, at time: Date) async throws -> String {
        try await Tokens.sign(access: access, secret: secret, at: time)
    }
}
