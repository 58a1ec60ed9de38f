import Foundation

/// `state: postgres://HOST:PORT/DATABASE?schema=NAME`: where a team keeps one shared manifest.
///
/// The address as written, in libpq's URI form. Credentials are not part of what the project
/// file may say: a password there would be committed, so it is refused where it is written; one
/// given by `--state` or `KLING_STATE` is used and never printed (`label` leaves it out).
package struct StateURL: Sendable, Equatable {
    package var user: String?
    package var password: String?
    /// A host name or address; nil for the default (`PGHOST`, else localhost).
    package var host: String?
    /// A folder holding the server's Unix socket (`?host=/run/postgresql`).
    package var socketFolder: String?
    package var port: Int?
    package var database: String?
    /// The schema holding kling-render's tables: a plain lowercase identifier.
    package var schema: String
    package var sslMode: SSLMode?
    /// Seconds to wait for a connection.
    package var connectTimeout: Int?

    package static let defaultSchema = "kling"
    package static let parameters = ["schema", "sslmode", "connect_timeout", "host", "port", "dbname", "user"]

    /// libpq's `sslmode`, as far as a client without client certificates goes.
    package enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// Why `text` is not a state address, or the address.
    package static func parse(_ text: String) -> Result<StateURL, StateURLProblem> {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            return .failure(.notPostgres)
        }
        guard let components = URLComponents(string: text) else { return .failure(.malformed) }
        var url = StateURL(schema: defaultSchema)
        url.user = components.user.map(decoded).flatMap { $0.isEmpty ? nil : $0 }
        url.password = components.password.map(decoded)
        if let host = components.host.map(decoded), !host.isEmpty {
            url.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        }
        url.port = components.port
        let path = decoded(components.percentEncodedPath)
        if path.count > 1 { url.database = String(path.dropFirst()) }
        if path.dropFirst().contains("/") { return .failure(.malformed) }
        for item in components.queryItems ?? [] {
            if let problem = url.take(item.name, item.value ?? "") { return .failure(problem) }
        }
        if let port = url.port, !(1...65_535).contains(port) { return .failure(.badValue("port", "1 to 65535")) }
        return .success(url)
    }

    private mutating func take(_ name: String, _ value: String) -> StateURLProblem? {
        switch name {
        case "schema":
            guard Self.isIdentifier(value) else {
                return .badValue("schema", "a lowercase name of letters, digits and `_`, such as `kling`")
            }
            schema = value
        case "sslmode":
            guard let mode = SSLMode(rawValue: value) else {
                return .badValue("sslmode", SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            sslMode = mode
        case "connect_timeout":
            guard let seconds = Int(value), (1...3_600).contains(seconds) else {
                return .badValue("connect_timeout", "seconds from 1 to 3600")
            }
            connectTimeout = seconds
        case "host":
            if value.hasPrefix("/") { socketFolder = value } else if !value.isEmpty { host = value }
        case "port":
            guard let number = Int(value) else { return .badValue("port", "1 to 65535") }
            port = number
        case "dbname": database = value
        case "user": user = value
        case "password": password = value
        default: return .unknownParameter(name)
        }
        return nil
    }

    /// The address for messages: scheme, host, port, database and schema; never a user or password.
    package var label: String {
        let where_ = socketFolder.map { "?host=\($0)&" } ?? "?"
        let hostText = host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? ""
        return "postgres://\(hostText)\(port.map { ":\($0)" } ?? "")/\(database ?? "")\(where_)schema=\(schema)"
    }

    /// `[a-z_][a-z0-9_]*`, at most 63 bytes: safe to write inside double quotes in SQL.
    package static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.utf8.count <= 63 else { return false }
        let lower: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || $0 == "_" }
        return lower(first) && text.unicodeScalars.allSatisfy { lower($0) || ("0"..."9").contains($0) }
    }

    private static func decoded(_ text: String) -> String { text.removingPercentEncoding ?? text }
}

package enum StateURLProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case notPostgres
    case malformed
    case unknownParameter(String)
    case badValue(String, String)

    package var description: String {
        switch self {
        case .notPostgres: "a shared state is `postgres://HOST:PORT/DATABASE?schema=NAME`"
        case .malformed: "not a PostgreSQL address of the form `postgres://HOST:PORT/DATABASE?schema=NAME`"
        case .unknownParameter(let name):
            "unknown parameter `\(Printable.short(name, limit: 40))`; known are \(StateURL.parameters.joined(separator: ", "))"
        case .badValue(let name, let expected): "`\(name)` takes \(expected)"
        }
    }
}
