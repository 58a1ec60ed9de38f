import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
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
    /// inherits no descriptor but its three, and is waited for without a spinning thread): killed
    /// after `timeout`, or when the task is cancelled. Its status (-1 when it could not start, or
    /// was stopped) and the first 4 KB of what it said on stderr. What it writes on stdout goes to
    /// `output` chunk by chunk, to the last byte, before this returns.
    /// `nice`: how much lower than the tool's its priority is (0: the same).
    package static func run(
        _ program: String, _ arguments: [String], timeout: Duration, nice: Int32 = 0,
        output: (@Sendable (Data) -> Void)? = nil
    ) async -> (Int32, String) {
        let child = Child()
        // A timer of Dispatch's, not a sleeping task: a cooperative pool kept busy by other work
        // must not keep a stuck program running past its time.
        let timer = DispatchWorkItem { child.stop() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.inSeconds, execute: timer)
        let result = await withTaskCancellationHandler {
            await spawn(program, arguments, child: child, nice: nice, output: output)
        } onCancel: {
            child.stop()
        }
        timer.cancel()
        return child.wasStopped ? (-1, "stopped after \(timeout)") : result
    }

    /// The running child's pid, and whether it was told to stop before it was known.
    private final class Child: @unchecked Sendable {
        private let lock = NSLock()
        private var pid: pid_t?
        private var stopped = false

        var wasStopped: Bool { lock.withLock { stopped } }

        func started(_ pid: pid_t) {
            let stopNow = lock.withLock {
                self.pid = pid
                return stopped
            }
            if stopNow { kill(pid, SIGKILL) }
        }

        func stop() {
            let pid = lock.withLock {
                stopped = true
                return self.pid
            }
            if let pid { kill(pid, SIGKILL) }
        }

        func ended() { lock.withLock { pid = nil } }
    }

    private static func spawn(
        _ program: String, _ arguments: [String], child: Child, nice: Int32,
        output: (@Sendable (Data) -> Void)?
    ) async -> (Int32, String) {
        do {
            let result = try await Subprocess.run(
                .path(FilePath(program)), arguments: Arguments(arguments), input: .none, output: .sequence,
                error: .sequence
            ) { execution in
                child.started(execution.processIdentifier.value)
                // Before it starts its threads, which inherit it: a lower priority than the tool's other work.
                if nice > 0 { lower(execution.processIdentifier.value, by: nice) }
                defer { child.ended() }
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

    private static func lower(_ pid: pid_t, by nice: Int32) {
        #if canImport(Glibc)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), nice)
        #else
            _ = setpriority(PRIO_PROCESS, id_t(pid), nice)
        #endif
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
