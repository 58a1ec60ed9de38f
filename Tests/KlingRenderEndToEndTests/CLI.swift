import Foundation
import KlingTestSupport
import Testing

/// Runs the built `kling-render` binary as a user does.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary beside the test bundle (SwiftPM builds both into one folder).
    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["KLING_RENDER_BIN"] { return URL(fileURLWithPath: path) }
        var folder = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("kling-render")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return repository.appendingPathComponent(".build/debug/kling-render")
    }()

    static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], input: String? = nil,
        under wrapper: [String] = []
    ) throws -> Result {
        let process = Process()
        process.executableURL = wrapper.first.map { URL(fileURLWithPath: $0) } ?? binary
        process.arguments = wrapper.isEmpty ? arguments : Array(wrapper.dropFirst()) + [binary.path] + arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env.removeValue(forKey: "KLING_API_KEY")
        env.removeValue(forKey: "KLING_API_BASE")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inPipe = Pipe()
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try? inPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so a full pipe never blocks the child.
        nonisolated(unsafe) var errData = Data()
        // A thread of its own: many tests run at once, and a blocked dispatch pool would stall them all.
        let group = DispatchGroup()
        group.enter()
        Thread {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

extension CLI {
    /// Runs the binary under `strace -f`: with its result, the kernel's record of every file that
    /// it or a program it ran (ffmpeg, ffprobe) opened, and every program it ran with its arguments.
    static func traced(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:]
    ) async throws -> (Result, trace: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("kling-strace-\(UUID().uuidString)")
            .path
        defer { unlink(log) }
        let result = try await offPool {
            try CLI.run(
                arguments, in: directory, environment: environment, input: nil,
                under: [
                    "/usr/bin/strace", "-f", "-qq", "-v", "-s", "4096", "-e", "trace=open,openat,execve", "-o", log,
                ])
        }
        return (result, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}

/// A fresh folder for one test, removed afterwards.
final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kling-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

extension Process {
    /// Waits for the process on a thread of its own: never on the cooperative pool, whose two
    /// threads (on two cores) every other running test needs. Not `waitUntilExit`: on a thread
    /// other than the one that started the process it spins on an empty run loop, a whole core.
    func exited() async {
        await offPool { while self.isRunning { Thread.sleep(forTimeInterval: 0.02) } }
    }
}
