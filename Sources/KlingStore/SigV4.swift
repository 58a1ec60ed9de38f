import Crypto
import Foundation
import KlingRenderCore

/// Credentials for an S3-compatible store. Never printed: `description` hides them.
public struct StoreCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "StoreCredentials(<redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// AWS Signature Version 4, for S3: signed headers, and presigned query strings.
///
/// S3's flavour: the path is URI-encoded once and not normalized (other AWS services encode twice).
public struct SigV4: Sendable {
    public var credentials: StoreCredentials
    public var region: String
    public var service: String

    public init(credentials: StoreCredentials, region: String, service: String = "s3") {
        for secret in [credentials.accessKeyID, credentials.secretAccessKey, credentials.sessionToken] {
            Secrets.shared.register(secret)
        }
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The SHA-256 of an empty body, and the marker of a body that is not signed.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers to add to a request (`Authorization`, `x-amz-date`, `x-amz-content-sha256`,
    /// and `x-amz-security-token` with a session token). `headers` are the request's own headers
    /// to sign besides `host`.
    public func signedHeaders(
        method: String, url: URL, headers: [String: String] = [:], payloadHash: String, date: Date,
        contentHashHeader: Bool = true
    ) -> [(String, String)] {
        let stamp = Stamp(date)
        var all: [String: String] = [:]
        for (name, value) in headers { all[name.lowercased()] = value }
        all["host"] = Self.hostHeader(url)
        all["x-amz-date"] = stamp.time
        if contentHashHeader { all["x-amz-content-sha256"] = payloadHash }
        if let token = credentials.sessionToken { all["x-amz-security-token"] = token }
        let names = all.keys.sorted()
        let canonical = canonicalRequest(
            method: method, url: url, query: Self.queryItems(url), headers: all, signed: names, payloadHash: payloadHash
        )
        let signature = sign(canonical, stamp: stamp)
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(stamp)), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
        var out: [(String, String)] = [("Authorization", authorization), ("x-amz-date", stamp.time)]
        if contentHashHeader { out.append(("x-amz-content-sha256", payloadHash)) }
        if let token = credentials.sessionToken { out.append(("x-amz-security-token", token)) }
        return out
    }

    /// A URL that grants `method` on `url` for `expires` seconds from `date`, signing `host` only.
    public func presignedURL(method: String = "GET", url: URL, expires: Int, date: Date) -> URL {
        let stamp = Stamp(date)
        var query = Self.queryItems(url)
        query.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        query.append(("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(stamp))"))
        query.append(("X-Amz-Date", stamp.time))
        query.append(("X-Amz-Expires", String(expires)))
        query.append(("X-Amz-SignedHeaders", "host"))
        var signed = query
        if let token = credentials.sessionToken { signed.append(("X-Amz-Security-Token", token)) }
        let canonical = canonicalRequest(
            method: method, url: url, query: signed, headers: ["host": Self.hostHeader(url)], signed: ["host"],
            payloadHash: Self.unsignedPayload)
        let signature = sign(canonical, stamp: stamp)
        // What this URL grants must never be shown or kept, whether a server echoes it with its
        // name or without.
        Secrets.shared.register(signature)
        Secrets.shared.register("\(credentials.accessKeyID)/\(scope(stamp))")
        var text = url.absoluteString
        if let q = text.firstIndex(of: "?") { text = String(text[..<q]) }
        // Written as AWS's tools write it: the token, then the signature, last.
        var written = Self.canonicalQuery(query)
        if let token = credentials.sessionToken { written += "&X-Amz-Security-Token=" + Self.encode(token) }
        return URL(string: text + "?" + written + "&X-Amz-Signature=" + signature)!
    }

    // MARK: - the algorithm

    struct Stamp {
        var day: String
        var time: String

        init(_ date: Date) {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            time = formatter.string(from: date)
            day = String(time.prefix(8))
        }
    }

    func scope(_ stamp: Stamp) -> String { "\(stamp.day)/\(region)/\(service)/aws4_request" }

    func canonicalRequest(
        method: String, url: URL, query: [(String, String)], headers: [String: String], signed: [String],
        payloadHash: String
    ) -> String {
        let path = url.path(percentEncoded: true)
        let canonicalPath = Self.encodePath(path.isEmpty ? "/" : path)
        let headerLines = signed.map { "\($0):\(Self.trim(headers[$0] ?? ""))\n" }.joined()
        return [
            method, canonicalPath, Self.canonicalQuery(query), headerLines, signed.joined(separator: ";"), payloadHash,
        ].joined(separator: "\n")
    }

    func sign(_ canonicalRequest: String, stamp: Stamp) -> String {
        let hashed = Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))
        let toSign = ["AWS4-HMAC-SHA256", stamp.time, scope(stamp), hashed].joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [stamp.day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key))
    }

    // MARK: - encoding

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// RFC 3986 unreserved characters stay; every other byte is `%XX`.
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// The path as sent, decoded and encoded again the one canonical way.
    static func encodePath(_ path: String) -> String {
        encode(path.removingPercentEncoding ?? path, keepSlash: true)
    }

    static func queryItems(_ url: URL) -> [(String, String)] {
        guard let query = url.query(percentEncoded: true), !query.isEmpty else { return [] }
        return query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            return (name, value)
        }
    }

    static func canonicalQuery(_ items: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = items.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    static func hostHeader(_ url: URL) -> String {
        let host = url.host ?? ""
        guard let port = url.port else { return host }
        let scheme = url.scheme?.lowercased()
        if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) { return host }
        return "\(host):\(port)"
    }

    /// Header values: outer spaces trimmed, inner runs of spaces made one.
    static func trim(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
