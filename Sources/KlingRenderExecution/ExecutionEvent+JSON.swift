import Foundation
import KlingRenderCore

/// `apply --json`: one object per event, one per line. The format is held by a golden test
/// (`Tests/Golden/events.jsonl`) and documented in the README.
extension ExecutionEvent {
    /// The cut's events' fields.
    private static func cutFields(_ object: inout [String: JSONValue], _ event: ExecutionEvent) {
        switch event {
        case .cutStarted(let path, let clips, let seconds):
            object["file"] = .string(path)
            object["clips"] = .int(clips)
            object["seconds"] = .double(seconds)
        case .cutProgress(let path, let seconds, let total):
            object["file"] = .string(path)
            object["seconds"] = .double(seconds)
            object["of"] = .double(total)
        case .cutAssembled(let path, let bytes, let seconds):
            object["file"] = .string(path)
            object["bytes"] = .int(Int(bytes))
            object["seconds"] = .double(seconds)
        default: break
        }
    }

    /// The event as one JSON object of `apply --json`: `event`, `time`, `shot` when it has one,
    /// and its own fields; nil for `download_progress`, which is for the live table only.
    /// `words` words a reason for a person (the view's vocabulary), given the shot it is about.
    package func jsonObject(at time: Date, words: (Reason, String?) -> String) -> [String: JSONValue]? {
        let event = self
        if case .downloadProgress = event { return nil }
        var object: [String: JSONValue] = ["event": .string(event.name), "time": .string(time.formatted(.iso8601))]
        if let shot = event.shot { object["shot"] = .string(shot) }
        switch event {
        case .submitted(_, let task, let credits):
            object["task_id"] = .string(task)
            if let credits { object["credits"] = .int(credits) }
        case .retrying(_, let reason, let seconds):
            object["reason"] = .string(reason)
            object["seconds"] = .double(seconds)
        case .polled(_, let task, let status, let phase):
            object["task_id"] = .string(task)
            object["status"] = .string(status)
            object["phase"] = .string(phase.rawValue)
        case .unknownStatus(_, let status): object["status"] = .string(status)
        case .rendered(_, let urls, let credits):
            object["urls"] = .array(urls.map(JSONValue.string))
            if let credits { object["credits"] = .int(credits) }
        case .downloading(_, let file, let at):
            object["file"] = .string(file)
            object["offset"] = .int(Int(at))
        case .downloaded(_, let file):
            object["file"] = .string(file.path)
            object["bytes"] = .int(Int(file.bytes))
            object["sha256"] = .string(file.sha256)
        case .failed(let shot, let reason), .uncertain(let shot, let reason):
            object["reason"] = .string(words(reason, shot))
        case .stopping(let reason):
            object["reason"] = .string(words(reason, nil))
        case .unanswered(let shot, let task, let reason):
            object["task_id"] = .string(task)
            object["reason"] = .string(words(reason, shot))
        case .blocked(_, let by): object["by"] = .string(by)
        case .timedOut(_, let task): object["task_id"] = .string(task)
        case .warning(let text): object["message"] = .string(text)
        case .frameExtracted(_, let path): object["file"] = .string(path)
        case .assetUploading(let path, let bytes):
            object["file"] = .string(path)
            object["bytes"] = .int(Int(bytes))
        case .assetStored(let path, let bytes, let uploaded):
            object["file"] = .string(path)
            object["bytes"] = .int(Int(bytes))
            object["uploaded"] = .bool(uploaded)
        case .outputHosted(_, let upstream, let why):
            object["upstream"] = .string(upstream)
            object["reason"] = .string(why)
        case .assetFailed(let path, let reason), .cutFailed(let path, let reason):
            object["file"] = .string(path)
            object["reason"] = .string(words(reason, nil))
        case .cutStarted, .cutProgress, .cutAssembled: Self.cutFields(&object, event)
        case .unchanged, .submitting, .downloadProgress: break
        }
        return object
    }
}

extension ExecutionEvent {
    /// The `event` field of `--json`.
    package var name: String {
        switch self {
        case .unchanged: "unchanged"
        case .submitting: "submitting"
        case .submitted: "submitted"
        case .retrying: "retrying"
        case .polled: "polled"
        case .unknownStatus: "unknown_status"
        case .rendered: "rendered"
        case .downloading: "downloading"
        case .downloadProgress: "download_progress"
        case .downloaded: "downloaded"
        case .failed: "failed"
        case .blocked: "blocked"
        case .uncertain: "uncertain"
        case .timedOut: "timed_out"
        case .unanswered: "unknown"
        case .stopping: "stopping"
        case .warning: "warning"
        case .frameExtracted: "frame_extracted"
        case .assetUploading: "asset_uploading"
        case .assetStored: "asset_stored"
        case .outputHosted: "output_hosted"
        case .assetFailed: "asset_failed"
        case .cutStarted: "cut_started"
        case .cutProgress: "cut_progress"
        case .cutAssembled: "cut_assembled"
        case .cutFailed: "cut_failed"
        }
    }

    package var isCut: Bool {
        switch self {
        case .cutStarted, .cutProgress, .cutAssembled, .cutFailed: true
        default: false
        }
    }

    /// Events worth a redraw however recent the last one.
    package var isMilestone: Bool {
        switch self {
        case .polled, .retrying, .downloadProgress, .cutProgress: false
        default: true
        }
    }
}
