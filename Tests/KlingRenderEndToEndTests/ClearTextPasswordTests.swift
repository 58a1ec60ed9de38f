import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A server at the `state:` address that speaks just enough of PostgreSQL's startup to be
/// hostile: it refuses TLS, then asks for the password in clear text, or answers with an error
/// that spells out the password. It records whether a password message ever came.
final class FakePostgres: @unchecked Sendable {
    enum Behaviour {
        /// `AuthenticationCleartextPassword`, then waits for the password.
        case askClearText
        /// An `ErrorResponse` whose message holds this text.
        case error(String)
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var passwords: [String] = []
    private var connections = 0

    init(_ behaviour: Behaviour) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                lock.withLock { connections += 1 }
                Thread { self.serve(client, behaviour) }.start()
            }
        }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Password messages received: none, when the client kept it.
    var received: [String] { lock.withLock { passwords } }
    var connectionCount: Int { lock.withLock { connections } }

    private func serve(_ client: Int32, _ behaviour: Behaviour) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard var first = read(client, 8) else { return }
        if first == [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F] {
            // SSLRequest: no TLS here.
            _ = send(client, [UInt8(ascii: "N")])
            guard let next = read(client, 8) else { return }
            first = next
        }
        let length = Int(first[0]) << 24 | Int(first[1]) << 16 | Int(first[2]) << 8 | Int(first[3])
        guard length >= 8, length < 10_000, read(client, length - 8) != nil else { return }  // the startup message
        switch behaviour {
        case .askClearText:
            _ = send(client, [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 3])
            guard let head = read(client, 5), head[0] == UInt8(ascii: "p") else { return }
            let size = Int(head[1]) << 24 | Int(head[2]) << 16 | Int(head[3]) << 8 | Int(head[4])
            if let body = read(client, size - 4) {
                lock.withLock { passwords.append(String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)) }
            }
        case .error(let text):
            var fields: [UInt8] = []
            for (code, value) in [("S", "FATAL"), ("V", "FATAL"), ("C", "28P01"), ("M", text)] {
                fields += Array(code.utf8) + Array(value.utf8) + [0]
            }
            fields.append(0)
            let size = UInt32(fields.count + 4)
            _ = send(client, [UInt8(ascii: "E")] + withUnsafeBytes(of: size.bigEndian) { Array($0) } + fields)
        }
    }

    private func read(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var have = 0
        while have < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + have, count - have, 0) }
            if n <= 0 { return nil }
            have += n
        }
        return buffer
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }
}

@Suite("The database password: never sent in clear, never echoed")
struct ClearTextPasswordTests {
    static let password = "pg-secret-7c1e4b9a"

    static func project(port: Int, sslmode: String?) -> String {
        let query = sslmode.map { "?sslmode=\($0)" } ?? ""
        return """
            version: 1
            state: postgres://kling@127.0.0.1:\(port)/films\(query)
            shots:
              a:
                type: std-text-to-video
                prompt: a

            """
    }

    @Test(
        "a server that asks for the password in clear text without TLS never gets it; the message names sslmode=require",
        arguments: [nil, "disable", "prefer"])
    func clearText(_ sslmode: String?) async throws {
        let server = try FakePostgres(.askClearText)
        defer { server.stop() }
        let scratch = try Scratch()
        try scratch.write("film.yaml", Self.project(port: server.port, sslmode: sslmode))
        let result = try await CLI.run(
            ["plan", "film.yaml"], in: scratch.url, environment: ["PGPASSWORD": Self.password])
        #expect(result.status != 0)
        #expect(result.stderr.contains("sslmode=require"), "\(result.stdout)\(result.stderr)")
        #expect(server.connectionCount >= 1, "the server was reached")
        #expect(server.received.isEmpty, "no password was sent: \(server.received)")
        #expect(!(result.stdout + result.stderr).contains(Self.password))
    }

    @Test(
        "a server whose error spells out the password: plan, status and apply never show it",
        arguments: ["plan", "status", "apply"])
    func echoedPassword(_ command: String) async throws {
        let server = try FakePostgres(.error("password \"\(Self.password)\" is not the one for kling"))
        defer { server.stop() }
        let scratch = try Scratch()
        try scratch.write("film.yaml", Self.project(port: server.port, sslmode: "disable"))
        let result = try await CLI.run(
            [command, "film.yaml"] + (command == "apply" ? ["--yes", "--endpoint", "http://127.0.0.1:1"] : []),
            in: scratch.url, environment: ["PGPASSWORD": Self.password, "KLING_API_KEY": "k-unused"])
        #expect(result.status != 0)
        #expect(server.connectionCount >= 1)
        #expect(
            (result.stdout + result.stderr).contains("is not the one for kling"), "\(result.stdout)\(result.stderr)")
        #expect(!(result.stdout + result.stderr).contains(Self.password), "\(result.stdout)\(result.stderr)")
    }
}
