import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import Testing

/// `apply --json` is a contract with scripts: every event's object, as a golden file reviewed in
/// the diff and re-recorded on purpose only (`KLING_RECORD=1 swift test`).
@Suite("The --json events: one object per event, held by a golden file")
struct EventJSONTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden/events.jsonl")
    static let goldenLines = golden.deletingLastPathComponent().appendingPathComponent("event-lines.txt")

    /// One of each event, as a run would emit it.
    static let events: [ExecutionEvent] =
        ([
            RunEvent.unchanged(shot: "sunrise"),
            RenderEvent.submitting(shot: "sunrise"),
            RenderEvent.submitted(shot: "sunrise", taskID: "n75task1", credits: 300),
            RenderEvent.retrying(shot: "sunrise", reason: "rate limited (429): slow down", seconds: 1.5),
            RenderEvent.polled(shot: "sunrise", taskID: "n75task1", status: "IN_PROGRESS", phase: .running),
            RenderEvent.unknownStatus(shot: "sunrise", status: "QUEUED"),
            RenderEvent.rendered(shot: "sunrise", urls: ["https://cdn.example/v.mp4"], credits: 300),
            DownloadEvent.downloading(shot: "sunrise", file: "renders/sunrise.mp4", resumedAt: 1024),
            DownloadEvent.progress(shot: "sunrise", file: "renders/sunrise.mp4", bytes: 2048, total: 4096),
            DownloadEvent.downloaded(
                shot: "sunrise", file: ManifestFile(path: "renders/sunrise.mp4", bytes: 4096, sha256: "ab")),
            RunEvent.failed(shot: "snow", reason: .taskFailed(message: "content policy")),
            RunEvent.blocked(shot: "snow.take2", by: "sunrise"),
            RunEvent.uncertain(shot: "city", reason: .answerLost(detail: "connection reset")),
            RenderEvent.timedOut(shot: "city", taskID: "n75task2"),
            RenderEvent.unanswered(shot: "city", taskID: "n75task2", reason: .unusableAnswers(count: 10, last: "HTML")),
            RunEvent.stopping(reason: .interrupted),
            RunEvent.warning("the manifest could not be written"),
            FrameExtracted(shot: "sunrise", path: "renders/sunrise.last.png"),
            AssetEvent.uploading(path: "boards/hero.png", bytes: 1000),
            AssetEvent.stored(path: "boards/hero.png", bytes: 1000, uploaded: true),
            RenderEvent.outputHosted(shot: "snow", upstream: "sunrise", why: "its URL expired"),
            AssetEvent.failed(path: "boards/hero.png", reason: .asset(path: "boards/hero.png", detail: "missing")),
            CutEvent.started(path: "renders/film.mp4", clips: 3, segments: 5),
            CutEvent.progress(path: "renders/film.mp4", segments: 2, of: 5),
            CutEvent.assembled(path: "renders/film.mp4", bytes: 99_000, seconds: 12.5, encoded: 2, segments: 5),
            CutEvent.failed(path: "renders/film.mp4", reason: .cut(detail: "ffmpeg failed")),
        ] as [any KindEvent]).map(ExecutionEvent.init)

    static let words = ReasonWords { reason, shot in "\(reason) of \(shot ?? "-")" }

    @Test("every event's object, byte for byte; download_progress is not a JSON line")
    func golden() throws {
        let time = Date(timeIntervalSince1970: 1_767_225_600)
        var lines: [String] = []
        for event in Self.events {
            guard let object = event.jsonObject(at: time, words: Self.words)
            else { continue }
            lines.append(String(decoding: try CanonicalJSON.data(object), as: UTF8.self))
        }
        let actual = lines.joined(separator: "\n") + "\n"
        #expect(lines.count == Self.events.count - 1, "one line per event but download_progress")
        if ProcessInfo.processInfo.environment["KLING_RECORD"] == "1" {
            try actual.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        #expect(actual == expected)
    }

    @Test("every event's log line, and what it leaves in its row of the live table, held by a golden file")
    func lines() throws {
        var actual = ""
        for event in Self.events {
            var row = TableRow()
            event.kind.change(&row, Self.words, at: .now)
            let line = event.kind.line(Self.words) ?? "(not logged)"
            actual +=
                "\(event.name) | \(event.kind.row ?? "(no row)") | \(line) | \(row.state.rawValue): \(row.detail)\n"
        }
        if ProcessInfo.processInfo.environment["KLING_RECORD"] == "1" {
            try actual.write(to: Self.goldenLines, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.goldenLines, encoding: .utf8)
        #expect(actual == expected)
    }
}
