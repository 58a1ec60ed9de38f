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

    /// One of each event, as a run would emit it.
    static let events: [ExecutionEvent] = [
        .unchanged(shot: "sunrise"),
        .submitting(shot: "sunrise"),
        .submitted(shot: "sunrise", taskID: "n75task1", credits: 300),
        .retrying(shot: "sunrise", reason: "rate limited (429): slow down", seconds: 1.5),
        .polled(shot: "sunrise", taskID: "n75task1", status: "IN_PROGRESS", phase: .running),
        .unknownStatus(shot: "sunrise", status: "QUEUED"),
        .rendered(shot: "sunrise", urls: ["https://cdn.example/v.mp4"], credits: 300),
        .downloading(shot: "sunrise", file: "renders/sunrise.mp4", resumedAt: 1024),
        .downloadProgress(shot: "sunrise", file: "renders/sunrise.mp4", bytes: 2048, total: 4096),
        .downloaded(shot: "sunrise", file: ManifestFile(path: "renders/sunrise.mp4", bytes: 4096, sha256: "ab")),
        .failed(shot: "snow", reason: .taskFailed(message: "content policy")),
        .blocked(shot: "snow.take2", by: "sunrise"),
        .uncertain(shot: "city", reason: .answerLost(detail: "connection reset")),
        .timedOut(shot: "city", taskID: "n75task2"),
        .unanswered(shot: "city", taskID: "n75task2", reason: .unusableAnswers(count: 10, last: "HTML")),
        .stopping(reason: .interrupted),
        .warning("the manifest could not be written"),
        .frameExtracted(shot: "sunrise", path: "renders/sunrise.last.png"),
        .assetUploading(path: "boards/hero.png", bytes: 1000),
        .assetStored(path: "boards/hero.png", bytes: 1000, uploaded: true),
        .outputHosted(shot: "snow", upstream: "sunrise", why: "its URL expired"),
        .assetFailed(path: "boards/hero.png", reason: .asset(path: "boards/hero.png", detail: "missing")),
        .cutStarted(path: "renders/film.mp4", clips: 3, seconds: 12.5),
        .cutProgress(path: "renders/film.mp4", seconds: 4, of: 12.5),
        .cutAssembled(path: "renders/film.mp4", bytes: 99_000, seconds: 12.5),
        .cutFailed(path: "renders/film.mp4", reason: .cut(detail: "ffmpeg failed")),
    ]

    @Test("every event's object, byte for byte; download_progress is not a JSON line")
    func golden() throws {
        let time = Date(timeIntervalSince1970: 1_767_225_600)
        var lines: [String] = []
        for event in Self.events {
            guard let object = event.jsonObject(at: time, words: { reason, shot in "\(reason) of \(shot ?? "-")" })
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
}
