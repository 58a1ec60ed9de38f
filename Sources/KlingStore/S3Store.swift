import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat

/// What the engine needs of an asset store: is a content there, put it, and a URL the API can
/// fetch it from. `S3Store` is the one over HTTP.
public protocol ObjectStore: Sendable {
    /// `s3://bucket/prefix/`: how the manifest names the store.
    var label: String { get }
    /// Seconds a URL from `url(for:)` lasts; nil when objects are public.
    var urlLifetime: Int? { get }
    /// Whether the store holds `key` with `bytes` bytes: false when it does not, or cannot say.
    func exists(_ key: String, bytes: Int64) async throws(StoreError) -> Bool
    /// Uploads the `bytes` bytes read from `file` (whose SHA-256 is `sha256`) under `key`, streamed.
    func put(_ key: String, file: FileHandle, bytes: Int64, sha256: String, contentType: String)
        async throws(StoreError)
    func url(for key: String) -> String
    /// `PREFIX/SHA256.EXT`: where a content is kept.
    func key(sha256: String, fileExtension: String) -> String
}

/// What went wrong with the store, without a credential in it.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store answered with an error: its HTTP status and S3 error code.
    case refused(status: Int, code: String?)
    case unreachable(String)
    case file(String)
    /// The file's bytes are no longer those hashed when the upload was planned: the upload was
    /// cut off before its last chunk, so nothing is stored under the old signature.
    case changedDuringUpload

    /// Why `FileChunks` stopped an upload.
    struct Changed: Error {}

    public var description: String {
        switch self {
        case .refused(403, let code):
            "the store refused the request (403 \(code ?? "Forbidden")): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy"
        case .refused(let status, let code): "the store answered \(status) \(code ?? "")"
        case .unreachable(let detail): "the store cannot be reached: \(detail)"
        case .file(let detail): detail
        case .changedDuringUpload: "the file changed during upload: plan again"
        }
    }
}

/// An S3-compatible bucket (AWS, R2, MinIO, GCS interop, B2, moto), signed with SigV4.
public struct S3Store: ObjectStore {
    public var bucket: String
    public var prefixLabel: String
    /// A non-AWS endpoint, path-style (`ENDPOINT/BUCKET/KEY`); nil for AWS.
    public var endpoint: String?
    public var publicURL: String?
    public var lifetime: Int
    public var signer: SigV4
    var http: HTTPClient
    /// The current time: presigned URLs and signatures are dated by it.
    public var now: @Sendable () -> Date = { Date() }

    public init(
        bucket: String, prefix: String, endpoint: String?, region: String, publicURL: String?, urlLifetime: Int,
        credentials: StoreCredentials, http: HTTPClient = S3Store.sharedHTTPClient
    ) {
        self.bucket = bucket
        prefixLabel = prefix
        self.endpoint = endpoint.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.publicURL = publicURL
        lifetime = urlLifetime
        signer = SigV4(credentials: credentials, region: region)
        self.http = http
    }

    /// Redirects are not followed: a store that answers a PUT with a 307 to another host would
    /// have it send the bytes (and a session token) there, and a HEAD redirected to any 200 would
    /// pass for an object that is not stored.
    public static let sharedHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    public var label: String { "s3://\(bucket)/" + (prefixLabel.isEmpty ? "" : prefixLabel + "/") }
    public var urlLifetime: Int? { publicURL == nil ? lifetime : nil }

    public func key(sha256: String, fileExtension: String) -> String {
        (prefixLabel.isEmpty ? "" : prefixLabel + "/") + sha256 + "." + fileExtension
    }

    /// The object's address: path-style under an endpoint; virtual-hosted on AWS. Nil when the
    /// endpoint or region makes no URL.
    public func objectURL(_ key: String) -> URL? {
        let encodedKey = SigV4.encode(key, keepSlash: true)
        let region = SigV4.encode(signer.region)
        if let endpoint { return URL(string: "\(endpoint)/\(bucket)/\(encodedKey)") }
        if bucket.contains(".") { return URL(string: "https://s3.\(region).amazonaws.com/\(bucket)/\(encodedKey)") }
        return URL(string: "https://\(bucket).s3.\(region).amazonaws.com/\(encodedKey)")
    }

    private func address(_ key: String) throws(StoreError) -> URL {
        guard let url = objectURL(key) else { throw .unreachable("no URL can be made of the endpoint and region") }
        return url
    }

    public func url(for key: String) -> String {
        if let publicURL { return publicURL + SigV4.encode(key, keepSlash: true) }
        guard let url = objectURL(key) else { return "" }
        return signer.presignedURL(url: url, expires: lifetime, date: now()).absoluteString
    }

    /// HEAD: 200 with the right length is stored. A 404 is absent; so is a 403, which AWS answers
    /// for a missing key when the policy does not grant `s3:ListBucket` — the PUT that follows is
    /// harmless (the key is the content's hash) and says whether the credentials are refused.
    public func exists(_ key: String, bytes: Int64) async throws(StoreError) -> Bool {
        let url = try address(key)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .HEAD
        for (name, value) in signer.signedHeaders(
            method: "HEAD", url: url, payloadHash: SigV4.emptyPayloadHash, date: now())
        {
            request.headers.add(name: name, value: value)
        }
        let response = try await execute(request)
        switch response.status.code {
        case 200: return response.headers.first(name: "Content-Length").flatMap { Int64($0) } == bytes
        case 403, 404: return false
        default: throw .refused(status: Int(response.status.code), code: nil)
        }
    }

    /// The body is streamed from the file a megabyte at a time, so memory stays flat for any size;
    /// the signed payload hash is the content's, so S3 refuses bytes that are not those hashed.
    public func put(_ key: String, file: FileHandle, bytes: Int64, sha256: String, contentType: String)
        async throws(StoreError)
    {
        let url = try address(key)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .PUT
        let headers = ["content-type": contentType, "content-length": String(bytes)]
        for (name, value) in signer.signedHeaders(
            method: "PUT", url: url, headers: headers, payloadHash: sha256, date: now())
        {
            request.headers.add(name: name, value: value)
        }
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .stream(FileChunks(handle: file, bytes: bytes, sha256: sha256), length: .known(bytes))
        let response = try await execute(request)
        guard response.status.code == 200 else {
            let body = (try? await response.body.collect(upTo: 64 * 1024)).map { Data(buffer: $0) } ?? Data()
            throw .refused(status: Int(response.status.code), code: Self.errorCode(body))
        }
    }

    private func execute(_ request: HTTPClientRequest) async throws(StoreError) -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: .seconds(120))
        } catch is StoreError.Changed {
            throw .changedDuringUpload
        } catch {
            // The host and the network's words; no header (no signature) is in an HTTP client error.
            let host = URL(string: request.url).map { "\($0.host ?? "?")\($0.port.map { ":\($0)" } ?? "")" } ?? "?"
            throw .unreachable("\(host): \(String(describing: error).prefix(160))")
        }
    }

    /// `<Code>SignatureDoesNotMatch</Code>` from an S3 error body: letters only, at most 64.
    static func errorCode(_ body: Data) -> String? {
        let text = String(decoding: body.prefix(16 * 1024), as: UTF8.self)
        guard let start = text.range(of: "<Code>"),
            let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex)
        else { return nil }
        let code = text[start.upperBound..<end.lowerBound]
        guard !code.isEmpty, code.count <= 64, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return nil
        }
        return String(code)
    }
}

/// Credentials the way every AWS tool takes them: the environment, else a profile of the shared
/// credentials file (`AWS_PROFILE`, default `default`; `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`).
public enum CredentialChain {
    public static func resolve(_ environment: [String: String]) -> StoreCredentials? {
        if let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"],
            !secret.isEmpty
        {
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return StoreCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
        }
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let file =
            environment["AWS_SHARED_CREDENTIALS_FILE"]
            ?? (environment["HOME"].map { $0 + "/.aws/credentials" } ?? "")
        guard let handle = FileHandle(forReadingAtPath: file), let data = try? handle.read(upToCount: 1 << 20) else {
            return nil
        }
        try? handle.close()
        return profileCredentials(String(decoding: data, as: UTF8.self), profile: profile)
    }

    /// The `[profile]` section's keys of an INI-style credentials file.
    static func profileCredentials(_ text: String, profile: String) -> StoreCredentials? {
        var section = ""
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard section == profile, let eq = line.firstIndex(of: "=") else { continue }
            values[line[..<eq].trimmingCharacters(in: .whitespaces)] =
                line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
        return StoreCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }
}

/// A file's bytes as a sequence of chunks, read as the upload asks for them (never ahead), and
/// hashed as they go: when the bytes are not the `bytes` bytes of SHA-256 `sha256` that were
/// signed, the last chunk is never handed over and the upload fails (`StoreError.Changed`).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let handle: FileHandle
    let bytes: Int64
    let sha256: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        let bytes: Int64
        let sha256: String
        var hasher = SHA256()
        var read: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard read < bytes else { return nil }
            let data = try handle.read(upToCount: Int(Swift.min(bytes - read, 1 << 20))) ?? Data()
            guard !data.isEmpty else { throw StoreError.Changed() }  // shorter than it was
            hasher.update(data: data)
            read += Int64(data.count)
            if read == bytes {
                let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                // Longer than it was, or other bytes: the old signature must not carry them.
                let more = try handle.read(upToCount: 1) ?? Data()
                guard digest == sha256, more.isEmpty else { throw StoreError.Changed() }
            }
            return ByteBuffer(data: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle, bytes: bytes, sha256: sha256) }
}
