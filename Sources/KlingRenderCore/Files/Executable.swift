import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Programs the tool runs (ffmpeg), found on `PATH` as a shell would.
package enum Executable {
    package static func find(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String?
    {
        let paths = (environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":")
        // Absolute folders only: a `.` in PATH must not run an `ffmpeg` committed to the repository.
        for folder in paths where folder.hasPrefix("/") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a program without holding a task's thread while it runs (swift-subprocess: the child
    /// inherits no descriptor but its three, and is waited for without a spinning thread): stopped
    /// after `timeout`, or when the task is cancelled. Its status (-1 when it could not start, or
    /// was stopped) and the first 4 KB of what it said on stderr. What it writes on stdout goes to
    /// `output` chunk by chunk, to the last byte, before this returns.
    package static func run(
        _ program: String, _ arguments: [String], timeout: Duration, output: (@Sendable (Data) -> Void)? = nil
    ) async -> (Int32, String) {
        let result = await withTaskGroup(of: (Int32, String)?.self) { group in
            group.addTask { await spawn(program, arguments, output: output) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            // The first to end decides: the program, or the time-out (which stops it).
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        return result ?? (-1, "stopped after \(timeout)")
    }

    private static func spawn(_ program: String, _ arguments: [String], output: (@Sendable (Data) -> Void)?) async
        -> (Int32, String)
    {
        do {
            let result = try await Subprocess.run(
                .path(FilePath(program)), arguments: Arguments(arguments), input: .none, output: .sequence,
                error: .sequence
            ) { execution in
                async let said = firstBytes(of: execution.standardError, limit: 4096)
                for try await chunk in execution.standardOutput {
                    let data = chunk.withUnsafeBytes { Data($0) }
                    output?(data)
                }
                return await said
            }
            switch result.terminationStatus {
            case .exited(let code): return (code, result.closureResult)
            default: return (-1, result.closureResult)
            }
        } catch {
            return (-1, "\(error)")
        }
    }

    /// The first `limit` bytes of a stream as text; the rest read and dropped, so the child never
    /// blocks on a full pipe.
    private static func firstBytes(of stream: SubprocessOutputSequence, limit: Int) async -> String {
        var kept = Data()
        do {
            for try await chunk in stream where kept.count < limit {
                chunk.withUnsafeBytes { kept.append(contentsOf: $0.prefix(limit - kept.count)) }
            }
        } catch {}
        return String(decoding: kept, as: UTF8.self)
    }
}

/// The programs kling-render runs, and how a Debian machine gets each: the one place that says
/// what to install when one is missing.
package enum Program: String, Sendable {
    case ffmpeg, ffprobe, dot

    /// The Debian package that brings it.
    package var debianPackage: String {
        switch self {
        case .ffmpeg, .ffprobe: "ffmpeg"
        case .dot: "graphviz"
        }
    }

    /// `apt-get install ffmpeg`
    package var install: String { "apt-get install \(debianPackage)" }

    /// "`apt-get install ffmpeg` (Debian's package ffmpeg)": what a message says to do.
    package var advice: String { "`\(install)` (Debian's package \(debianPackage))" }

    /// "ffmpeg is not installed: `apt-get install ffmpeg` (Debian's package ffmpeg)"
    package var missing: String { "\(rawValue) is not installed: \(advice)" }
}
