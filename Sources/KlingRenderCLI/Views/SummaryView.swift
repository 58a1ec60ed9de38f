import Foundation
import KlingRenderCore
import KlingRenderExecution

/// The end of an apply: what rendered, what failed and why, what is blocked or uncertain, the
/// credits estimated against those consumed, and the files written.
struct SummaryView {
    var terminal: Terminal
    var json: Bool

    func render(_ report: ApplyReport, plan: Plan, workspace: Workspace) -> String {
        let manifest = workspace.stateDisplay
        if json { return renderJSON(report, manifest: manifest) }
        var counts: [String: Int] = [:]
        var problems: [String] = []
        for result in report.shots {
            let (key, line, style) = Self.row(result)
            counts[key, default: 0] += 1
            if let line { problems.append(terminal.paint("  " + Printable.escaped(line), style)) }
        }
        let order = [
            "rendered", "unchanged", "failed", "blocked", "uncertain", "in flight", "not downloaded", "not started",
        ]
        let parts = order.compactMap { key in counts[key].map { "\($0) \(key)" } }
        var out =
            "\n"
            + terminal.paint(
                (report.succeeded ? "Apply complete: " : "Apply incomplete: ") + parts.joined(separator: ", ") + ".",
                .bold) + "\n"
        if let reason = report.stopReason { out += "Stopped: \(Printable.escaped(reason.worded())).\n" }
        out += report.entries.map(Self.entryLine).joined()
        out += problems.map { $0 + "\n" }.joined()
        out +=
            "Credits: \(report.estimatedCredits.formatted) estimated, \(report.consumedCredits.formatted) consumed.\n"
        if !report.files.isEmpty {
            let bytes = report.files.reduce(Int64(0)) { $0 + $1.bytes }
            out +=
                "Files: \(report.files.count) written (\(bytes.formatted(.byteCount(style: .file)))), under \(workspace.paths.output.lastPathComponent)/.\n"
        }
        out += "Manifest: \(Printable.escaped(manifest))\n"
        if !report.succeeded, report.shots.contains(where: \.outcome.isInFlight) {
            out +=
                "Run `kling-render apply \(workspace.project.file)\(plan.simulated ? " --simulate" : "")` to resume.\n"
        }
        return out
    }

    /// `Cut: renders/eagle.mp4 (21.5 s, 4.2 MB).`, or why it was not made.
    static func entryLine(_ entry: ApplyReport.Entry) -> String {
        let head = "\(entry.title): \(Printable.escaped(entry.path))"
        let why: String
        switch entry.outcome {
        case .done, .unchanged: return "\(head)\(entry.made.map { " (\(Printable.escaped($0)))" } ?? "").\n"
        case .failed(let reason): why = reason.worded()
        case .blocked(let by): why = "waits on \(by)"
        default: why = "the run stopped first"
        }
        return "\(head) \(entry.notMade): \(Printable.escaped(why)).\n"
    }

    /// A shot's count key, its problem line (nil when it did well), and the line's colour.
    static func row(_ result: ApplyReport.ShotResult) -> (String, String?, Terminal.Style) {
        let id = result.id
        switch result.outcome {
        case .unchanged: return ("unchanged", nil, .dim)
        case .done: return ("rendered", nil, .green)
        case .failed(let reason): return ("failed", "failed     \(id): \(reason.worded(shot: id))", .red)
        case .blocked(let by): return ("blocked", "blocked    \(id): waits on \(by)", .yellow)
        case .uncertain(let reason): return ("uncertain", "uncertain  \(id): \(reason.worded(shot: id))", .red)
        case .inFlight(let task, .unusableAnswers(let count, let last)):
            let reason = Reason.unusableAnswers(count: count, last: last).worded(shot: id)
            return ("in flight", "unknown    \(id): task \(task): \(reason)", .red)
        case .inFlight(let task, _):
            return ("in flight", "in flight  \(id): task \(task); `kling-render apply` again resumes it", .yellow)
        case .downloadFailed(let reason):
            return ("not downloaded", "download   \(id): \(reason.worded(shot: id))", .red)
        case .notStarted(let reason): return ("not started", "not started \(id): \(reason.worded(shot: id))", .dim)
        }
    }

    /// The same report as one JSON object, with the same words.
    private func renderJSON(_ report: ApplyReport, manifest: String) -> String {
        var shots: [JSONValue] = []
        for result in report.shots {
            var object: [String: JSONValue] = ["id": .string(result.id), "outcome": .string(result.outcome.name)]
            switch result.outcome {
            case .failed(let r), .uncertain(let r), .downloadFailed(let r), .notStarted(let r):
                object["reason"] = .string(r.worded(shot: result.id))
            case .blocked(let by): object["by"] = .string(by)
            case .inFlight(let task, let r):
                object["task_id"] = .string(task)
                object["reason"] = .string(r.worded(shot: result.id))
            case .unchanged, .done: break
            }
            shots.append(.object(object))
        }
        var summary: [String: JSONValue] = [
            "event": .string("summary"), "succeeded": .bool(report.succeeded), "shots": .array(shots),
            "estimated_credits": .int(report.estimatedCredits), "consumed_credits": .int(report.consumedCredits),
            "files": .array(
                report.files.map {
                    .object(["shot": .string($0.shot), "path": .string($0.path), "bytes": .int(Int($0.bytes))])
                }),
            "manifest": .string(manifest),
        ]
        if let reason = report.stopReason { summary["stopped"] = .string(reason.worded()) }
        let data = (try? CanonicalJSON.data(summary)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension ShotOutcome {
    /// The outcome's one word, in the summary's JSON.
    var name: String {
        switch self {
        case .unchanged: "unchanged"
        case .done: "rendered"
        case .failed: "failed"
        case .blocked: "blocked"
        case .uncertain: "uncertain"
        case .inFlight(_, .unusableAnswers): "unknown"
        case .inFlight: "in_flight"
        case .downloadFailed: "download_failed"
        case .notStarted: "not_started"
        }
    }
}
