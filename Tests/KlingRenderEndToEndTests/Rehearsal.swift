import AsyncHTTPClient
import Foundation
import KlingAPI
import KlingRenderCore
import KlingSimulator
import KlingTestSupport
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

extension CLI {
    /// `run` off the cooperative pool, so that a waiting test never starves the simulator it talks to.
    static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
    ) async throws -> Result {
        try await offPool { try CLI.run(arguments, in: directory, environment: environment, input: nil) }
    }
}

/// `kling-render simulator` in a process of its own, as a user runs it: the tests' own load can
/// never starve it, and its clock can be fast-forwarded over HTTP.
final class SimulatorProcess: @unchecked Sendable {
    let process = Process()
    let baseURL: String

    init(_ configuration: SimulatorConfiguration) throws {
        var arguments = [
            "simulator", "--port", "0", "--time-scale", String(configuration.timeScale), "--seed",
            String(configuration.seed),
            "--requests-per-second", String(configuration.requestsPerSecond), "--max-in-flight",
            String(configuration.maxTasksInFlight), "--expire-after", String(configuration.expireAfter), "--slow-delay",
            String(configuration.slowDelay),
        ]
        if configuration.api == .kling { arguments += ["--api", "kling"] }
        for (key, credits) in configuration.keys.sorted(by: { $0.key < $1.key }) {
            let secret = configuration.api == .kling ? configuration.secrets[key].map { ":" + $0 } ?? "" : ""
            arguments += ["--key", "\(key)\(secret)=\(credits)"]
        }
        for (fault, p) in configuration.faults.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            arguments += ["--fault", "\(fault.rawValue)=\(p)"]
        }
        for text in configuration.failPrompts { arguments += ["--fail-prompt", text] }
        if !configuration.useFFmpeg { arguments.append("--no-ffmpeg") }
        if let bytes = configuration.videoBytes { arguments += ["--video-bytes", String(bytes)] }
        process.executableURL = CLI.binary
        process.arguments = arguments
        baseURL = try process.runUntilLine(starting: "listening on ", else: "the simulator did not start")
    }

    deinit { if process.isRunning { process.terminate() } }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    private func request(_ method: HTTPMethod, _ path: String) async throws -> Data {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        let response = try await KlingClient.sharedHTTPClient.execute(request, timeout: .seconds(30))
        return Data(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    func stats() async -> SimulatorStats {
        guard let data = try? await request(.GET, "/_sim/stats"),
            let stats = try? JSONDecoder().decode(SimulatorStats.self, from: data)
        else {
            Issue.record("cannot read the simulator's stats")
            return SimulatorStats(tasksCreated: -1, creditsCharged: -1)
        }
        return stats
    }

    /// Fast-forwards the simulated clock.
    func advance(seconds: Double) async throws {
        _ = try await request(.POST, "/_sim/advance?seconds=\(seconds)")
    }
}

extension Process {
    /// Runs the process and reads its standard output to its first line, which must start with
    /// `prefix`: what follows it (a server's address). Stopped, and `failure` thrown, otherwise.
    func runUntilLine(starting prefix: String, else failure: String) throws -> String {
        let out = Pipe()
        standardOutput = out
        standardError = FileHandle.nullDevice
        try run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix(prefix) else {
            terminate()
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "\(failure): \(text)"])
        }
        return String(line.dropFirst(prefix.count))
    }
}

/// A project in a scratch folder and a simulator on loopback that the built binary renders it
/// against, as a user would with `--endpoint`.
final class Rehearsal: @unchecked Sendable {
    static let timeScale = 3000.0
    let scratch: Scratch
    let simulator: SimulatorProcess
    let file: String
    var key = SimulatorConfiguration.demoKey
    /// The wire format its simulator speaks: `kling` signs with the demo account's keys.
    let api: SimulatorAPI

    init(_ yaml: String, name: String = "film.yaml", _ configure: (inout SimulatorConfiguration) -> Void = { _ in })
        async throws
    {
        scratch = try Scratch()
        file = name
        try scratch.write(name, yaml)
        var configuration = SimulatorConfiguration()
        configuration.timeScale = Self.timeScale
        configuration.useFFmpeg = false
        configure(&configuration)
        api = configuration.api
        simulator = try SimulatorProcess(configuration)
    }

    /// A copy of an example, with the storyboard images and the music beside it. An example that hosts assets
    /// gets an `assets:` block naming the simulator's loopback store, as a user's would name theirs.
    convenience init(
        example: String, provider: String? = nil, _ configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) async throws {
        var text = try String(
            contentsOf: CLI.repository.appendingPathComponent("examples/\(example).yaml"), encoding: .utf8)
        if let provider { text = "provider: \(provider)\n" + text }
        try await self.init(text, name: "\(example).yaml") {
            if provider == "kling" { $0.api = .kling }
            configure(&$0)
        }
        for folder in ["boards", "score"] {
            try FileManager.default.copyItem(
                at: CLI.repository.appendingPathComponent("examples/\(folder)"),
                to: scratch.url.appendingPathComponent(folder))
        }
        if text.contains("boards/") || text.contains("_frame}") {
            _ = try scratch.write(file, text + storeBlock)
        }
    }

    /// The simulator's loopback store, as an `assets:` block.
    var storeBlock: String {
        "assets:\n  store: s3://rehearsal/kling/\n  endpoint: \(simulator.baseURL)/_store\n"
    }

    /// Credentials for the store: the simulator's does not check them.
    static let storeEnvironment = ["AWS_ACCESS_KEY_ID": "AKIDREHEARSAL", "AWS_SECRET_ACCESS_KEY": "rehearsal-secret"]

    func stop() async { simulator.stop() }

    var arguments: [String] {
        ["--endpoint", simulator.baseURL, "--time-scale", String(Self.timeScale)]
    }

    func apply(_ extra: [String] = [], yes: Bool = true) async throws -> CLI.Result {
        try await CLI.run(
            ["apply", file] + (yes ? ["--yes"] : []) + arguments + extra, in: scratch.url,
            environment: environment)
    }

    var environment: [String: String] {
        let keys =
            api == .kling
            ? [
                "KLING_ACCESS_KEY": SimulatorConfiguration.demoAccessKey,
                "KLING_SECRET_KEY": SimulatorConfiguration.demoSecretKey,
            ] : ["KLING_API_KEY": key]
        return Self.storeEnvironment.merging(keys) { $1 }
    }

    func run(_ arguments: [String]) async throws -> CLI.Result {
        try await CLI.run(arguments, in: scratch.url, environment: environment)
    }

    func edit(_ replace: String, with text: String) throws {
        let url = scratch.url.appendingPathComponent(file)
        let yaml = try String(contentsOf: url, encoding: .utf8)
        #expect(yaml.contains(replace), "the project has `\(replace)` to edit")
        try yaml.replacingOccurrences(of: replace, with: text).write(to: url, atomically: true, encoding: .utf8)
    }

    var manifestURL: URL {
        scratch.url.appendingPathComponent(file.replacingOccurrences(of: ".yaml", with: ".manifest.json"))
    }

    var manifestData: Data? { try? Data(contentsOf: manifestURL) }

    /// The manifest as JSON objects: shot id → entry.
    var shots: [String: [String: Any]] {
        guard let data = manifestData, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            return [:]
        }
        return object["shots"] as? [String: [String: Any]] ?? [:]
    }

    func stats() async -> SimulatorStats { await simulator.stats() }

    /// Every file the manifest lists is on disk with its recorded size and SHA-256.
    func verifiedFiles() throws -> Int {
        var count = 0
        for (id, entry) in shots {
            for file in entry["files"] as? [[String: Any]] ?? [] {
                let path = try #require(file["path"] as? String)
                let data = try #require(
                    try? Data(contentsOf: scratch.url.appendingPathComponent(path)), "\(id): \(path) missing")
                #expect(data.count == file["bytes"] as? Int, "\(path) size")
                #expect(sha256(data) == file["sha256"] as? String, "\(path) hash")
                count += 1
            }
        }
        return count
    }
}

func sha256(_ data: Data) -> String { Digest.sha256Hex(data) }
