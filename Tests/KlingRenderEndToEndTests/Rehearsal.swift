import Foundation
import KlingRenderCore
import KlingSimulator
import Testing

extension CLI {
    /// `run` off the cooperative pool, so that a waiting test never starves the simulator it talks to.
    static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Swift.Result { try CLI.run(arguments, in: directory, environment: environment, input: nil) })
            }.start()
        }
    }
}

/// A project in a scratch folder and a simulator on loopback that the built binary renders it
/// against, as a user would with `--endpoint`.
final class Rehearsal: @unchecked Sendable {
    static let timeScale = 3000.0
    let scratch: Scratch
    let simulator: SimulatorServer.Running
    let file: String
    var key = SimulatorConfiguration.demoKey

    init(_ yaml: String, name: String = "film.yaml", _ configure: (inout SimulatorConfiguration) -> Void = { _ in }) async throws {
        scratch = try Scratch()
        file = name
        try scratch.write(name, yaml)
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.timeScale = Self.timeScale
        configuration.useFFmpeg = false
        configure(&configuration)
        simulator = try await SimulatorServer.start(configuration)
    }

    /// A copy of an example.
    convenience init(example: String, _ configure: (inout SimulatorConfiguration) -> Void = { _ in }) async throws {
        let text = try String(
            contentsOf: CLI.repository.appendingPathComponent("examples/\(example).yaml"), encoding: .utf8)
        try await self.init(text, name: "\(example).yaml", configure)
    }

    func stop() async { await simulator.stop() }

    var arguments: [String] {
        ["--endpoint", simulator.baseURL, "--time-scale", String(Self.timeScale)]
    }

    func apply(_ extra: [String] = [], yes: Bool = true) async throws -> CLI.Result {
        try await CLI.run(
            ["apply", file] + (yes ? ["--yes"] : []) + arguments + extra, in: scratch.url,
            environment: ["KLING_API_KEY": key])
    }

    func run(_ arguments: [String]) async throws -> CLI.Result {
        try await CLI.run(arguments, in: scratch.url, environment: ["KLING_API_KEY": key])
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
        guard let data = manifestData, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
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
                let data = try #require(try? Data(contentsOf: scratch.url.appendingPathComponent(path)), "\(id): \(path) missing")
                #expect(data.count == file["bytes"] as? Int, "\(path) size")
                #expect(sha256(data) == file["sha256"] as? String, "\(path) hash")
                count += 1
            }
        }
        return count
    }
}

func sha256(_ data: Data) -> String { Digest.sha256Hex(data) }
