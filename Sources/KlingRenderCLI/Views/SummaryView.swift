import Foundation
import KlingRenderCore
import KlingRenderExecution

/// The end of an apply: what rendered, what failed and why, what is blocked or uncertain, the
/// credits estimated against those consumed, and the files written.
struct SummaryView {
    var terminal: Terminal
    var json: Bool

    func render(_ report: ApplyReport, plan: Plan, workspace: Workspace) -> String {
        let manifest = workspace.paths.display(workspace.paths.manifest, beside: workspace.project.file)
        if json { return renderJSON(report, manifest: manifest) }
        var counts: [String: Int] = [:]
        var problems: [String] = []
        for (rawID, outcome) in report.outcomes {
            let id = Printable.escaped(rawID)
            let e = Printable.escaped
            switch outcome {
            case .unchanged: counts["unchanged", default: 0] += 1
            case .done: counts["rendered", default: 0] += 1
            case .failed(let reason):
                counts["failed", default: 0] += 1
                problems.append(terminal.paint("  failed     \(id): \(e(reason))", .red))
            case .blocked(let by):
                counts["blocked", default: 0] += 1
                problems.append(terminal.paint("  blocked    \(id): waits on \(e(by))", .yellow))
            case .uncertain(let reason):
                counts["uncertain", default: 0] += 1
                problems.append(terminal.paint("  uncertain  \(id): \(e(reason))", .red))
            case .inFlight(let task):
                counts["in flight", default: 0] += 1
                problems.append(
                    terminal.paint(
                        "  in flight  \(id): task \(e(task)); `kling-render apply` again resumes it", .yellow))
            case .unanswered(let task, let reason):
                counts["in flight", default: 0] += 1
                problems.append(
                    terminal.paint(
                        "  unknown    \(id): task \(e(task)): \(e(reason)); it stays in flight, `kling-render apply` polls it again",
                        .red))
            case .downloadFailed(let reason):
                counts["not downloaded", default: 0] += 1
                problems.append(terminal.paint("  download   \(id): \(e(reason))", .red))
            case .notStarted(let reason):
                counts["not started", default: 0] += 1
                problems.append(terminal.paint("  not started \(id): \(e(reason))", .dim))
            }
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
        if let reason = report.stopReason { out += "Stopped: \(Printable.escaped(reason)).\n" }
        out += problems.map { $0 + "\n" }.joined()
        out +=
            "Credits: \(report.estimatedCredits.formatted) estimated, \(report.consumedCredits.formatted) consumed.\n"
        if !report.files.isEmpty {
            let bytes = report.files.reduce(Int64(0)) { $0 + $1.bytes }
            out +=
                "Files: \(report.files.count) written (\(bytes.formatted(.byteCount(style: .file)))), under \(workspace.paths.output.lastPathComponent)/.\n"
        }
        out += "Manifest: \(Printable.escaped(manifest))\n"
        if !report.succeeded, report.outcomes.contains(where: \.outcome.isInFlight) {
            out +=
                "Run `kling-render apply \(workspace.project.file)\(plan.simulated ? " --simulate" : "")` to resume.\n"
        }
        return out
    }

    private func renderJSON(_ report: ApplyReport, manifest: String) -> String {
        var shots: [JSONValue] = []
        for (id, outcome) in report.outcomes {
            var object: [String: JSONValue] = ["id": .string(id)]
            switch outcome {
            case .unchanged: object["outcome"] = .string("unchanged")
            case .done: object["outcome"] = .string("rendered")
            case .failed(let r):
                object["outcome"] = .string("failed")
                object["reason"] = .string(r)
            case .blocked(let by):
                object["outcome"] = .string("blocked")
                object["by"] = .string(by)
            case .uncertain(let r):
                object["outcome"] = .string("uncertain")
                object["reason"] = .string(r)
            case .inFlight(let t):
                object["outcome"] = .string("in_flight")
                object["task_id"] = .string(t)
            case .unanswered(let t, let r):
                object["outcome"] = .string("unknown")
                object["task_id"] = .string(t)
                object["reason"] = .string(r)
            case .downloadFailed(let r):
                object["outcome"] = .string("download_failed")
                object["reason"] = .string(r)
            case .notStarted(let r):
                object["outcome"] = .string("not_started")
                object["reason"] = .string(r)
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
        if let reason = report.stopReason { summary["stopped"] = .string(reason) }
        let data = (try? CanonicalJSON.data(summary)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension ShotOutcome {
    var isInFlight: Bool {
        switch self {
        case .inFlight, .unanswered: true
        default: false
        }
    }
}
