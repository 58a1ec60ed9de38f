import ArgumentParser
import Foundation
import KlingRenderCore
import KlingState

/// Where the manifest is kept, for every command that reads it: `--state`, else KLING_STATE, else
/// `state:` in the project file, else the file beside the project. A rehearsal (`--simulate`)
/// always keeps its own file: the simulator's tasks live and die with one process.
struct StateOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Keep the manifest in PostgreSQL (postgres://HOST/DB?schema=NAME), or `file` for the file beside the project; overrides KLING_STATE and `state:`.",
            valueName: "url"))
    var state: String?

    func resolve(_ project: Project, simulated: Bool) throws(ManifestError) -> (any ManifestState)? {
        let environment = ProcessInfo.processInfo.environment
        let given =
            state.map { ("--state", $0) }
            ?? environment["KLING_STATE"].flatMap { $0.isEmpty ? nil : ("KLING_STATE", $0) }
        if simulated {
            if state != nil {
                throw ManifestError(
                    path: "--state", reason: "a rehearsal keeps its own manifest file (--simulate); leave --state out")
            }
            return nil
        }
        let url: StateURL
        if let (source, text) = given {
            if text == "file" { return nil }
            switch StateURL.parse(text) {
            case .success(let parsed): url = parsed
            case .failure(let problem):
                throw ManifestError(path: source, reason: "\(problem), or `file` for the file beside the project")
            }
        } else if let written = project.state {
            url = written
        } else {
            return nil
        }
        let target = PostgresTarget(
            url, environment: environment, home: environment["HOME"].flatMap { $0.isEmpty ? nil : $0 })
        if let problem = target.problem { throw ManifestError(path: target.label, reason: problem) }
        for warning in target.warnings { printError("warning: \(warning)") }
        return PostgresState(target: target, project: project.name)
    }
}

/// How long a command that writes the manifest waits for another holder of its lock.
struct LockOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Wait this long (30s, 5m) for another run holding the manifest's lock, instead of stopping at once.",
            valueName: "time"))
    var lockTimeout: String?

    func validate() throws {
        if let lockTimeout, TimeSpan.seconds(lockTimeout, atMost: TimeSpan.maxWait) == nil {
            throw ValidationError(
                "--lock-timeout takes a time such as 30s, 5m or 1h; got `\(Printable.short(lockTimeout, limit: 40))`")
        }
    }

    /// Seconds to wait for another holder; nil: refuse at once.
    var wait: Double? { lockTimeout.flatMap { TimeSpan.seconds($0, atMost: TimeSpan.maxWait) } }

    /// Runs `body` holding the lock of `workspace`'s manifest for `command`, released on every way
    /// out; a lock that cannot be had fails naming the holder.
    func withLock<T: Sendable>(
        _ workspace: Workspace, command: String, quiet: Bool = false, _ body: (any ManifestWriter) async throws -> T
    ) async throws -> T {
        let label = workspace.state.label
        do {
            return try await withManifestLock(
                workspace.state, command: command, wait: wait,
                waiting: { holder in
                    if !quiet {
                        printError("waiting for the lock: \(label) is locked by \(Printable.escaped(holder))…")
                    }
                }, body)
        } catch let error as StateLockError {
            throw fail(error.description)
        }
    }
}
