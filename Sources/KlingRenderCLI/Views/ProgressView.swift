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
    private var rows: [String: Row] = [:]
    private var drawnLines = 0
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let width: Int

    private struct Row {
        var state = RowState.waiting
        var detail = ""
        var started: ContinuousClock.Instant?
        var ended: ContinuousClock.Instant?
        var credits: Int?
        /// When the current download started, and from which byte: for its rate.
        var transfer: (ContinuousClock.Instant, Int64)?
    }

    /// `renders/a.mp4  412 MB of 1.1 GB, 38 MB/s`: shown for files over 8 MB, where a wait is felt.
    static func transferDetail(
        _ file: String, bytes: Int64, total: Int64?, since start: (ContinuousClock.Instant, Int64)?,
        now: ContinuousClock.Instant
    ) -> String {
        guard (total ?? bytes) > 8 << 20 else { return file }
        let style = ByteCountFormatStyle(style: .file)
        var text = "\(file)  \(bytes.formatted(style))" + (total.map { " of \($0.formatted(style))" } ?? "")
        if let (started, from) = start {
            let elapsed = now - started
            let seconds = elapsed.inSeconds
            if seconds > 0.5 { text += ", \(Int64(Double(bytes - from) / seconds).formatted(style))/s" }
        }
        return text
    }

    /// The cut's row in the table: no shot or take key can be this.
    static let cutRow = "[cut]"

    init(terminal: Terminal, json: Bool, shots: [Plan.PlannedShot], cut: PlannedCut? = nil) {
        self.terminal = terminal
        self.json = json
        // By take: events name `sunrise.take2`.
        let assembles = cut?.action == .assemble
        order = shots.map(\.key) + (assembles ? [Self.cutRow] : [])
        width = max(shots.map(\.key.count).max() ?? 4, assembles ? Self.cutRow.count : 0)
        for key in order { rows[key] = Row() }
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
        if let id = event.shot ?? (event.isCut ? Self.cutRow : nil) { update(id, event) }
        if live {
            draw(force: event.isMilestone)
        } else if let line = EventLines.line(event) {
            let stamp = Self.clock.string(from: Date())
            let id =
                (event.shot ?? (event.isCut ? Self.cutRow : nil)).map {
                    $0.padding(toLength: max(width, $0.count), withPad: " ", startingAt: 0)
                }
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

    private func update(_ id: String, _ event: ExecutionEvent) {
        var row = rows[id] ?? Row()
        let now = ContinuousClock.now
        switch event {
        case .unchanged: row.state = .unchanged
        case .submitting:
            row.state = .submitting
            row.started = row.started ?? now
        case .submitted(_, let task, let credits):
            row.state = .rendering
            row.detail = task
            row.credits = credits
        case .retrying(_, let reason, let seconds): row.detail = "retry in \(Int(seconds.rounded()))s: \(reason)"
        case .polled(_, let task, let status, _):
            row.state = .rendering
            row.detail = "\(task) \(status)"
            row.started = row.started ?? now
        case .unknownStatus(_, let status): row.detail = "unknown status \(status)"
        case .rendered(_, _, let credits):
            row.state = .rendered
            row.credits = credits ?? row.credits
        case .downloading(_, let file, let at):
            row.state = .downloading
            row.detail = file
            row.transfer = (now, at)
        case .downloadProgress(_, let file, let bytes, let total):
            row.detail = Self.transferDetail(file, bytes: bytes, total: total, since: row.transfer, now: now)
        case .downloaded(_, let file):
            row.state = .done
            row.detail = file.path
            row.ended = now
        case .failed(let shot, let reason):
            row.state = .failed
            row.detail = reason.worded(shot: shot)
            row.ended = now
        case .blocked(_, let by):
            row.state = .blocked
            row.detail = "waits on \(by)"
        case .uncertain(let shot, let reason):
            row.state = .uncertain
            row.detail = reason.worded(shot: shot)
            row.ended = now
        case .timedOut(_, let task):
            row.state = .inFlight
            row.detail = "\(task): the next apply resumes it"
            row.ended = now
        case .unanswered(let shot, let task, let reason):
            row.state = .inFlight
            row.detail = "\(task): \(reason.worded(shot: shot))"
            row.ended = now
        case .frameExtracted(_, let path): row.detail = "frame \(path)"
        case .outputHosted(_, let upstream, _): row.detail = "hosting \(upstream)'s video"
        case .cutStarted, .cutProgress, .cutAssembled, .cutFailed: Self.updateCut(&row, event, now: now)
        case .stopping, .warning, .assetUploading, .assetStored, .assetFailed: break
        }
        rows[id] = row
    }

    /// The cut's row: assembling with a bar, then done or failed.
    private static func updateCut(_ row: inout Row, _ event: ExecutionEvent, now: ContinuousClock.Instant) {
        switch event {
        case .cutStarted(let path, _, let seconds):
            row.state = .assembling
            row.detail = "\(path)  \(Self.bar(0, of: seconds))"
            row.started = now
        case .cutProgress(let path, let seconds, let total): row.detail = "\(path)  \(Self.bar(seconds, of: total))"
        case .cutAssembled(let path, let bytes, let seconds):
            row.state = .done
            row.detail = "\(path) (\(Cut.seconds(seconds)) s, \(bytes.formatted(.byteCount(style: .file))))"
            row.ended = now
        case .cutFailed(_, let reason):
            row.state = .failed
            row.detail = reason.worded()
            row.ended = now
        default: break
        }
    }

    /// `[#######.............]  7.5 of 21.5 s`
    static func bar(_ done: Double, of total: Double) -> String {
        let fraction = total > 0 ? min(1, max(0, done / total)) : 0
        let filled = Int((fraction * 20).rounded())
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled) + "]  "
            + String(format: "%.1f of %.1f s", done, total)
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
        guard let object = event.jsonObject(at: Date(), words: { $0.worded(shot: $1) }),
            var data = try? CanonicalJSON.data(object)
        else { return }
        data.append(0x0A)
        Output.write(data)
    }
}
