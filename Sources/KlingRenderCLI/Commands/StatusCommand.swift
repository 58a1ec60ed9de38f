import ArgumentParser
import Foundation
import KlingRenderCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each shot's render from the manifest, against the project file and the files on disk.",
        discussion:
            "Exit status: 0 when every shot is rendered, current and on disk; 1 otherwise (with --detailed-exitcode: 2)."
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @OptionGroup var stateOptions: StateOptions

    @Flag(help: "The simulator's manifest and folder.")
    var simulate = false

    @Flag(help: "Hash every file instead of checking its size.")
    var verify = false

    @Flag(help: "Print the status as JSON.")
    var json = false

    @Flag(help: "Exit 2 when anything is not rendered, outdated, missing or modified.")
    var detailedExitcode = false

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: simulate, state: stateOptions)
        noteRehearsalOnly(workspace, simulated: simulate, command: "status")
        let status = ProjectStatus(workspace: workspace, verify: verify)
        if json {
            try JSONOutput.write(status)
        } else {
            print(StatusView(terminal: .standardOutput).render(status), terminator: "")
        }
        if detailedExitcode, !status.isClean { throw ExitCode(2) }
    }
}

/// The status for a person: one row per shot, its files under it when they are not as recorded.
struct StatusView {
    var terminal: Terminal

    /// `Cut: renders/film.mp4, 16 s, current`, in yellow when it is not.
    func cutLine(_ cut: ProjectStatus.CutRow) -> String {
        let length = cut.seconds.map { ", \(Cut.seconds(($0 * 10).rounded() / 10)) s" } ?? ""
        let words: String =
            switch cut.state {
            case .current: "current"
            case .stale: "stale: the cut or a clip changed since it was assembled (`kling-render apply` re-cuts it)"
            case .missing: "missing (`kling-render apply` assembles it again)"
            case .modified: "modified on disk since it was assembled"
            case .notAssembled: "not assembled yet"
            }
        let line = "\nCut: \(Printable.escaped(cut.path))\(length), \(words)"
        return (cut.state == .current ? line : terminal.paint(line, .yellow)) + "\n"
    }

    func render(_ status: ProjectStatus) -> String {
        let e = Printable.escaped
        var out =
            "Status of \(e(status.project)) (\(e(status.manifest))\(status.endpoint.map { ", from \(Printable.short($0, limit: 120))" } ?? ""))\n\n"
        let takes = Dictionary(status.shots.map { ($0.id, 1) }, uniquingKeysWith: +)
        func name(_ row: ProjectStatus.ShotStatusRow) -> String {
            Take.label(row.id, row.take)
                + (row.picked && takes[row.id, default: 1] > 1 ? " (pick)" : "")
        }
        let width = status.shots.map { name($0).count }.max() ?? 4
        for row in status.shots {
            var state = row.status.rawValue
            if row.status != .notRendered, !row.current {
                state += ", outdated (the shot, or a shot or file it uses, changed since)"
            }
            let files =
                row.files.isEmpty
                ? ""
                : "  "
                    + row.files.map { "\(e($0.path))\($0.state == .ok ? "" : " [\($0.state.rawValue)]")" }.joined(
                        separator: ", ")
            if row.extra { state += ", kept (beyond `takes:`)" }
            var line = "  \(name(row).padding(toLength: width, withPad: " ", startingAt: 0))  \(state)\(files)"
            if let error = row.error { line += "\n      \(Printable.short(error, limit: 500))" }
            let problem =
                !row.extra && (row.status != .succeeded || !row.current || row.files.contains { $0.state != .ok })
            out +=
                (problem
                    ? terminal.paint(
                        line, row.status == .failed || row.files.contains { $0.state != .ok } ? .red : .yellow) : line)
                + "\n"
        }
        for id in status.removed {
            out += terminal.paint("  \(e(id))  no longer in the file; its files are left alone", .dim) + "\n"
        }
        if !status.assets.isEmpty {
            let stores = Set(status.assets.map(\.store)).sorted().map { Printable.short($0, limit: 80) }
            out += "\nHosted in \(e(stores.joined(separator: ", "))):\n"
            let pathWidth = status.assets.map { e($0.path).count }.max() ?? 0
            for asset in status.assets {
                let path = e(asset.path).padding(toLength: pathWidth, withPad: " ", startingAt: 0)
                let size = asset.bytes.formatted(.byteCount(style: .file)).leftPadded(8)
                let line = "  \(path)  \(size)  \(asset.state.rawValue)"
                out += (asset.state == .changed || asset.state == .gone ? terminal.paint(line, .yellow) : line) + "\n"
            }
        }
        if let cut = status.cut { out += cutLine(cut) }
        let wanted = status.shots.filter { !$0.extra }
        let done = wanted.filter(\.isDone).count
        let noun = takes.values.contains { $0 > 1 } ? "take" : "shot"
        out +=
            "\n\(done) of \(wanted.count) \(noun)\(wanted.count == 1 ? "" : "s") rendered, current and on disk.\n"
        let rehearsal = status.simulated ? " in rehearsal (no real credits)" : ""
        out +=
            "Spent \(status.spentCredits.formatted) credits to date\(rehearsal)"
            + (status.budget.map { " of a budget of \($0.formatted)" } ?? "") + ".\n"
        return out
    }
}
