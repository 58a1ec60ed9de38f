import Foundation

/// Every secret the run knows, so that none reaches a screen, a log, a JSON event, a manifest, a
/// review page or a database row: the API key, the store's access key id, secret and session
/// token, every signature and credential this run issued, the database password.
///
/// Redaction is by value, not by pattern: a server that echoes a signature without its
/// `X-Amz-Signature=` name, or a password inside its own error, is caught all the same. Each
/// secret is matched as written, percent-encoded (any case of hex), JSON-escaped and
/// HTML-escaped, and replaced by `[redacted]`, which is safe in all of those. What the tool shows
/// passes `redact` on its way out (the CLI's writes, the review page); what it keeps (the
/// manifest, the database's rows) passes it value by value, on the one field that holds a
/// server's words (`error`), so that no hash, number or address there can ever be touched.
package final class Secrets: @unchecked Sendable {
    /// The process's registry: secrets are registered where they are read or issued.
    package static let shared = Secrets()

    /// Shorter values would match ordinary words of the output ("kling" in `kling-render`): they
    /// are not registered, and such a password is never matched.
    package static let minimumLength = 8
    package static let replacement = "[redacted]"

    /// One spelling, as the search needs it: its bytes, lowercased when it is matched in any case.
    private struct Spelling {
        var text: String
        var bytes: [UInt8]
        /// A percent-encoded spelling is matched in any case: `%2f` and `%2F` are one byte.
        var anyCase: Bool
    }

    private let lock = NSLock()
    private var known: Set<String> = []
    /// Every spelling of every secret, longest first (so a secret inside a longer one goes with it).
    private var spellings: [Spelling] = []

    package init() {}

    /// Adds a secret; a value shorter than `minimumLength` is ignored.
    package func register(_ secret: String?) {
        guard let secret, secret.count >= Self.minimumLength else { return }
        lock.withLock {
            guard known.insert(secret).inserted else { return }
            let have = Set(spellings.map(\.text))
            let added = Self.spellings(of: secret).subtracting(have).map { text in
                let anyCase = text.contains("%")
                return Spelling(text: text, bytes: Array((anyCase ? Self.lowered(text) : text).utf8), anyCase: anyCase)
            }
            spellings = (spellings + added).sorted { $0.bytes.count > $1.bytes.count }
        }
    }

    /// Whether any secret is spelled out in `text`.
    package func holdsSecret(_ text: String) -> Bool {
        !found(in: text).isEmpty
    }

    /// `text` with every spelling of every secret replaced. Each spelling is searched for as
    /// bytes first: a write with no secret in it, the common case, costs little however many
    /// signatures the run issued.
    package func redact(_ text: String) -> String {
        let hits = found(in: text)
        guard !hits.isEmpty else { return text }
        var text = text
        for spelling in hits {
            let options: String.CompareOptions = spelling.anyCase ? [.caseInsensitive] : []
            text = text.replacingOccurrences(of: spelling.text, with: Self.replacement, options: options)
        }
        return text
    }

    /// The spellings found in `text`, longest first.
    private func found(in text: String) -> [Spelling] {
        let current = lock.withLock { spellings }
        guard !current.isEmpty else { return [] }
        let bytes = Array(text.utf8)
        var lowered: [UInt8]?
        var hits: [Spelling] = []
        for spelling in current where spelling.bytes.count <= bytes.count {
            if spelling.anyCase, lowered == nil { lowered = bytes.map(Self.lowered) }
            let haystack = spelling.anyCase ? lowered ?? bytes : bytes
            if Self.contains(haystack, spelling.bytes) { hits.append(spelling) }
        }
        return hits
    }

    /// Whether `needle` occurs in `hay`, byte for byte.
    private static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= hay.count else { return needle.isEmpty }
        return hay.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                var i = 0
                let last = h.count - n.count
                while i <= last {
                    if h[i] == first {
                        var j = 1
                        while j < n.count, h[i + j] == n[j] { j += 1 }
                        if j == n.count { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }

    private static func lowered(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
    private static func lowered(_ text: String) -> String { String(decoding: text.utf8.map(lowered), as: UTF8.self) }

    /// Bytes of UTF-8 text, redacted (everything the tool writes is UTF-8; other bytes are left).
    package func redact(_ data: Data) -> Data {
        guard !lock.withLock({ spellings.isEmpty }), let text = String(data: data, encoding: .utf8) else { return data }
        let redacted = redact(text)
        return redacted == text ? data : Data(redacted.utf8)
    }

    /// As written, percent-encoded (strict, and as a query, a password or a path keeps it),
    /// JSON-escaped (with `/` as `\/` or not) and HTML-escaped.
    static func spellings(of secret: String) -> Set<String> {
        var result: Set<String> = [secret]
        for allowed in [CharacterSet.alphanumerics, .urlQueryAllowed, .urlPasswordAllowed, .urlPathAllowed] {
            guard let encoded = secret.addingPercentEncoding(withAllowedCharacters: allowed) else { continue }
            result.insert(encoded)
        }
        let json = jsonEscaped(secret)
        result.insert(json)
        result.insert(json.replacingOccurrences(of: "/", with: "\\/"))
        result.insert(Markup.escape(secret))
        return result.filter { $0.count >= minimumLength }
    }

    private static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
