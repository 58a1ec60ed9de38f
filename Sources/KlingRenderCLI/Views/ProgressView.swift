import Foundation
import KlingRenderCore
import KlingRenderExecution

/// Progress of a run: a live table per shot on a terminal, timestamped lines otherwise, or one
/// JSON object per event with `--json`.
final class ProgressView: @unchecked Sendable {
    private let terminal: Terminal
    private let json: Bool
    private let lock = NSLock()
    private let order: [String]
    private var rows: [String: TableRow] = [:]
    private var drawnLines = 0
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let width: Int

    /// Words for reasons: the summary's.
    private let words = ReasonWords { $0.worded(shot: $1) }

    init(terminal: Terminal, json: Bool, plan: Plan) {
        self.terminal = terminal
        self.json = json
        // By take (events name `sunrise.take2`), then the rows of kinds of their own (the cut's).
        order = plan.shots.map(\.key) + StepKinds.all.flatMap { $0.rows(for: plan) }
        width = order.map(\.count).max() ?? 4
        for key in order { rows[key] = TableRow() }
    }

    nonisolated(unsafe) private static let clock: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "HH:mm:ss"
        return formatter
    }()

    private var live: Bool { terminal.isInteractive && !json }

    func handle(_ event: ExecutionEvent) {
        lock.lock()
        defer { lock.unlock() }
        if json {
            emitJSON(event)
            return
        }
        let kind = event.kind
        if let id = kind.row {
            var row = rows[id] ?? TableRow()
            kind.change(&row, words, at: .now)
            rows[id] = row
        }
        if live {
            draw(force: kind.isMilestone)
        } else if let line = kind.line(words) {
            let stamp = Self.clock.string(from: Date())
            let id =
                kind.row.map { $0.padding(toLength: max(width, $0.count), withPad: " ", startingAt: 0) }
                ?? String(repeating: " ", count: width)
            print("\(stamp)  \(Printable.escaped(id))  \(Printable.escaped(line))")
            fflush(nil)
        }
    }

    /// A line outside the table (an interrupt, say).
    func note(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if live { clear() }
        Output.write(text + "\n", to: 2)
        drawnLines = 0
    }

    /// Redraws the live table once a second, so that elapsed times move between events.
    func tick() {
        lock.lock()
        defer { lock.unlock() }
        if live { draw(force: true) }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if live { draw(force: true) }
    }

    private func clear() {
        if drawnLines > 0 { print("\u{1B}[\(drawnLines)F\u{1B}[J", terminator: "") }
    }

    private func draw(force: Bool) {
        let now = ContinuousClock.now
        guard force || now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        var lines: [String] = []
        let shown =
            order.count <= 30
            ? order : order.filter { ![RowState.waiting, .done, .unchanged].contains(rows[$0]?.state ?? .waiting) }
        for id in shown.prefix(40) {
            guard let row = rows[id] else { continue }
            let elapsed = row.started.map { "\(Int(((row.ended ?? now) - $0).components.seconds))s" } ?? ""
            let credits = row.credits.map { "\($0.formatted) cr" } ?? ""
            var text =
                "  \(id.padding(toLength: width, withPad: " ", startingAt: 0))  \(row.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))  \(elapsed.leftPadded(6))  \(credits.leftPadded(9))  \(Printable.escaped(row.detail))"
            if text.count > 150 { text = String(text.prefix(149)) + "…" }
            lines.append(terminal.paint(text, row.state.style))
        }
        let counts = Dictionary(grouping: order, by: { rows[$0]?.state ?? .waiting }).mapValues(\.count)
        lines.append(
            [RowState.done, .rendering, .waiting, .failed, .blocked].compactMap { key in
                counts[key].map { "\($0) \(key.rawValue)" }
            }.joined(separator: ", "))
        clear()
        print(lines.joined(separator: "\n"))
        fflush(nil)
        drawnLines = lines.count
    }

    private func emitJSON(_ event: ExecutionEvent) {
        // Progress is for eyes on the live table; the JSON lines stay as they were.
        guard let object = event.jsonObject(at: Date(), words: words),
            var data = try? CanonicalJSON.data(object)
        else { return }
        data.append(0x0A)
        Output.write(data)
    }
}
