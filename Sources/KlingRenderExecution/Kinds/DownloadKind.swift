import Foundation
import KlingRenderCore

/// Fetching a shot's videos again, for a shot whose render is current but whose files are not on
/// disk. (A render's own `DownloadStep` is added by `RenderKind`, after it.)
package struct DownloadKind: StepKind {
    package func contribute(to graph: inout StepGraph, from engine: Engine) {
        for planned in engine.plan.shots where planned.action == .download {
            let step = DownloadStep(id: planned.key, context: engine.context)
            graph.download[planned.key] = graph.add(step, ofShot: planned.key, after: [], cost: 0)
        }
    }
}

/// What a download reports: each file started, its bytes so far, each file on disk.
package enum DownloadEvent: KindEvent, Equatable {
    case downloading(shot: String, file: String, resumedAt: Int64)
    /// Bytes of a file on disk so far, and its length when the server said it (about every 256
    /// KiB): for the live table only.
    case progress(shot: String, file: String, bytes: Int64, total: Int64?)
    case downloaded(shot: String, file: ManifestFile)

    package var name: String {
        switch self {
        case .downloading: "downloading"
        case .progress: "download_progress"
        case .downloaded: "downloaded"
        }
    }

    package var shot: String? {
        switch self {
        case .downloading(let s, _, _), .progress(let s, _, _, _), .downloaded(let s, _): s
        }
    }

    package var isMilestone: Bool {
        if case .progress = self { return false }
        return true
    }

    package func fields(_ words: ReasonWords) -> [String: JSONValue]? {
        switch self {
        case .downloading(_, let file, let at): ["file": .string(file), "offset": .int(Int(at))]
        case .progress: nil
        case .downloaded(_, let file):
            ["file": .string(file.path), "bytes": .int(Int(file.bytes)), "sha256": .string(file.sha256)]
        }
    }

    package func line(_ words: ReasonWords) -> String? {
        switch self {
        case .downloading(_, let file, let at):
            at > 0 ? "downloading \(file), resuming at byte \(at)" : "downloading \(file)"
        case .progress: nil
        case .downloaded(_, let file): "downloaded \(file.path) (\(file.bytes.formatted(.byteCount(style: .file))))"
        }
    }

    package func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant) {
        switch self {
        case .downloading(_, let file, let at):
            row.state = .downloading
            row.detail = file
            row.transfer = (now, at)
        case .progress(_, let file, let bytes, let total):
            row.detail = Self.transferDetail(file, bytes: bytes, total: total, since: row.transfer, now: now)
        case .downloaded(_, let file): row.end(.done, file.path, at: now)
        }
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
            let seconds = (now - started).inSeconds
            if seconds > 0.5 { text += ", \(Int64(Double(bytes - from) / seconds).formatted(style))/s" }
        }
        return text
    }
}
