import Foundation
import KlingRenderCore

/// Events of the run and of shots as a whole, which any kind of step (or the engine) may emit.
package enum RunEvent: KindEvent, Equatable {
    /// Nothing to do for the shot: its render is current.
    case unchanged(shot: String)
    /// Not started: an upstream shot has no output.
    case blocked(shot: String, by: String)
    case failed(shot: String, reason: Reason)
    /// The request went out and its answer was lost.
    case uncertain(shot: String, reason: Reason)
    /// The run stops submitting: 401, 402, `--fail-fast`, or an interrupt.
    case stopping(reason: Reason)
    case warning(String)

    package var name: String {
        switch self {
        case .unchanged: "unchanged"
        case .blocked: "blocked"
        case .failed: "failed"
        case .uncertain: "uncertain"
        case .stopping: "stopping"
        case .warning: "warning"
        }
    }

    package var shot: String? {
        switch self {
        case .unchanged(let shot), .blocked(let shot, _), .failed(let shot, _), .uncertain(let shot, _): shot
        case .stopping, .warning: nil
        }
    }

    package func fields(_ words: ReasonWords) -> [String: JSONValue]? {
        switch self {
        case .unchanged: [:]
        case .blocked(_, let by): ["by": .string(by)]
        case .failed(let shot, let reason), .uncertain(let shot, let reason):
            ["reason": .string(words(reason, shot: shot))]
        case .stopping(let reason): ["reason": .string(words(reason))]
        case .warning(let text): ["message": .string(text)]
        }
    }

    package func line(_ words: ReasonWords) -> String? {
        switch self {
        case .unchanged: nil
        case .blocked(_, let by): "blocked: waits on \(by)"
        case .failed(let shot, let reason): "failed: \(words(reason, shot: shot))"
        case .uncertain(let shot, let reason): "uncertain: \(words(reason, shot: shot))"
        case .stopping(let reason): "stopping: \(words(reason))"
        case .warning(let text): "warning: \(text)"
        }
    }

    package func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant) {
        switch self {
        case .unchanged: row.state = .unchanged
        case .blocked(_, let by):
            row.state = .blocked
            row.detail = "waits on \(by)"
        case .failed(let shot, let reason): row.end(.failed, words(reason, shot: shot), at: now)
        case .uncertain(let shot, let reason): row.end(.uncertain, words(reason, shot: shot), at: now)
        case .stopping, .warning: break
        }
    }
}
