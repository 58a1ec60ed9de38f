import ArgumentParser
import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import KlingSimulator

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a command reaches the API (`apply`, `import`): endpoint, key, time scale; or, with
/// `--simulate`, a simulator started in this process.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The API's base URL (overrides KLING_API_BASE).", valueName: "url"))
    var endpoint: String?

    @Option(
        help: ArgumentHelp(
            "Read the API key from this file instead of KLING_API_KEY (`provider: kling`: ACCESS:SECRET, or an API key).",
            valueName: "file"))
    var apiKeyFile: String?

    @Option(
        help: ArgumentHelp(
            "Simulated seconds per real second: compresses render times (--simulate: 100).", valueName: "x"))
    var timeScale: Double?

    /// Simulated seconds per real second that a wait can be divided by without a trap or a hang.
    static let timeScales = 0.001...1_000_000.0

    func validate() throws {
        if let timeScale, !Self.timeScales.contains(timeScale) {
            throw ValidationError("--time-scale takes a number from 0.001 to 1000000")
        }
    }

    /// The API to talk to: checked, with its key, before anything is sent.
    func connect(simulated: Bool, quiet: Bool, provider: Provider) async throws -> Session {
        if simulated { return try await startSimulator(quiet: quiet, provider: provider) }
        let environment = ProcessInfo.processInfo.environment
        let base =
            endpoint ?? environment["KLING_API_BASE"].flatMap { $0.isEmpty ? nil : $0 } ?? provider.defaultEndpoint
        guard let url = URLComponents(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil
        else {
            throw fail("the endpoint `\(Printable.short(base, limit: 120))` is not an http(s) URL")
        }
        // It would be recorded in the manifest and printed: the key goes in KLING_API_KEY, never here.
        if url.user != nil || url.password != nil {
            throw fail("the endpoint holds a user name or password; put the key in KLING_API_KEY. Nothing was sent.")
        }
        if provider == .kling {
            let credentials = try officialCredentials(environment)
            let client = KlingOfficialClient(baseURL: base, credentials: credentials)
            return Session(client: client, label: client.baseURL, timeScale: timeScale ?? 1, simulator: nil)
        }
        let key: String
        let source: String
        if let apiKeyFile {
            key = try readKeyFile(apiKeyFile)
            source = "the API key file \(apiKeyFile)"
        } else {
            key = environment["KLING_API_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            source = "KLING_API_KEY"
            guard !key.isEmpty else {
                throw fail(
                    "KLING_API_KEY is not set: export it (or pass --api-key-file FILE), or rehearse for free with --simulate. Nothing was sent."
                )
            }
        }
        if let problem = KlingClient.keyProblem(key) {
            throw fail("the API key in \(source) \(problem); nothing was sent")
        }
        Secrets.shared.register(key)
        let client = KlingClient(baseURL: base, apiKey: key)
        return Session(client: client, label: client.baseURL, timeScale: timeScale ?? 1, simulator: nil)
    }

    /// The official API's credentials: the key file (`ACCESS:SECRET`, or an API key), else
    /// KLING_ACCESS_KEY and KLING_SECRET_KEY, else KLING_API_KEY. Never quoted in a message.
    private func officialCredentials(_ environment: [String: String]) throws -> KlingOfficialClient.Credentials {
        let credentials: KlingOfficialClient.Credentials
        let source: String
        func value(_ name: String) -> String? {
            environment[name].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap {
                $0.isEmpty ? nil : $0
            }
        }
        if let apiKeyFile {
            let text = try readKeyFile(apiKeyFile)
            source = "the API key file \(apiKeyFile)"
            if let colon = text.firstIndex(of: ":") {
                credentials = .keys(access: String(text[..<colon]), secret: String(text[text.index(after: colon)...]))
            } else {
                credentials = .apiKey(text)
            }
        } else if let access = value("KLING_ACCESS_KEY"), let secret = value("KLING_SECRET_KEY") {
            (credentials, source) = (.keys(access: access, secret: secret), "KLING_ACCESS_KEY and KLING_SECRET_KEY")
        } else if value("KLING_ACCESS_KEY") != nil || value("KLING_SECRET_KEY") != nil {
            let missing = value("KLING_ACCESS_KEY") == nil ? "KLING_ACCESS_KEY" : "KLING_SECRET_KEY"
            throw fail("\(missing) is not set: the official API signs with both keys. Nothing was sent.")
        } else if let key = value("KLING_API_KEY") {
            (credentials, source) = (.apiKey(key), "KLING_API_KEY")
        } else {
            throw fail(
                "KLING_ACCESS_KEY and KLING_SECRET_KEY are not set (nor KLING_API_KEY) for `provider: kling`: export them, or rehearse for free with --simulate. Nothing was sent."
            )
        }
        if let problem = KlingOfficialClient.credentialsProblem(credentials) {
            throw fail("\(problem) (from \(source)); nothing was sent")
        }
        switch credentials {
        case .keys(let access, let secret):
            Secrets.shared.register(access)
            Secrets.shared.register(secret)
        case .apiKey(let key): Secrets.shared.register(key)
        }
        return credentials
    }

    private func startSimulator(quiet: Bool, provider: Provider) async throws -> Session {
        var configuration = SimulatorConfiguration()
        configuration.api = provider == .kling ? .kling : .gateway
        configuration.port = 0
        configuration.timeScale = timeScale ?? 100
        configuration.adoptUnknownTasks = true
        // Task ids differ from one rehearsal to the next, as real ones do.
        configuration.seed = UInt64(Date().timeIntervalSince1970 * 1000)
        let simulator: SimulatorServer.Running
        do {
            simulator = try await SimulatorServer.start(configuration)
        } catch {
            throw fail("cannot start the simulator on a loopback port: \(error)")
        }
        if !quiet { print("Rehearsing against a simulator at \(simulator.baseURL) (no key, no credits spent).") }
        let client: any KlingService =
            provider == .kling
            ? KlingOfficialClient(
                baseURL: simulator.baseURL,
                credentials: .keys(
                    access: SimulatorConfiguration.demoAccessKey, secret: SimulatorConfiguration.demoSecretKey))
            : KlingClient(baseURL: simulator.baseURL, apiKey: SimulatorConfiguration.demoKey)
        return Session(client: client, label: "simulator", timeScale: configuration.timeScale, simulator: simulator)
    }

    /// The key from a file: a regular file, warned about when others may read it (as ssh does).
    private func readKeyFile(_ path: String) throws -> String {
        guard let kind = ProjectFolder.kind(ofPath: path) else {
            throw fail("cannot read the API key file \(path): no such file. Nothing was sent.")
        }
        guard kind == .file else {
            throw fail("the API key file \(path) is \(kind.phrase), not a regular file. Nothing was sent.")
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            printError(
                "warning: the API key file \(path) can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); `chmod 600 \(path)`"
            )
        }
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: 64 << 10) else {
            throw fail("cannot read the API key file \(path) (permission denied?). Nothing was sent.")
        }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if key.isEmpty { throw fail("the API key file \(path) is empty. Nothing was sent.") }
        return key
    }
}

/// A reachable API: the client, what the manifest records as its endpoint, and its time scale.
struct Session {
    var client: any KlingService
    /// What the manifest records: the base URL, or "simulator".
    var label: String
    var timeScale: Double
    var simulator: SimulatorServer.Running?

    /// As the apply operation takes it; a rehearsal's assets go to the simulator's own store.
    var access: APIAccess {
        APIAccess(
            client: client, label: label, timeScale: timeScale, rehearsalStore: simulator.map { $0.baseURL + "/_store" }
        )
    }
}

/// The session a command opened when it was time to, stopped when the command ends.
final class Sessions: @unchecked Sendable {
    private let lock = NSLock()
    private var opened: [Session] = []

    func open(_ options: ConnectionOptions, simulated: Bool, quiet: Bool, provider: Provider) async throws -> Session {
        let session = try await options.connect(simulated: simulated, quiet: quiet, provider: provider)
        lock.withLock { opened.append(session) }
        return session
    }

    func stop() async {
        for session in lock.withLock({ opened }) { await session.simulator?.stop() }
    }
}
