import Foundation
import KlingRenderCore
import KlingRenderExecution

extension ApplyFailure {
    /// What went wrong, for a person, with the command that fixes it.
    func words(in workspace: Workspace) -> String {
        let project = workspace.project.file
        switch self {
        case .plan(let error): return error.located + (error.note.map { "; \($0)" } ?? "")
        case .replanned(let error): return "\(error.located); nothing was sent"
        case .workspace(.manifest(let problem)): return problem.description
        case .workspace(.invalid): return "\(project) cannot be read again; nothing was sent"
        case .stale(let file, let problem, let options):
            return
                "\(file) is stale: \(problem); nothing was sent. Make a new plan with `kling-render plan \(project)\(Self.flags(options)) --out \(file)`"
        case .savedOverBudget(let file, let credits, let budget):
            return
                "\(file) costs \(credits.formatted) credits, above `budget: \(budget)` in \(project); a saved plan cannot raise the budget. Nothing was sent."
        case .overBudget(let plan):
            return "\(plan.budgetProblem?.words(project: project) ?? "the plan is over its budget"); nothing was sent"
        case .assets(let problem): return problem.words + " Nothing was sent."
        case .outputFolder(let error): return "the output folder cannot be used: \(error); nothing was sent"
        case .refused(let credits):
            return "apply asks before it spends credits: pass --yes to apply this plan (\(credits.formatted) credits)"
        case .otherEndpoint(let state, let recorded, let current):
            return "tasks in \(state) were recorded against \(Printable.short(recorded, limit: 120)), "
                + "and this run uses \(current). Check which of the two is your Kling API before resuming them; nothing was sent"
        case .lock(let error): return error.description
        case .changedMeanwhile(let state):
            return
                "\(state) changed while the plan was shown (another apply?); nothing was sent. Run apply again to see the new plan"
        case .uncertain(let keys):
            return
                "\(keys.joined(separator: ", ")) uncertain: check your Kling account, then `kling-render import` the task, or `--replace ID` to submit again"
        }
    }

    /// The options a plan was made with, as `plan` takes them: the command that makes it again.
    static func flags(_ options: PlanOptions) -> String {
        var flags: [String] = []
        if options.simulated { flags.append("--simulate") }
        flags += options.targets.map { "--target \($0)" } + options.replace.map { "--replace \($0)" }
        flags += options.retake.map { "--retake \($0)" }
        if let max = options.maxCredits { flags.append("--max-credits \(max)") }
        if options.verify { flags.append("--verify") }
        return flags.map { " " + $0 }.joined()
    }
}

extension AssetProblem {
    /// What the machine or project lacks, and how to get it.
    var words: String {
        switch self {
        case .missing(let program, .cut(let path)):
            "the cut (\(path)) is assembled by ffmpeg, which is not installed: \(program.advice)."
        case .missing(let program, .frames(let names)):
            "continuity frames (\(names.joined(separator: ", "))) need ffmpeg, which is not installed: \(program.advice)."
        case .noStore(let paths, let project):
            "\(paths.joined(separator: ", ")) must be hosted for the API to fetch: add `assets:` with `store: s3://BUCKET/PREFIX/` to \(project), or rehearse with --simulate."
        case .noCredentials:
            "the asset store needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in ~/.aws/credentials."
        case .badRegion(let region):
            "AWS_REGION `\(Printable.short(region, limit: 40))` is not a region name such as us-east-1."
        }
    }
}

extension BudgetProblem {
    /// "spent 4,860 of 5,000 credits; this plan costs 612: raise `budget:` in film.yaml, or --target fewer shots"
    func words(project: String) -> String {
        switch self {
        case .overRunCap(let credits, let cap):
            "this plan costs \(credits.formatted) credits, over --max-credits \(cap.formatted), the cap of one run: "
                + "raise --max-credits, or --target fewer shots"
        case .overBudget(let spent, let credits, let budget):
            "spent \(spent.formatted) of \(budget.formatted) credits (`budget:` in \(project)); this plan costs "
                + "\(credits.formatted): raise `budget:`, or --target fewer shots"
        }
    }
}
