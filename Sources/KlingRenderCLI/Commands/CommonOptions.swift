import ArgumentParser
import Foundation
import KlingRenderCore

/// Options shared by the commands that plan: mapped to `PlanOptions` in one place.
struct PlanningOptions: ParsableArguments {
    @Option(
        name: .customLong("target"),
        help: ArgumentHelp("Limit to this shot and what it needs (repeatable).", valueName: "id"))
    var targets: [String] = []

    @Option(
        name: .customLong("replace"),
        help: ArgumentHelp("Render this shot again whatever the manifest says (repeatable).", valueName: "id"))
    var replace: [String] = []

    @Option(
        name: .customLong("retake"),
        help: ArgumentHelp(
            "Render one more take of this shot; what uses it waits until you pick it (repeatable).", valueName: "id"))
    var retake: [String] = []

    @Option(
        help: ArgumentHelp("Fail when the plan costs more credits than this (overrides `budget:`).", valueName: "n"))
    var maxCredits: Int?

    @Flag(help: "Plan against the simulator's manifest and folder (FILE.sim.manifest.json, OUTPUT-sim/).")
    var simulate = false

    @Flag(help: "Hash every downloaded file instead of checking its size.")
    var verify = false

    @Flag(help: "Assemble the cut as a quick draft (NAME.draft.mp4, at most 540 lines); the film is left as it is.")
    var draft = false

    var planOptions: PlanOptions {
        var options = PlanOptions(
            targets: targets, replace: replace, maxCredits: maxCredits, simulated: simulate, verify: verify,
            retake: retake)
        options.draft = draft ? true : nil
        return options
    }

    func validate() throws {
        if let maxCredits, maxCredits < 0 { throw ValidationError("--max-credits must be zero or more") }
    }
}

/// Opens a project for a command, with its manifest wherever it is kept: prints its diagnostics
/// (warnings too) and fails on errors.
func openWorkspace(_ file: String, simulated: Bool, state: StateOptions) async throws -> Workspace {
    let view = DiagnosticView(terminal: .standardError)
    do {
        let workspace = try await Workspace.open(file, simulated: simulated) { project, _ throws(ManifestError) in
            try state.resolve(project, simulated: simulated)
        }
        let text = try? String(contentsOfFile: file, encoding: .utf8)
        for d in workspace.diagnostics { printError(view.render(d, source: text)) }
        return workspace
    } catch {
        switch error {
        case .invalid(let result):
            for d in result.diagnostics { printError(view.render(d, source: result.source)) }
            let errors = result.diagnostics.filter { $0.severity == .error }.count
            printError("\(file): \(errors) error\(errors == 1 ? "" : "s"); nothing was planned or sent")
        case .manifest(let problem):
            printError("error: \(Printable.escaped(problem.description))")
        }
        throw ExitCode.failure
    }
}

/// The manifest read again; a manifest that cannot be read is reported as `openWorkspace` does.
func reloadManifest(of workspace: Workspace) async throws -> Workspace {
    do {
        return try await workspace.reloadingManifest()
    } catch {
        if case .manifest(let problem) = error { printError("error: \(Printable.escaped(problem.description))") }
        throw ExitCode.failure
    }
}

/// Asks on the terminal before something that costs or replaces; only `yes` is taken. Off a
/// terminal it fails with `offTerminal`; any other answer prints `cancelled` and fails.
func confirmOnTerminal(_ question: String, offTerminal: String, cancelled: String) throws {
    guard isatty(0) == 1 else { throw fail(offTerminal) }
    print(question + " Only `yes` is taken: ", terminator: "")
    fflush(nil)
    guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
        print(cancelled)
        throw ExitCode.failure
    }
}

func fail(_ message: String) -> ExitCode {
    let terminal = Terminal.standardError
    // Messages quote data from outside (ids, hosts, reasons): never a control character raw.
    printError("\(terminal.paint("error:", .bold, .red)) \(Printable.escaped(message))")
    return ExitCode.failure
}

/// Prints a plan's error as a diagnostic (`FILE:LINE:COL: error:`, the line, a caret) and fails.
func fail(_ error: PlanError) -> ExitCode {
    printError(DiagnosticView(terminal: .standardError).render(error))
    return ExitCode.failure
}

/// When nothing real has been rendered but a rehearsal has, says so on stderr and names
/// `--simulate`: `status`, `review` and `export` would otherwise show an empty project.
func noteRehearsalOnly(_ workspace: Workspace, simulated: Bool, command: String) {
    guard !simulated, workspace.manifest == nil else { return }
    let project = workspace.project
    let rehearsal = ProjectPaths(projectFile: project.file, output: project.output, simulated: true)
    guard case .file = rehearsal.root.entry(rehearsal.manifestName) else { return }
    printError(
        "note: only a rehearsal has been rendered (\(Printable.escaped(rehearsal.manifestName))); "
            + "`kling-render \(command) \(Printable.escaped(project.file)) --simulate` shows it")
}
