import Foundation
import KlingRenderCore

/// Assembling the cut: one `CutStep` after every clip's render and download that the run does,
/// with a row of its own in the live table and an entry of its own in the report.
package struct CutKind: StepKind {
    /// The cut's row in the table: no shot or take key can be this.
    package static let row = "[cut]"

    package func contribute(to graph: inout StepGraph, from engine: Engine) {
        guard let planned = engine.plan.cut, planned.action == .assemble, let cut = engine.project.cut else { return }
        let work = CutWork(cut: cut, project: engine.project, planned: planned, context: engine.context)
        let clips = planned.clips.map { graph.steps[$0] ?? [] }
        // Without a size and rate of its own, the film takes the first clip's: every segment reads it.
        let first = cut.size == nil || cut.fps == nil ? clips.first ?? [] : []
        var nodes: [Int] = []
        // The film's sound first: the join waits for it, and it is the longest piece of work.
        let seconds = cut.clips.reduce(0) { $0 + ($1.outPoint ?? 10) - $1.inPoint }
        nodes.append(graph.add(SoundStep(work: work), for: planned.path, after: clips.flatMap { $0 }, cost: seconds))
        for slot in SegmentSlot.all(cut) {
            let waits = Set(first + slot.clips.flatMap { clips[$0] }).sorted()
            let length = slot.clips.count == 1 ? (cut.clips[slot.clips[0]].outPoint ?? 10) : 1
            nodes.append(graph.add(SegmentStep(slot: slot, work: work), for: planned.path, after: waits, cost: length))
        }
        let join = graph.add(CutStep(work: work), for: planned.path, after: nodes, cost: 1)
        graph.named["cut"] = join
        graph.steps[Self.row] = nodes + [join]
    }

    package func rows(for plan: Plan) -> [String] { plan.cut?.action == .assemble ? [Self.row] : [] }

    package func entries(of run: FinishedRun) -> [ApplyReport.Entry] {
        guard run.graph.named["cut"] != nil, let planned = run.plan.cut else { return [] }
        // The first of its steps that did not succeed says what became of the cut.
        let outcome = run.outcome(ofShot: Self.row)
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
    /// The cut's first step starts: its clips and its segments.
    case started(path: String, clips: Int, segments: Int)
    /// Segments on disk so far (kept or encoded), of the film's.
    case progress(path: String, segments: Int, of: Int)
    /// The film is in place: its size and length, and how many of its segments were encoded
    /// now (the others were kept from an earlier assembly).
    case assembled(path: String, bytes: Int64, seconds: Double, encoded: Int, segments: Int)
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
        case .started(let path, let clips, let segments):
            ["file": .string(path), "clips": .int(clips), "segments": .int(segments)]
        case .progress(let path, let segments, let total):
            ["file": .string(path), "segments": .int(segments), "of": .int(total)]
        case .assembled(let path, let bytes, let seconds, let encoded, let segments):
            [
                "file": .string(path), "bytes": .int(Int(bytes)), "seconds": .double(seconds),
                "encoded": .int(encoded), "segments": .int(segments),
            ]
        case .failed(let path, let reason): ["file": .string(path), "reason": .string(words(reason))]
        }
    }

    package func line(_ words: ReasonWords) -> String? {
        switch self {
        case .started(let path, let clips, let segments):
            "assembling \(path): \(clips) clip\(clips == 1 ? "" : "s"), \(segments) segment\(segments == 1 ? "" : "s")"
        case .progress: nil
        case .assembled(let path, let bytes, let seconds, let encoded, let segments):
            "assembled \(path) (\(Cut.seconds(seconds)) s, \(bytes.formatted(.byteCount(style: .file)))); "
                + "\(encoded) of \(segments) segment\(segments == 1 ? "" : "s") encoded"
        case .failed(_, let reason): "failed: \(words(reason))"
        }
    }

    package func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant) {
        switch self {
        case .started(let path, _, let segments):
            row.state = .assembling
            row.detail = "\(path)  \(Self.bar(0, of: segments))"
            row.started = now
        case .progress(let path, let done, let total): row.detail = "\(path)  \(Self.bar(done, of: total))"
        case .assembled(let path, let bytes, let seconds, _, _):
            row.end(.done, "\(path) (\(Cut.seconds(seconds)) s, \(bytes.formatted(.byteCount(style: .file))))", at: now)
        case .failed(_, let reason): row.end(.failed, words(reason), at: now)
        }
    }

    /// `[#######.............]  7 of 20 segments`
    static func bar(_ done: Int, of total: Int) -> String {
        let fraction = total > 0 ? min(1, max(0, Double(done) / Double(total))) : 0
        let filled = Int((fraction * 20).rounded())
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled) + "]  "
            + "\(done) of \(total) segment\(total == 1 ? "" : "s")"
    }
}
