import Foundation
import KlingTestSupport
import Subprocess
import Testing

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster for one test: Debian's server, `initdb` into a temporary
/// folder, listening on a free loopback port with a password (so PGPASSWORD is used), stopped and
/// removed afterwards. Run as root, the server runs as the `postgres` user, as it must.
final class PostgresCluster: @unchecked Sendable {
    let folder: URL
    let port: Int
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
        try start()
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

    /// Through swift-subprocess, not `Process`: Foundation learns that a child exited when a
    /// socket the child inherits is closed, and the server `pg_ctl start` leaves running would
    /// inherit it too; swift-subprocess closes every descriptor but the three in the child (the
    /// test process holds hundreds: other tests' pipes and sockets) and watches the child itself.
    /// Called off the cooperative pool (`make`, `restart`), which this thread waits for.
    @discardableResult
    private static func run(_ program: String, _ arguments: [String]) throws -> Data {
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<(Bool, Data, String), any Error> = .success((false, Data(), ""))
        Task {
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(program)), arguments: Arguments(arguments), input: .none,
                    output: .data(limit: 1 << 20), error: .string(limit: 1 << 16))
                outcome = .success((result.terminationStatus.isSuccess, result.standardOutput, result.standardError))
            } catch {
                outcome = .failure(error)
            }
            finished.signal()
        }
        finished.wait()
        let (succeeded, output, said) = try outcome.get()
        guard succeeded else {
            throw CocoaError(
                .featureUnsupported,
                userInfo: [NSLocalizedDescriptionKey: "\(program) \(arguments.first ?? "") failed: \(said)"])
        }
        return output
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
