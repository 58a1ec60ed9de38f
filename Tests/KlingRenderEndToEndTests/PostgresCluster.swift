import Foundation
import KlingTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster for one test: Debian's server, `initdb` into a temporary
/// folder, listening on a free loopback port with a password (so PGPASSWORD is used), stopped and
/// removed afterwards. Run as root, the server runs as the `postgres` user, as it must.
final class PostgresCluster: @unchecked Sendable {
    let folder: URL
    /// Chosen when the cluster is made; another only when its first start fails.
    private(set) var port: Int
    let user = "kling"
    let password = "kling-test-\(UInt32.random(in: 0...UInt32.max))"
    private let bin: String

    /// The server's programs, or nil when PostgreSQL is not installed (`scripts/bootstrap-tests`).
    static let binFolder: String? = {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().reversed().map { "\(root)/\($0)/bin" }.first {
            FileManager.default.isExecutableFile(atPath: "\($0)/initdb")
        }
    }()

    /// A cluster made and started on a thread of its own: `initdb` takes a second, which the
    /// cooperative pool's two threads must not spend waiting.
    static func make() async throws -> PostgresCluster {
        try await offPool { try PostgresCluster() }
    }

    /// The suite's cluster, for the tests that leave it running: each works in a schema of its
    /// own, so one `initdb` serves them all. Made on first use; stopped and removed when the test
    /// process exits.
    static func shared() async throws -> PostgresCluster { try await Shared.one.cluster() }

    private actor Shared {
        static let one = Shared()
        private var made: PostgresCluster?

        func cluster() async throws -> PostgresCluster {
            if let made { return made }
            let cluster = try await PostgresCluster.make()
            made = cluster
            PostgresCluster.atExit = cluster
            atexit {
                try? PostgresCluster.atExit?.stop(immediate: true)
                if let folder = PostgresCluster.atExit?.folder { try? FileManager.default.removeItem(at: folder) }
            }
            return cluster
        }
    }

    /// What the exit handler stops (a C function cannot capture it).
    nonisolated(unsafe) private static var atExit: PostgresCluster?

    /// `start` off the cooperative pool.
    func restart() async throws {
        try await offPool { try self.start() }
    }

    private init() throws {
        guard let bin = Self.binFolder else {
            throw CocoaError(
                .featureUnsupported,
                userInfo: [NSLocalizedDescriptionKey: "PostgreSQL is not installed: run scripts/bootstrap-tests"])
        }
        self.bin = bin
        folder = URL(fileURLWithPath: "/tmp/kling-pg-\(UUID().uuidString)")
        port = try Self.freePort()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let passwordFile = folder.appendingPathComponent("pw")
        try password.write(to: passwordFile, atomically: true, encoding: .utf8)
        if geteuid() == 0 {
            try Self.run("/bin/chown", ["-R", "postgres", folder.path])
        }
        try server(
            "initdb",
            [
                "-D", folder.appendingPathComponent("data").path, "-U", user, "--auth=scram-sha-256",
                "--pwfile=\(passwordFile.path)", "-E", "UTF8", "--no-sync", "--no-instructions",
            ])
        // A free port can be taken by another test's server between its choice and the start:
        // twice more with another, and the server's own log in the error if it still fails.
        for attempt in 1...3 {
            do {
                try start()
                return
            } catch  where attempt < 3 {
                port = try Self.freePort()
            } catch {
                let log = (try? String(contentsOf: folder.appendingPathComponent("log"), encoding: .utf8)) ?? ""
                throw CocoaError(
                    .featureUnsupported,
                    userInfo: [
                        NSLocalizedDescriptionKey:
                            "\(error.localizedDescription); the server's log ends: \(log.suffix(600))"
                    ])
            }
        }
    }

    deinit {
        try? stop()
        try? FileManager.default.removeItem(at: folder)
    }

    func start() throws {
        try server(
            "pg_ctl",
            [
                "-D", folder.appendingPathComponent("data").path, "-l", folder.appendingPathComponent("log").path,
                "-o", "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1", "-w", "start",
            ])
    }

    /// `immediate`: as a crash or a pulled cable would, without closing connections politely.
    func stop(immediate: Bool = false) throws {
        try server(
            "pg_ctl",
            ["-D", folder.appendingPathComponent("data").path, "-m", immediate ? "immediate" : "fast", "-w", "stop"])
    }

    /// The address of a schema of its own for each use, so tests never see each other's state.
    func url(schema: String = "kling") -> String {
        "postgres://127.0.0.1:\(port)/postgres?schema=\(schema)&sslmode=disable"
    }

    var environment: [String: String] { ["PGUSER": user, "PGPASSWORD": password] }

    /// A session that runs `sql` in a transaction and then sits in it for a minute, holding what
    /// it took. `terminate()` ends psql, not the server's session: that keeps its locks until its
    /// minute is up or the cluster stops.
    func hold(_ sql: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        let url = "postgresql://\(user):\(password)@127.0.0.1:\(port)/postgres"
        process.arguments = [url, "-q", "-c", "BEGIN; \(sql); SELECT pg_sleep(60); COMMIT"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// One SQL statement through psql; its rows, `|`-separated, a line each.
    @discardableResult
    func query(_ sql: String) throws -> String {
        let url = "postgresql://\(user):\(password)@127.0.0.1:\(port)/postgres"
        let data = try Self.run("/usr/bin/psql", [url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func server(_ program: String, _ arguments: [String]) throws {
        if geteuid() == 0 {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/\(program)"] + arguments)
        } else {
            try Self.run("\(bin)/\(program)", arguments)
        }
    }

    /// `posix_spawn` and `waitpid`, not `Process`: Foundation learns that a child exited when a
    /// socket the child inherits is closed, and the server `pg_ctl start` leaves running inherits
    /// it too, so `pg_ctl` would never be seen to exit. Errors go to a file, not a pipe, for the
    /// same reason. Every other descriptor is closed in the child: the test process holds
    /// hundreds (other tests' pipes and sockets), and a server that kept one would keep another
    /// test waiting for an end of file until this cluster stops.
    @discardableResult
    private static func run(_ program: String, _ arguments: [String]) throws -> Data {
        let log = "/tmp/kling-pg-\(UUID().uuidString).err"
        let output = "/tmp/kling-pg-\(UUID().uuidString).out"
        defer {
            unlink(log)
            unlink(output)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        closeInherited(&actions)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        var status: Int32 = 0
        if spawned == 0 { while waitpid(pid, &status, 0) < 0 && errno == EINTR {} }
        let text = (try? Data(contentsOf: URL(fileURLWithPath: log))) ?? Data()
        let exited = spawned == 0 && (status & 0x7F) == 0 && ((status >> 8) & 0xFF) == 0
        guard exited else {
            throw CocoaError(
                .featureUnsupported,
                userInfo: [
                    NSLocalizedDescriptionKey:
                        "\(program) \(arguments.first ?? "") failed: \(String(decoding: text, as: UTF8.self))"
                ])
        }
        return (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data()
    }

    /// Closes every descriptor from 3 up in the child: glibc's `addclosefrom_np` (2.34 and later,
    /// which the Swift overlay does not import), else each descriptor open now (which misses one
    /// another thread opens before the spawn: older glibc only).
    private static func closeInherited(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap(Int32.init) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.featureUnsupported) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
