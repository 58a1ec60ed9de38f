import Foundation
import KlingRenderCore
import KlingRenderExecution

/// The plain log line of each event, off a terminal: what a person reads in a CI log.
enum EventLines {
    /// The plain line for an event; nil for those too frequent to log (each poll).
    static func line(_ event: ExecutionEvent) -> String? {
        switch event {
        case .unchanged: nil
        case .submitting: "submitting"
        case .submitted(_, let task, let credits):
            "submitted: task \(task)" + (credits.map { ", \($0.formatted) credits" } ?? "")
        case .retrying(_, let reason, let seconds): "retrying in \(String(format: "%.1f", seconds)) s: \(reason)"
        case .polled, .downloadProgress: nil
        case .unknownStatus(_, let status): "warning: unknown task status `\(status)`; polling on"
        case .rendered(_, let urls, _): "rendered: \(urls.count) video\(urls.count == 1 ? "" : "s")"
        case .downloading(_, let file, let at):
            at > 0 ? "downloading \(file), resuming at byte \(at)" : "downloading \(file)"
        case .downloaded(_, let file): "downloaded \(file.path) (\(file.bytes.formatted(.byteCount(style: .file))))"
        case .failed(let shot, let reason): "failed: \(reason.worded(shot: shot))"
        case .blocked(_, let by): "blocked: waits on \(by)"
        case .uncertain(let shot, let reason): "uncertain: \(reason.worded(shot: shot))"
        case .timedOut(_, let task): "timed out: task \(task) stays in flight; the next apply resumes it"
        case .unanswered(let shot, let task, let reason): "unknown: task \(task): \(reason.worded(shot: shot))"
        case .stopping(let reason): "stopping: \(reason.worded())"
        case .warning(let text): "warning: \(text)"
        case .frameExtracted(_, let path): "frame \(path)"
        case .assetUploading(let path, let bytes):
            "uploading \(path) (\(bytes.formatted(.byteCount(style: .file))))"
        case .assetStored(let path, _, let uploaded): uploaded ? "uploaded \(path)" : "\(path): already in the store"
        case .outputHosted(_, let upstream, let why): "\(upstream)'s video is hosted from its file: \(why)"
        case .assetFailed(_, let reason): "failed: \(reason.worded())"
        case .cutStarted(let path, let clips, let seconds):
            "assembling \(path): \(clips) clip\(clips == 1 ? "" : "s"), \(Cut.seconds((seconds * 10).rounded() / 10)) s"
        case .cutProgress: nil
        case .cutAssembled(let path, let bytes, let seconds):
            "assembled \(path) (\(Cut.seconds(seconds)) s, \(bytes.formatted(.byteCount(style: .file))))"
        case .cutFailed(_, let reason): "failed: \(reason.worded())"
        }
    }
}
