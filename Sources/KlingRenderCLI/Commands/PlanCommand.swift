import ArgumentParser
import Foundation
import KlingRenderCore
import KlingRenderExecution

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would render, re-render or leave alone, and what it costs.",
        discussion: """
            Exit status: 0 on success (with --detailed-exitcode: 0 nothing to do, 2 changes), \
            1 on any error, including a plan over the budget.
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @OptionGroup var planning: PlanningOptions

    @OptionGroup var stateOptions: StateOptions

    @Flag(help: "Print the plan as JSON.")
    var json = false

    @Flag(help: "Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.")
    var detailedExitcode = false

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("Save the plan for `kling-render apply FILE.plan`.", valueName: "file"))
    var out: String?

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: planning.simulate, state: stateOptions)
        let options = planning.planOptions
        let plan: Plan
        do {
            plan = try workspace.plan(options)
        } catch {
            throw fail(error)
        }
        if json {
            try JSONOutput.write(plan)
        } else {
            print(PlanView(terminal: .standardOutput).render(plan), terminator: "")
        }
        if let problem = plan.budgetProblem { throw fail(problem.words(project: file)) }
        if let problem = AssetRequirements.problem(plan, project: workspace.project, machine: .current) {
            // A cut with no ffmpeg to assemble it is this plan's error, as the issue of a missing program is.
            if case .missing(_, .cut) = problem { throw fail(problem.words) }
            // Said now, not only when apply refuses: the plan cannot be applied on this machine as it is.
            printError("warning: apply would stop: " + problem.words)
        }
        if let out {
            let saved: SavedPlan
            do {
                saved = try SavedPlan(workspace: workspace, options: options, plan: plan, planFile: out)
            } catch {
                throw fail(error.message)
            }
            let target = URL(fileURLWithPath: out)
            do {
                try AtomicFile.write(
                    try CanonicalJSON.data(saved, pretty: true), to: target.lastPathComponent,
                    in: ProjectFolder(target.deletingLastPathComponent()))
            } catch {
                throw fail("cannot write \(out): \(error)")
            }
            if !json { print("Saved the plan to \(out); `kling-render apply \(out)` applies exactly this plan.") }
        }
        if detailedExitcode, plan.hasChanges { throw ExitCode(2) }
    }
}
