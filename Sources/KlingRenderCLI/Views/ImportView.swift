import Foundation
import KlingRenderCore
import KlingRenderExecution

/// `import`'s view: an apply's, and the question before a render is replaced.
final class ImportView: ApplyView, ImportDelegate, @unchecked Sendable {
    /// `--yes`: replace without asking.
    let yes: Bool

    init(json: Bool, yes: Bool) {
        self.yes = yes
        super.init(json: json)
    }

    func mayReplace(_ what: ImportFailure.Replaced, key: String, taskID: String) throws -> Bool {
        if yes { return true }
        let has =
            switch what {
            case .inFlight(let task): "a task in flight (\(task ?? "?"), already paid for)"
            case .finished: "a finished render"
            }
        try confirmOnTerminal(
            "\(key) already has \(has). Replace it with task \(taskID)?",
            offTerminal: "\(key) already has \(has); pass --yes to replace it with task \(taskID)",
            cancelled: "Import cancelled; nothing was changed.")
        return true
    }

    func importing(key: String, taskID: String) {
        if !json { print("Importing task \(taskID) as \(key).") }
    }
}

extension ImportFailure {
    /// The failure in words, with what to do about it.
    func worded(_ operation: Import, file: String) -> String {
        let (key, task) = (operation.key, operation.taskID)
        switch self {
        case .plan(let error): return error.located
        case .workspace(.manifest(let problem)): return problem.description
        case .workspace(.invalid): return "\(file) cannot be read again; nothing was changed"
        case .noShot(let shot): return "no shot `\(shot)` in \(file)"
        case .noTake(let shot, let take, let takes):
            return "`\(shot)` has no take `\(take)`: its takes are \(takes.joined(separator: ", "))"
        case .taskUnknown:
            return "the API does not know task \(task): check the id in your Kling dashboard. Nothing was changed."
        case .cannotAsk(let detail): return "cannot ask for task \(task): \(detail). Nothing was changed."
        case .noEcho:
            return "the API does not echo task \(task)'s request, so it cannot be checked; --force imports it unchecked"
        case .notThisShot(let differences):
            let words = differences.map { difference in
                switch difference {
                case .type(let found, let expected): "type `\(found ?? "none")`, not `\(expected)`"
                case .prompt(let found): "another prompt (`\(Printable.short(found, limit: 60))`)"
                }
            }
            return "task \(task) is not a render of \(key): it has \(words.joined(separator: " and ")). "
                + "Pick the right task, or --force to import it anyway. Nothing was changed."
        case .otherEndpoint(let state, let recorded, let current):
            return "tasks in \(state) were recorded against \(Printable.short(recorded, limit: 120)), "
                + "and this import uses \(current). Check which of the two is your Kling API; nothing was changed"
        case .declined: return "\(key) was not replaced; nothing was changed"
        case .manifestUnwritable(let detail): return "cannot write the manifest: \(detail). Nothing was changed."
        case .cannotResume: return "\(key) cannot resume task \(task)"
        }
    }
}
