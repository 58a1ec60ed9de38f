import Foundation
import KlingAPI
import KlingRenderCore

/// Rendering a shot: its `RenderStep` (submit, or resume, then poll) after its upstream shots and
/// the hosting of its inputs, and the `DownloadStep` of its videos after it.
package struct RenderKind: StepKind {
    package func contribute(to graph: inout StepGraph, from engine: Engine) {
        let context = engine.context
        let hosts = StepKinds.inputs.map { $0.init(engine: engine) }
        for planned in engine.plan.shots where planned.action.submits || planned.action == .resume {
            guard let shot = engine.shots[planned.id] else { continue }
            let step = RenderStep(planned: planned, shot: shot, context: context)
            // A task in flight is polled at once, whatever its upstream shots do: it is paid for.
            // One to look up by its external id may be sent again: it waits as a submission does.
            var waits: [Int] = []
            if planned.action != .resume || planned.taskID == nil {
                waits = shot.upstreamIDs.compactMap { graph.render[context.outputKey($0)] }
                for (_, input) in shot.mediaInputs {
                    for host in hosts {
                        guard let node = host.node(for: input, in: &graph) else { continue }
                        waits.append(node)
                        break
                    }
                }
            }
            let render = graph.add(step, ofShot: planned.key, after: waits, cost: step.expectedSeconds)
            graph.render[planned.key] = render
            graph.download[planned.key] = graph.add(
                DownloadStep(id: planned.key, context: context), ofShot: planned.key, after: [render], cost: 0)
        }
    }
}

/// What a render reports: its request, its task's status, its end.
package enum RenderEvent: KindEvent, Equatable {
    /// The intent to submit is on disk; the request goes out next.
    case submitting(shot: String)
    /// The task id is on disk.
    case submitted(shot: String, taskID: String, credits: Int?)
    /// A request will be sent again after `seconds`, and why.
    case retrying(shot: String, reason: String, seconds: Double)
    /// A task's status was asked; `status` is the API's word.
    case polled(shot: String, taskID: String, status: String, phase: TaskPhase)
    /// A status word this client does not know (reported once per word, polled on).
    case unknownStatus(shot: String, status: String)
    /// The render is done: its URLs are known, dependents may start.
    case rendered(shot: String, urls: [String], credits: Int?)
    /// The local time-out passed: the task stays in flight for the next apply.
    case timedOut(shot: String, taskID: String)
    /// Polling stopped: the answers could not be used. The task stays in flight.
    case unanswered(shot: String, taskID: String, reason: Reason)
    /// An upstream output's URL is dead or too old: its local file is hosted instead.
    case outputHosted(shot: String, upstream: String, why: String)

    package var name: String {
        switch self {
        case .submitting: "submitting"
        case .submitted: "submitted"
        case .retrying: "retrying"
        case .polled: "polled"
        case .unknownStatus: "unknown_status"
        case .rendered: "rendered"
        case .timedOut: "timed_out"
        case .unanswered: "unknown"
        case .outputHosted: "output_hosted"
        }
    }

    package var shot: String? {
        switch self {
        case .submitting(let s), .submitted(let s, _, _), .retrying(let s, _, _), .polled(let s, _, _, _),
            .unknownStatus(let s, _), .rendered(let s, _, _), .timedOut(let s, _), .unanswered(let s, _, _),
            .outputHosted(let s, _, _):
            s
        }
    }

    package var isMilestone: Bool {
        switch self {
        case .polled, .retrying: false
        default: true
        }
    }

    package func fields(_ words: ReasonWords) -> [String: JSONValue]? {
        switch self {
        case .submitting: [:]
        case .submitted(_, let task, let credits): ["task_id": .string(task)].merging(credits: credits)
        case .retrying(_, let reason, let seconds): ["reason": .string(reason), "seconds": .double(seconds)]
        case .polled(_, let task, let status, let phase):
            ["task_id": .string(task), "status": .string(status), "phase": .string(phase.rawValue)]
        case .unknownStatus(_, let status): ["status": .string(status)]
        case .rendered(_, let urls, let credits): ["urls": .array(urls.map(JSONValue.string))].merging(credits: credits)
        case .timedOut(_, let task): ["task_id": .string(task)]
        case .unanswered(let shot, let task, let reason):
            ["task_id": .string(task), "reason": .string(words(reason, shot: shot))]
        case .outputHosted(_, let upstream, let why): ["upstream": .string(upstream), "reason": .string(why)]
        }
    }

    package func line(_ words: ReasonWords) -> String? {
        switch self {
        case .submitting: "submitting"
        case .submitted(_, let task, let credits):
            "submitted: task \(task)" + (credits.map { ", \($0.formatted) credits" } ?? "")
        case .retrying(_, let reason, let seconds): "retrying in \(String(format: "%.1f", seconds)) s: \(reason)"
        case .polled: nil
        case .unknownStatus(_, let status): "warning: unknown task status `\(status)`; polling on"
        case .rendered(_, let urls, _): "rendered: \(urls.count) video\(urls.count == 1 ? "" : "s")"
        case .timedOut(_, let task): "timed out: task \(task) stays in flight; the next apply resumes it"
        case .unanswered(let shot, let task, let reason): "unknown: task \(task): \(words(reason, shot: shot))"
        case .outputHosted(_, let upstream, let why): "\(upstream)'s video is hosted from its file: \(why)"
        }
    }

    package func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant) {
        switch self {
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
        case .timedOut(_, let task): row.end(.inFlight, "\(task): the next apply resumes it", at: now)
        case .unanswered(let shot, let task, let reason):
            row.end(.inFlight, "\(task): \(words(reason, shot: shot))", at: now)
        case .outputHosted(_, let upstream, _): row.detail = "hosting \(upstream)'s video"
        }
    }
}

extension [String: JSONValue] {
    /// With `credits` when the API said them.
    fileprivate func merging(credits: Int?) -> Self {
        guard let credits else { return self }
        return merging(["credits": .int(credits)]) { _, new in new }
    }
}
