import Foundation
import KlingRenderCore

/// Assembling the cut: one `CutStep` after every clip's render and download that the run does,
/// with a row of its own in the live table and an entry of its own in the report.
package struct CutKind: StepKind {
    /// The cut's row in the table: no shot or take key can be this.
    package static let row = "[cut]"

    package func contribute(to graph: inout StepGraph, from engine: Engine) {
        guard let planned = engine.plan.cut, planned.action == .assemble, let cut = engine.project.cut else { return }
        let waits = planned.clips.flatMap { graph.steps[$0] ?? [] }
        let step = CutStep(cut: cut, project: engine.project, planned: planned, context: engine.context)
        graph.named["cut"] = graph.add(step, for: planned.path, after: waits, cost: 1)
    }

    package func rows(for plan: Plan) -> [String] { plan.cut?.action == .assemble ? [Self.row] : [] }

    package func entries(of run: FinishedRun) -> [ApplyReport.Entry] {
        guard let node = run.graph.named["cut"], let planned = run.plan.cut else { return [] }
        let outcome = run.outcome(of: node)
        let made = (outcome == .done ? run.manifest.cut : nil).map {
            "\(Cut.seconds($0.seconds)) s, \($0.file.bytes.formatted(.byteCount(style: .file)))"
        }
        return [
            ApplyReport.Entry(title: "Cut", path: planned.path, outcome: outcome, made: made, notMade: "not assembled")
        ]
    }
}

/// What the cut's assembly reports: its start, its progress (for the live table), its end.
package enum CutEvent: KindEvent, Equatable {
    /// The cut starts: its clips, the film's length, its segments and how many of them are
    /// encoded now (the others are kept from an earlier assembly).
    case started(path: String, clips: Int, seconds: Double, segments: Int, encoding: Int)
    /// Seconds of the film written so far (about one event per second of film).
    case progress(path: String, seconds: Double, of: Double)
    case assembled(path: String, bytes: Int64, seconds: Double)
    case failed(path: String, reason: Reason)

    package var name: String {
        switch self {
        case .started: "cut_started"
        case .progress: "cut_progress"
        case .assembled: "cut_assembled"
        case .failed: "cut_failed"
        }
    }

    package var shot: String? { nil }
    package var row: String? { CutKind.row }

    package var isMilestone: Bool {
        if case .progress = self { return false }
        return true
    }

    package func fields(_ words: ReasonWords) -> [String: JSONValue]? {
        switch self {
        case .started(let path, let clips, let seconds, let segments, let encoding):
            [
                "file": .string(path), "clips": .int(clips), "seconds": .double(seconds), "segments": .int(segments),
                "encode": .int(encoding),
            ]
        case .progress(let path, let seconds, let total):
            ["file": .string(path), "seconds": .double(seconds), "of": .double(total)]
        case .assembled(let path, let bytes, let seconds):
            ["file": .string(path), "bytes": .int(Int(bytes)), "seconds": .double(seconds)]
        case .failed(let path, let reason): ["file": .string(path), "reason": .string(words(reason))]
        }
    }

    package func line(_ words: ReasonWords) -> String? {
        switch self {
        case .started(let path, let clips, let seconds, let segments, let encoding):
            "assembling \(path): \(clips) clip\(clips == 1 ? "" : "s"), \(Cut.seconds((seconds * 10).rounded() / 10)) s; "
                + "\(encoding) of \(segments) segment\(segments == 1 ? "" : "s") to encode"
        case .progress: nil
        case .assembled(let path, let bytes, let seconds):
            "assembled \(path) (\(Cut.seconds(seconds)) s, \(bytes.formatted(.byteCount(style: .file))))"
        case .failed(_, let reason): "failed: \(words(reason))"
        }
    }

    package func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant) {
        switch self {
        case .started(let path, _, let seconds, _, _):
            row.state = .assembling
            row.detail = "\(path)  \(Self.bar(0, of: seconds))"
            row.started = now
        case .progress(let path, let seconds, let total): row.detail = "\(path)  \(Self.bar(seconds, of: total))"
        case .assembled(let path, let bytes, let seconds):
            row.end(.done, "\(path) (\(Cut.seconds(seconds)) s, \(bytes.formatted(.byteCount(style: .file))))", at: now)
        case .failed(_, let reason): row.end(.failed, words(reason), at: now)
        }
    }

    /// `[#######.............]  7.5 of 21.5 s`
    static func bar(_ done: Double, of total: Double) -> String {
        let fraction = total > 0 ? min(1, max(0, done / total)) : 0
        let filled = Int((fraction * 20).rounded())
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled) + "]  "
            + String(format: "%.1f of %.1f s", done, total)
    }
}
