import Foundation
import KlingRenderCore

/// An event of one kind of step. The kind's own file says what the event is called in `--json`
/// and which fields it carries there, its line in a log, and how it changes its row of the live
/// table; the views only ask. Reasons are worded by the view's `ReasonWords`, never here.
package protocol KindEvent: Sendable {
    /// The `event` field of `--json`.
    var name: String { get }
    /// The shot or take it is about (`--json`'s `shot`), if any.
    var shot: String? { get }
    /// The row of the live table it changes: its shot's, a kind's own, or none.
    var row: String? { get }
    /// Its own fields in `--json`, beside `event`, `time` and `shot`; nil when it is not a JSON line.
    func fields(_ words: ReasonWords) -> [String: JSONValue]?
    /// Its line in a log; nil for one too frequent to log.
    func line(_ words: ReasonWords) -> String?
    /// What it changes in its row of the live table.
    func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant)
    /// Worth a redraw of the live table however recent the last one.
    var isMilestone: Bool { get }
    func isEqual(to other: any KindEvent) -> Bool
}

extension KindEvent {
    package var row: String? { shot }
    package func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant) {}
    package var isMilestone: Bool { true }
}

extension KindEvent where Self: Equatable {
    package func isEqual(to other: any KindEvent) -> Bool { (other as? Self) == self }
}

/// What the executor reports while it works: an event of one of the kinds. It never prints: the
/// CLI turns these into a live view, log lines or JSON lines.
package struct ExecutionEvent: Sendable, Equatable {
    package let kind: any KindEvent

    package init(_ kind: any KindEvent) { self.kind = kind }

    package static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind.isEqual(to: rhs.kind) }

    package var shot: String? { kind.shot }
    package var name: String { kind.name }
}

/// Words a reason for a person: the view's vocabulary, given the shot it is about (for the
/// command that fixes it). Kinds word their own events and leave reasons to this.
package struct ReasonWords: Sendable {
    private let word: @Sendable (Reason, String?) -> String

    package init(_ word: @escaping @Sendable (Reason, String?) -> String) { self.word = word }

    package func callAsFunction(_ reason: Reason, shot: String? = nil) -> String { word(reason, shot) }
}

/// Where a row of the live table stands: its word on screen (the view picks its colour).
package enum RowState: String, Sendable {
    case waiting, unchanged, submitting, rendering, rendered, downloading, done, failed, blocked, uncertain
    case inFlight = "in flight"
    case assembling
}

/// One row of the live table, as the events of its shot or kind leave it.
package struct TableRow: Sendable {
    package var state = RowState.waiting
    package var detail = ""
    package var started: ContinuousClock.Instant?
    package var ended: ContinuousClock.Instant?
    package var credits: Int?
    /// When the current transfer started, and from which byte: for its rate.
    package var transfer: (ContinuousClock.Instant, Int64)?

    package init() {}

    /// Ends the row in `state` with `detail`.
    package mutating func end(_ state: RowState, _ detail: String, at now: ContinuousClock.Instant) {
        self.state = state
        self.detail = detail
        ended = now
    }
}
