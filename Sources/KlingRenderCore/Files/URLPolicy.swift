import Foundation

/// Which video URLs the tool fetches. A URL comes from the API or from a committed manifest, and
/// a fetch is a request from the user's machine: it must not reach the user's own network.
/// Only `http`/`https` URLs with a host and no user or password are taken; a host that is a
/// loopback, private, link-local or unspecified address (`127.0.0.1`, `10.x`, `169.254.169.254`,
/// `[::1]`, `localhost`) is taken only when the API itself is on such a host (the simulator, a
/// gateway on loopback). Names that resolve to such addresses are not looked up.
package enum URLPolicy {
    package static let maxURLLength = 8192
    /// No render has more videos than this.
    package static let maxURLsPerRender = 16

    /// Why `text` is not fetched, or nil when it is. `endpoint` is the API's base URL (or "simulator").
    package static func problem(_ text: String, endpoint: String) -> String? {
        guard text.utf8.count <= maxURLLength, !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }),
            let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { return "is not an http(s) URL" }
        if url.user != nil || url.password != nil { return "holds a user name or password" }
        if isLocal(host), !endpointIsLocal(endpoint) {
            return "points into a local or private network (\(Printable.short(host, limit: 60)))"
        }
        return nil
    }

    /// The host a URL names, for showing where a download comes from.
    package static func host(_ text: String) -> String? {
        URLComponents(string: text)?.host.map { Printable.short($0, limit: 80) }
    }

    static func endpointIsLocal(_ endpoint: String) -> Bool {
        endpoint == "simulator" || URLComponents(string: endpoint)?.host.map(isLocal) == true
    }

    /// A loopback, private, link-local or unspecified address, or `localhost`.
    static func isLocal(_ rawHost: String) -> Bool {
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        if host.contains(":") { return isLocalIPv6(host) }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, let octets = Optional(parts.compactMap { UInt8($0) }), octets.count == 4 else {
            return false
        }
        switch (octets[0], octets[1]) {
        case (0, _), (10, _), (127, _), (169, 254), (192, 168): return true
        case (172, 16...31), (100, 64...127): return true
        default: return false
        }
    }

    private static func isLocalIPv6(_ host: String) -> Bool {
        let address = host.split(separator: "%").first.map(String.init) ?? host
        if address == "::1" || address == "::" { return true }
        if address.hasPrefix("::ffff:") { return isLocal(String(address.dropFirst(7))) }
        guard let first = address.split(separator: ":").first, let value = UInt16(first, radix: 16) else {
            return false
        }
        return value & 0xFFC0 == 0xFE80 || value & 0xFE00 == 0xFC00
    }
}
