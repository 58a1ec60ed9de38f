import Foundation

/// `assets:`, and spans of time: the store, its settings, the lifetimes.
extension ProjectBuilder {
    /// `7d`, `24h`, `30m`, `90s`: a span of time, more than zero.
    mutating func timeSpan(_ node: YAMLNode, field: String) -> Int? {
        guard case .scalar(let s) = node, !s.isNull, let seconds = TimeSpan.wholeSeconds(s.text) else {
            sink.error(
                node.location,
                "`\(field)` must be a span of time such as 7d, 24h, 30m or 90s, not \(Self.describe(node))")
            return nil
        }
        return seconds
    }

    mutating func readAssets(_ node: YAMLNode) -> AssetSettings? {
        guard case .mapping(let m) = node else {
            sink.error(
                node.location,
                "`assets` must be a mapping (store, endpoint, region, public_url, url_lifetime, keep_outputs)")
            return nil
        }
        for entry in m.entries where !Self.assetKeys.contains(entry.key.text) {
            sink.error(
                entry.key.location, "unknown field `\(entry.key.text)` in `assets`",
                note: Suggestion.note(for: entry.key.text, in: Self.assetKeys))
        }
        guard let storeNode = m["store"] else {
            sink.error(node.location, "`assets` needs `store: s3://BUCKET/PREFIX/`")
            return nil
        }
        guard let text = plainText(storeNode, field: "assets.store") else { return nil }
        guard let (bucket, prefix) = AssetSettings.parseStore(text) else {
            storeAddressProblem(text, at: storeNode.location)
            return nil
        }
        var settings = AssetSettings(bucket: bucket, prefix: prefix)
        if let n = m["endpoint"], let url = plainText(n, field: "assets.endpoint") {
            if storeURLProblem(url, field: "assets.endpoint", at: n.location) { settings.endpoint = url }
        }
        if let n = m["public_url"], let url = plainText(n, field: "assets.public_url") {
            if storeURLProblem(url, field: "assets.public_url", at: n.location) {
                settings.publicURL = url.hasSuffix("/") ? url : url + "/"
            }
        }
        if let n = m["region"], let region = plainText(n, field: "assets.region") {
            if !AssetSettings.isRegion(region) {
                sink.error(n.location, "`assets.region` must be a region name such as us-east-1")
            } else {
                settings.region = region
            }
        }
        if let n = m["keep_outputs"], let keep = boolean(n, field: "assets.keep_outputs") {
            settings.keepOutputs = keep
        }
        if let n = m["url_lifetime"], let seconds = timeSpan(n, field: "assets.url_lifetime") {
            if seconds > AssetSettings.maxURLLifetime {
                sink.error(n.location, "`assets.url_lifetime` is at most 7d: SigV4 presigned URLs last a week at most")
            } else {
                settings.urlLifetime = seconds
            }
        }
        return settings
    }

    /// Why `assets.store` is not an `s3://BUCKET/PREFIX/` address: the scheme, the bucket, or the prefix.
    mutating func storeAddressProblem(_ text: String, at location: SourceLocation) {
        let bucket = text.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false).first ?? ""
        if !text.hasPrefix("s3://") {
            sink.error(
                location, "`assets.store` must be `s3://BUCKET/PREFIX/`",
                note: "any S3-compatible store: set `endpoint:` for one that is not AWS")
        } else if AssetSettings.parseStore("s3://\(bucket)/") == nil {
            sink.error(
                location,
                "`assets.store` names the bucket `\(Printable.short(String(bucket), limit: 80))`, which is not a bucket name",
                note: "bucket names are 3–63 lowercase letters, digits, `-` and `.`")
        } else {
            sink.error(location, "`assets.store`'s prefix may not hold `.` or `..` segments")
        }
    }

    /// An http(s) URL with no user name or password in it (true), or an error (false).
    mutating func storeURLProblem(_ text: String, field: String, at location: SourceLocation) -> Bool {
        guard checkURL(text, field: field, at: location) else { return false }
        if let url = URLComponents(string: text), url.user != nil || url.password != nil {
            sink.error(
                location, "`\(field)` holds a user name or password",
                note: "credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or ~/.aws/credentials")
            return false
        }
        return true
    }
}
