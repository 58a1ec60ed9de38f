import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A state address made whole as libpq would: what the URL leaves out comes from `PGHOST`,
/// `PGPORT`, `PGDATABASE`, `PGUSER`, `PGSSLMODE` and `PGCONNECT_TIMEOUT`; the password from the
/// URL, else `PGPASSWORD`, else the password file (`PGPASSFILE`, else `~/.pgpass`), which is
/// ignored when others may read it.
package struct PostgresTarget: Sendable {
    package var host: String
    package var socketPath: String?
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String
    package var schema: String
    package var sslMode: StateURL.SSLMode
    package var connectTimeout: Int
    /// Something the user should know (a password file others can read), never a secret.
    package var warnings: [String] = []
    /// Why it cannot be used as written (libpq refuses it too), never a secret.
    package var problem: String?
    /// For messages: `label` of the address, never a user or password.
    package var label: String

    package init(_ url: StateURL, environment: [String: String], home: String?) {
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        label = url.label
        schema = url.schema
        let port = url.port ?? env("PGPORT").flatMap(Int.init).flatMap { (1...65_535).contains($0) ? $0 : nil } ?? 5432
        self.port = port
        var socketFolder = url.socketFolder
        var host = url.host
        if host == nil, socketFolder == nil, let pgHost = env("PGHOST") {
            if pgHost.hasPrefix("/") { socketFolder = pgHost } else { host = pgHost }
        }
        self.host = host ?? "localhost"
        socketPath = socketFolder.map { "\($0)/.s.PGSQL.\(port)" }
        let user = url.user ?? env("PGUSER") ?? Self.systemUser() ?? "postgres"
        self.user = user
        database = url.database ?? env("PGDATABASE") ?? user
        sslMode = url.sslMode ?? env("PGSSLMODE").flatMap(StateURL.SSLMode.init(rawValue:)) ?? .prefer
        if url.sslMode == nil, let mode = env("PGSSLMODE"), StateURL.SSLMode(rawValue: mode) == nil {
            let modes = StateURL.SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
            problem = "PGSSLMODE `\(Printable.short(mode, limit: 40))` is not one of \(modes)"
        }
        connectTimeout = url.connectTimeout ?? env("PGCONNECT_TIMEOUT").flatMap(Int.init) ?? 10
        password = url.password ?? env("PGPASSWORD")
        if password == nil {
            let file = env("PGPASSFILE") ?? home.map { "\($0)/.pgpass" }
            if let file { password = readPasswordFile(file) }
        }
    }

    private mutating func readPasswordFile(_ file: String) -> String? {
        var info = stat()
        guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        if info.st_mode & 0o077 != 0 {
            warnings.append(
                "the password file \(file) can be read by others, so it is ignored (as libpq does): chmod 600 it")
            return nil
        }
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        // libpq matches `localhost` for a Unix socket.
        let hostName = socketPath == nil ? host : "localhost"
        return PasswordFile.password(
            in: String(decoding: data, as: UTF8.self), host: hostName, port: port, database: database, user: user)
    }

    private static func systemUser() -> String? {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}

/// libpq's password file: `host:port:database:user:password` a line, `*` matching anything,
/// `\:` and `\\` escaped, `#` starting a comment; the first line that matches wins.
package enum PasswordFile {
    package static func password(in text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = split(line)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0.0 == "*" || $0.0 == $0.1 }) { return fields[4] }
        }
        return nil
    }

    /// Fields split on unescaped `:`; the last field keeps whatever follows the fourth `:`.
    private static func split(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
