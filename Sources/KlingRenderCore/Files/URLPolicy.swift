import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which video URLs the tool fetches. A URL comes from the API or from a committed manifest, and
/// a fetch is a request from the user's machine: it must not reach the user's own network.
/// Only `http`/`https` URLs with a host and no user or password are taken; a host that is a
/// loopback, private, link-local or unspecified address (`127.0.0.1`, `10.x`, `169.254.169.254`,
/// `[::1]`, `localhost`, in any spelling) is taken only when the API itself is on such a host (the
/// simulator, a gateway on loopback). `problem` judges the URL as written; `connectionProblem`
/// also judges the addresses its name resolves to, where the connection is made.
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

    /// A loopback, private, link-local, unspecified, multicast or reserved address, or
    /// `localhost`: in every spelling the system's resolver takes — short (`127.1`), decimal
    /// (`2130706433`), hex (`0x7f.1`), octal (`0177.0.0.1`), IPv4-mapped or -compatible IPv6
    /// (`[::ffff:7f00:1]`), NAT64 (`64:ff9b::7f00:1`).
    package static func isLocal(_ rawHost: String) -> Bool {
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let bare = host.hasSuffix(".") ? String(host.dropLast()) : host
        if bare == "localhost" || bare.hasSuffix(".localhost") { return true }
        guard let address = IPAddress(bare) else { return false }
        return address.isLocal
    }

    /// What may be connected to for a URL: refused with the reason, or admitted — with, for a
    /// name, the one address that was judged, which the connection must use (so that a second
    /// lookup cannot answer otherwise).
    package enum Admission: Sendable {
        case refused(String)
        case admitted(pin: (host: String, address: String)?)
    }

    /// Why a connection to `text` must not be made, judged on the addresses its host resolves to
    /// now, or nil. Run before every connection and at every redirect hop: a name that resolves
    /// to a private address is refused as its number would be, and so is a name that does not
    /// resolve. When the API itself is on a local address (the simulator, a gateway on
    /// loopback), its own host is allowed: the same address, or any loopback address when it is
    /// on loopback.
    package static func connectionProblem(_ text: String, endpoint: String) async -> String? {
        if case .refused(let problem) = await admission(text, endpoint: endpoint) { return problem }
        return nil
    }

    /// `connectionProblem`, with the address to connect to when the host is a name.
    package static func admission(_ text: String, endpoint: String) async -> Admission {
        if let problem = problem(text, endpoint: endpoint) { return .refused(problem) }
        guard let host = URLComponents(string: text)?.host else { return .refused("is not an http(s) URL") }
        let addresses = await resolve(host)
        guard let first = addresses.first else {
            return .refused("names a host that does not resolve (\(Printable.short(host, limit: 60)))")
        }
        // The API's own addresses are looked up only when they can matter.
        let allowed = addresses.contains(where: \.isLocal) ? await ownAddresses(endpoint) : []
        for address in addresses where address.isLocal && !allowed.contains(where: { $0.admits(address) }) {
            return .refused(
                "points into a local or private network (\(Printable.short(host, limit: 60)) is \(address))")
        }
        let literal = IPAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) != nil
        return .admitted(pin: literal ? nil : (host, first.description))
    }

    /// The local addresses the API itself is on: none when it is on a public one.
    private static func ownAddresses(_ endpoint: String) async -> [IPAddress] {
        if endpoint == "simulator" { return [IPAddress("127.0.0.1")!, IPAddress("::1")!] }
        guard let host = URLComponents(string: endpoint)?.host else { return [] }
        return await resolve(host).filter(\.isLocal)
    }

    /// Every address a host resolves to (a literal address is itself); none when it does not.
    package static func resolve(_ rawHost: String) async -> [IPAddress] {
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if let literal = IPAddress(host) { return [literal] }
        if host.lowercased() == "localhost" || host.lowercased().hasSuffix(".localhost") {
            return [IPAddress("127.0.0.1")!, IPAddress("::1")!]
        }
        return await Task.detached { () -> [IPAddress] in
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
            defer { freeaddrinfo(list) }
            var found: [IPAddress] = []
            var next = list
            while let entry = next {
                if let address = IPAddress(entry.pointee.ai_addr) { found.append(address) }
                next = entry.pointee.ai_next
            }
            return found
        }.value
    }
}

/// An IPv4 or IPv6 address, parsed as the system's resolver parses it.
package struct IPAddress: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes.
    package var bytes: [UInt8]

    /// A literal address in any spelling `inet_aton` (IPv4) or `inet_pton` (IPv6) takes.
    package init?(_ text: String) {
        let text = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        if text.contains(":") {
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            var v4 = in_addr()
            guard inet_aton(text, &v4) != 0 else { return nil }
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        }
    }

    init?(_ socket: UnsafeMutablePointer<sockaddr>?) {
        guard let socket else { return nil }
        switch Int32(socket.pointee.sa_family) {
        case AF_INET:
            bytes = socket.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            bytes = socket.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
    }

    /// The IPv4 address an IPv6 one carries (mapped `::ffff:a.b.c.d`, SIIT `::ffff:0:a.b.c.d`,
    /// compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`); nil when it
    /// carries none.
    package var embeddedIPv4: [UInt8]? {
        guard bytes.count == 16 else { return nil }
        let prefix = Array(bytes[0..<12])
        if prefix == [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] { return Array(bytes[12...]) }
        if prefix == [UInt8](repeating: 0, count: 8) + [0xFF, 0xFF, 0, 0] { return Array(bytes[12...]) }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return Array(bytes[2..<6]) }
        // `::a.b.c.d` (not `::1` nor `::`, whose first IPv4 byte would be 0).
        if prefix == [UInt8](repeating: 0, count: 12), bytes[12] != 0 { return Array(bytes[12...]) }
        if prefix == [0, 0x64, 0xFF, 0x9B] + [UInt8](repeating: 0, count: 8) { return Array(bytes[12...]) }
        return nil
    }

    package var isLoopback: Bool {
        if let v4 = bytes.count == 4 ? bytes : embeddedIPv4 { return v4[0] == 127 }
        return bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// Not a public unicast address: loopback, private, shared (CGNAT), link-local, unspecified,
    /// multicast, reserved; IPv6 unique-local, site-local and link-local.
    package var isLocal: Bool {
        if let v4 = bytes.count == 4 ? bytes : embeddedIPv4 {
            switch (v4[0], v4[1]) {
            case (0, _), (10, _), (127, _), (169, 254), (192, 168), (172, 16...31), (100, 64...127): return true
            case (192, 0) where v4[2] == 0: return true
            case (198, 18...19): return true
            case (224...255, _): return true
            default: return false
            }
        }
        if bytes.allSatisfy({ $0 == 0 }) || isLoopback { return true }
        // Teredo (`2001:0::/32`) and local-use NAT64 (`64:ff9b:1::/48`) reach IPv4 by a
        // translator of the network it runs in: not fetched.
        if bytes[0..<4] == [0x20, 0x01, 0, 0] || bytes[0..<6] == [0, 0x64, 0xFF, 0x9B, 0, 1] { return true }
        return bytes[0] == 0xFF || bytes[0] & 0xFE == 0xFC || (bytes[0] == 0xFE && bytes[1] & 0xC0 != 0)
    }

    /// Whether a connection to `other` is to this (local) host: the same address, or both loopback.
    func admits(_ other: IPAddress) -> Bool {
        (isLoopback && other.isLoopback) || comparable == other.comparable
    }

    /// IPv4 as itself, whether written as IPv4 or inside IPv6.
    private var comparable: [UInt8] { bytes.count == 4 ? bytes : embeddedIPv4 ?? bytes }

    package var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var copy = in6_addr()
        withUnsafeMutableBytes(of: &copy) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &copy, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(cString: buffer)
    }
}
