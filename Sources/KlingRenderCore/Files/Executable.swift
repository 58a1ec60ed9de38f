import Foundation

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

    /// Runs a program without holding a task's thread while it runs: stopped after `timeout`, or
    /// when the task is cancelled. Its status and the first 4 KB of what it said on stderr. What
    /// it writes on stdout goes to `output` chunk by chunk, to the last byte, before this returns.
    package static func run(
        _ program: String, _ arguments: [String], timeout: Duration, output: (@Sendable (Data) -> Void)? = nil
    ) async -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let reading = output.map { sink -> (Pipe, DispatchSemaphore) in
            let pipe = Pipe()
            let done = DispatchSemaphore(value: 0)
            Thread {
                // Blocking reads on a thread of its own, to the end of the stream.
                while case let chunk = pipe.fileHandleForReading.availableData, !chunk.isEmpty { sink(chunk) }
                done.signal()
            }.start()
            return (pipe, done)
        }
        process.standardOutput = reading?.0 ?? FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let said = Said()
        errors.fileHandleForReading.readabilityHandler = { handle in said.append(handle.availableData) }
        let status: Int32 = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
                process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    try? reading?.0.fileHandleForWriting.close()
                    continuation.resume(returning: -1)
                    return
                }
                // Ours closed, so the reader sees the end when the program's copy closes.
                try? reading?.0.fileHandleForWriting.close()
                DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(timeout.components.seconds))) {
                    if process.isRunning { process.terminate() }
                }
            }
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
        errors.fileHandleForReading.readabilityHandler = nil
        if let (_, done) = reading {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    done.wait()
                    continuation.resume()
                }
            }
        }
        return (status, said.text)
    }
}

/// What a program said on stderr, kept up to 4 KB, from the pipe's handler thread.
private final class Said: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) {
        lock.lock()
        defer { lock.unlock() }
        if data.count < 4096 { data.append(chunk.prefix(4096 - data.count)) }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
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
