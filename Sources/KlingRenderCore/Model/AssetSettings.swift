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

    /// An AWS region name (`us-east-1`, `eu-west-3`): lowercase letters, digits and `-`, as SigV4
    /// signs it. The one check, for `assets.region` and `AWS_REGION` alike.
    package static func isRegion(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64
            && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
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

/// A span of time, written the one way kling-render takes it everywhere — `outputs_lifetime`,
/// `url_lifetime`, `--timeout`, `--lock-timeout`, a transition's length: a number of seconds
/// (`90`, `1.5`), or a number and a unit (`90s`, `2m`, `1.5h`, `7d`). Decimal digits with at most
/// one point: `inf`, `nan`, `0x10`, `1e300` and `-5s` are not times.
package enum TimeSpan {
    /// The longest `--timeout` and `--lock-timeout`: 30 days.
    package static let maxWait = 30 * 86_400.0

    /// Seconds above 0 and at most `limit`, else nil.
    package static func seconds(_ text: String, atMost limit: Double = 1e12) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var number = Substring(text)
        var unit = 1.0
        if let last = number.last, let u = units[last] {
            number = number.dropLast()
            unit = u
        }
        guard !number.isEmpty, number.count <= 15, number.filter({ $0 == "." }).count <= 1,
            number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let n = Double(number)
        else { return nil }
        let seconds = n * unit
        return seconds > 0 && seconds <= limit ? seconds : nil
    }

    /// A span in whole seconds (a lifetime), else nil.
    package static func wholeSeconds(_ text: String) -> Int? {
        guard let seconds = seconds(text, atMost: 1e12), seconds == seconds.rounded() else { return nil }
        return Int(seconds)
    }
}
