import Foundation
import KlingRenderCore

/// The plan for a person: one aligned row per shot, reasons under the rows that change, a total.
struct PlanView {
    var terminal: Terminal

    func render(_ plan: Plan) -> String {
        let e = Printable.escaped
        let diffs = DiffView(terminal: terminal)
        var out = "Plan for \(e(plan.project)) (\(e(plan.file)))\(plan.simulated ? ", simulated" : "")\n\n"
        let header = ["#", "shot", "type", "action", "secs", "credits", "inputs"]
        var rows: [[String]] = []
        let takes = Dictionary(plan.shots.map { ($0.id, 1) }, uniquingKeysWith: +)
        for (n, shot) in plan.shots.enumerated() {
            let inputs = shot.dependsOn.map {
                let from = Take.label($0.id, $0.take)
                return switch $0.kind {
                case .after: "after \(from)"
                case .video: "\($0.field ?? "video") ← \(from)"
                case .frame: "\($0.field ?? "image") ← \(from) frame"
                }
            }
            let name = shot.label + (shot.picked && takes[shot.id, default: 1] > 1 ? " (pick)" : "")
            rows.append(
                [
                    "\(n + 1)", name, shot.type, shot.action.rawValue, shot.seconds.map(String.init) ?? "auto",
                    shot.credits.formatted, inputs.joined(separator: ", "),
                ].map(e))
        }
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        let rightAligned: Set<Int> = [0, 4, 5]
        func line(_ cells: [String]) -> String {
            cells.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - cells[c].count)
                return rightAligned.contains(c) ? pad + cells[c] : (c == cells.count - 1 ? cells[c] : cells[c] + pad)
            }.joined(separator: "  ")
        }
        out += "  " + terminal.paint(line(header), .bold) + "\n"
        for (shot, row) in zip(plan.shots, rows) {
            var text = ("  " + line(row)).trimmingTrailingSpaces()
            if let style = style(shot.action) { text = terminal.paint(text, style) }
            out += text + "\n"
            for change in shot.changes { out += diffs.render(change) }
            for reason in shot.reasons where !shot.changes.contains(where: { reason == "\($0.field) changed" }) {
                out += "      \(Printable.short(reason, limit: 300))\n"
            }
        }
        if let cut = plan.cut { out += self.cut(cut) }
        for removed in plan.removed {
            out +=
                terminal.paint(
                    "  - \(e(removed.id)) (\(e(removed.type))) is no longer in the file; its files are left alone", .dim
                )
                + "\n"
        }
        out += "\n" + terminal.paint(plan.summary, .bold) + "\n"
        if let assets = Self.assets(plan.assets) { out += assets + "\n" }
        if let budget = plan.budget {
            out +=
                "Budget: \(budget.formatted) credits; spent \(plan.spentCredits.formatted) to date\(plan.simulated ? " (rehearsal)" : "").\n"
        } else if plan.spentCredits > 0 {
            out += "Spent \(plan.spentCredits.formatted) credits to date\(plan.simulated ? " (rehearsal)" : "").\n"
        }
        if let cap = plan.maxCredits { out += "This run: at most \(cap.formatted) credits (--max-credits).\n" }
        return out
    }

    /// `  cut  assemble  renders/eagle.mp4  5 clips, 16 s`, with why under it when it assembles.
    private func cut(_ cut: PlannedCut) -> String {
        let e = Printable.escaped
        let clips = "\(cut.clips.count) clip\(cut.clips.count == 1 ? "" : "s")"
        let length = cut.seconds.map { ", \(Cut.seconds(($0 * 100).rounded() / 100)) s" } ?? ""
        var text = "  cut  \(cut.action.rawValue)  \(e(cut.path))  \(clips)\(length)"
        if cut.action == .assemble, let segments = cut.segments, let encode = cut.encode {
            text += "; \(encode) of \(segments) segment\(segments == 1 ? "" : "s") to encode"
        }
        var out = terminal.paint(text, cut.action == .assemble ? .green : .dim) + "\n"
        if cut.action == .assemble { for reason in cut.reasons { out += "      \(e(reason))\n" } }
        return out
    }

    /// "Assets: extract 2 frames, upload 5 assets, 12.4 MB."
    static func assets(_ work: AssetWork) -> String? {
        guard !work.isEmpty else { return nil }
        var parts: [String] = []
        if !work.frames.isEmpty {
            parts.append("extract \(work.frames.count) frame\(work.frames.count == 1 ? "" : "s")")
        }
        if !work.uploads.isEmpty {
            parts.append(
                "upload \(work.uploads.count) asset\(work.uploads.count == 1 ? "" : "s") "
                    + "(\(work.bytes.formatted(.byteCount(style: .file))))")
        }
        if !work.frames.isEmpty { parts.append("host \(work.frames.count == 1 ? "it" : "them") once extracted") }
        return "Assets: " + parts.joined(separator: ", ") + "."
    }

    private func style(_ action: Plan.Action) -> Terminal.Style? {
        switch action {
        case .render: .green
        case .rerender: .yellow
        case .resume, .download: .cyan
        case .uncertain: .red
        case .unchanged: .dim
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
