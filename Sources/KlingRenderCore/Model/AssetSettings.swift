/// The `assets:` block: where local inputs, frames and durable outputs are hosted.
package struct AssetSettings: Sendable, Equatable, Codable {
    /// `s3://BUCKET/PREFIX/`
    package var bucket: String
    /// Without leading or trailing `/`; "" for the bucket's root.
    package var prefix: String
    /// A non-AWS endpoint (path-style addressing); nil for AWS.
    package var endpoint: String?
    package var region: String?
    /// Objects are public under this base; otherwise presigned GET URLs.
    package var publicURL: String?
    /// Seconds a presigned URL is valid: at most 7 days, as SigV4 allows.
    package var urlLifetime: Int
    /// Downloaded renders are put in the store too (`keep_outputs: true`): a teammate whose video
    /// URL has expired fetches the file from there instead of rendering it again.
    package var keepOutputs = false

    package static let defaultURLLifetime = 7 * 86_400
    package static let maxURLLifetime = 7 * 86_400

    package init(
        bucket: String, prefix: String, endpoint: String? = nil, region: String? = nil, publicURL: String? = nil,
        urlLifetime: Int = AssetSettings.defaultURLLifetime
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        self.region = region
        self.publicURL = publicURL
        self.urlLifetime = urlLifetime
    }

    /// `s3://bucket/prefix/`, as the manifest names the store.
    package var label: String { "s3://\(bucket)/" + (prefix.isEmpty ? "" : prefix + "/") }

    /// The object key of a content: `PREFIX/SHA256.EXT`.
    package func key(sha256: String, extension ext: String) -> String {
        (prefix.isEmpty ? "" : prefix + "/") + sha256 + "." + ext
    }

    /// Parses `s3://bucket/prefix/`; nil when it is not one.
    package static func parseStore(_ text: String) -> (bucket: String, prefix: String)? {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        guard (3...63).contains(bucket.count),
            bucket.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "."
            })
        else { return nil }
        var prefix = parts.count > 1 ? String(parts[1]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if prefix.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) { return nil }
        return (bucket, prefix)
    }
}

/// `7d`, `24h`, `30m`, `90s`, or a number of seconds: a span of time written in a project file.
package enum TimeSpan {
    package static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text)
        var unit = 1
        if let last = digits.last, let u = units[last] {
            unit = u
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), digits.count <= 9,
            let n = Int(digits)
        else { return nil }
        return n * unit
    }
}
