import Foundation
import KlingRenderCore

/// `apply --json`: one object per event, one per line. The format is held by a golden test
/// (`Tests/Golden/events.jsonl`) and documented in the README.
extension ExecutionEvent {
    /// The event as one JSON object of `apply --json`: `event`, `time`, `shot` when it has one,
    /// and its kind's own fields; nil for an event that is for the live table only.
    package func jsonObject(at time: Date, words: ReasonWords) -> [String: JSONValue]? {
        guard var object = kind.fields(words) else { return nil }
        object["event"] = .string(kind.name)
        object["time"] = .string(time.formatted(.iso8601))
        if let shot = kind.shot { object["shot"] = .string(shot) }
        return object
    }
}
