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
}
