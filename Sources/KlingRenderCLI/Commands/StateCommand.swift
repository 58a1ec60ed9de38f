import ArgumentParser
import Foundation
import KlingRenderCore

/// `kling-render state push|pull`: a local manifest moved into the shared state, and back out.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Move the manifest between the file beside the project and the shared database.",
        subcommands: [StatePushCommand.self, StatePullCommand.self]
    )
}

struct StatePushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Load FILE.manifest.json into the shared database.",
        discussion: """
            Under the project's lock. It refuses to change or drop anything the database records that the \
            file does not (a render a teammate made since): `state pull` first, or --force to replace it.
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Flag(help: "Replace what the database records even where the file says otherwise.")
    var force = false

    @OptionGroup var stateOptions: StateOptions

    @OptionGroup var locking: LockOptions

    func run() async throws {
        let opened = try await openWorkspace(file, simulated: false, state: stateOptions)
        try requireShared(opened)
        let local: Manifest
        do {
            guard let read = try ManifestStore.read(opened.paths) else {
                throw fail("there is no \(opened.paths.manifestName) beside \(file) to push")
            }
            local = read.manifest
        } catch let error as ManifestError {
            throw fail(error.description)
        }
        try await locking.withLock(opened, command: "state push") { writer in
            try await push(local, into: opened, writer: writer)
        }
    }

    private func push(_ local: Manifest, into opened: Workspace, writer: any ManifestWriter) async throws {
        let shared = try await reloadManifest(of: opened).manifest
        var pushed = local
        pushed.project = opened.project.name
        pushed.recomputeTotals()
        if let shared, shared.shots == pushed.shots, shared.assets ?? [:] == pushed.assets ?? [:],
            shared.cut == pushed.cut, shared.endpoint == pushed.endpoint
        {
            print("\(opened.state.label) already holds \(opened.paths.manifestName); nothing was written.")
            return
        }
        let lost = StateDifference.lost(from: shared, in: pushed)
        if !lost.isEmpty, !force {
            throw fail(
                "\(opened.state.label) records what \(opened.paths.manifestName) does not: \(StateDifference.describe(lost, in: shared)). "
                    + "Run `kling-render state pull \(file)` to start from it, or push with --force to replace it. Nothing was written."
            )
        }
        do {
            try await writer.write(pushed)
        } catch {
            throw fail("\(error). Nothing was written.")
        }
        let replaced = lost.isEmpty ? "" : "; replaced \(lost.count) record\(lost.count == 1 ? "" : "s") it held"
        print(
            "pushed \(opened.paths.manifestName) to \(opened.state.label): \(pushed.totals.shots) shots, \(pushed.totals.consumedCredits.formatted) credits consumed\(replaced)."
        )
    }
}

struct StatePullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Write the shared state as FILE.manifest.json, for committing beside the storyboard.",
        discussion: """
            The file is the one the local backend would have written, byte for byte. A local manifest \
            that records what the database does not is kept unless --force.
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Flag(help: "Overwrite a local manifest that records what the database does not.")
    var force = false

    @OptionGroup var stateOptions: StateOptions

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: false, state: stateOptions)
        try requireShared(workspace)
        guard let shared = workspace.manifest else {
            throw fail(
                "\(workspace.state.label) holds nothing for `\(workspace.project.name)` yet; nothing was written")
        }
        // The file's own lock: an `apply --state file` may be writing it.
        let lock: ManifestLock
        do {
            lock = try ManifestLock.acquire(for: workspace.paths, command: "kling-render state pull")
        } catch {
            throw fail(error.description)
        }
        defer { lock.release() }
        let local: Manifest?
        do {
            local = try ManifestStore.read(workspace.paths)?.manifest
        } catch {
            // A local file that is not a manifest is not ours to overwrite.
            throw fail("\(error.description); nothing was written")
        }
        let lost = StateDifference.lost(from: local, in: shared)
        if !lost.isEmpty, !force {
            throw fail(
                "\(workspace.paths.manifestName) records what \(workspace.state.label) does not: \(StateDifference.describe(lost, in: local)). "
                    + "Run `kling-render state push \(file)` first, or pull with --force to overwrite it. Nothing was written."
            )
        }
        do {
            try ManifestStore.write(shared, to: workspace.paths)
        } catch {
            throw fail("cannot write \(workspace.paths.manifestName): \(error)")
        }
        print(
            "wrote \(workspace.paths.manifestName) from \(workspace.state.label): \(shared.totals.shots) shots, \(shared.totals.consumedCredits.formatted) credits consumed."
        )
    }
}

/// The manifest must be kept in a database for `state push|pull` to mean anything.
private func requireShared(_ workspace: Workspace) throws {
    guard workspace.state is FileState else { return }
    throw fail(
        "\(workspace.project.file) keeps its manifest in \(workspace.paths.manifestName): name a database with `state:` in the file, KLING_STATE or --state postgres://HOST/DB"
    )
}

/// What one manifest records that another would lose.
enum StateDifference {
    /// Keys (takes, assets, the cut) whose record in `from` is missing or different in `to`.
    static func lost(from: Manifest?, in to: Manifest) -> [String] {
        guard let from else { return [] }
        var keys = from.shots.keys.filter { to.shots[$0] != from.shots[$0] }.sorted()
        keys += (from.assets ?? [:]).keys.filter { to.assets?[$0] != from.assets?[$0] }.sorted()
        if let cut = from.cut, to.cut != cut { keys.append("the cut") }
        // Tasks in flight would be polled on another API than the one that has them.
        if !from.endpoint.isEmpty, from.endpoint != to.endpoint, from.shots.values.contains(where: { $0.taskID != nil })
        {
            keys.append("the endpoint \(Printable.short(from.endpoint, limit: 80))")
        }
        return keys
    }

    static func describe(_ keys: [String], in manifest: Manifest?) -> String {
        let named = keys.prefix(5).map { key in
            manifest?.shots[key]?.taskID.map { "\(key) (task \($0))" } ?? key
        }
        return named.joined(separator: ", ") + (keys.count > 5 ? " and \(keys.count - 5) more" : "")
    }
}
