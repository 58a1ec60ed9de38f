import Foundation

/// What ffprobe reads of a video: its length, picture size, frame rate and whether it has sound.
package struct MediaProbe: Sendable, Equatable {
    package var seconds: Double
    package var width: Int
    package var height: Int
    package var fps: Double
    package var hasAudio: Bool

    /// The largest picture kling-render takes from ffprobe (8K UHD, either way round).
    package static let maxSide = 7680
    package static let maxShortSide = 4320
    /// The longest media it takes: 15 minutes.
    package static let maxSeconds = 900.0

    /// Parses `ffprobe -show_entries format=duration:stream=codec_type,width,height,r_frame_rate -of json`;
    /// nil when it is not a video with a length, size and rate in range (at most 15 minutes, at
    /// most 7680×4320 either way round, 1–240 frames a second): what a file or server claims is
    /// checked before a filter graph is built from it.
    package static func parse(_ data: Data) -> MediaProbe? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let duration = seconds(object), duration > 0
        else { return nil }
        let streams = object["streams"] as? [[String: Any]] ?? []
        guard let video = streams.first(where: { $0["codec_type"] as? String == "video" }),
            let width = video["width"] as? Int, let height = video["height"] as? Int,
            (1...maxSide).contains(max(width, height)), (1...maxShortSide).contains(min(width, height))
        else { return nil }
        let rate = (video["r_frame_rate"] as? String ?? "").split(separator: "/").compactMap { Double($0) }
        let fps = rate.count == 2 && rate[1] > 0 ? rate[0] / rate[1] : 0
        guard fps.isFinite, fps > 0, fps <= 240 else { return nil }
        return MediaProbe(
            seconds: duration, width: width, height: height, fps: fps,
            hasAudio: streams.contains { $0["codec_type"] as? String == "audio" })
    }

    /// Whether every field is in the range `parse` accepts: a probe read back from a manifest (which
    /// anyone may have written) is used only then.
    package var isInRange: Bool {
        seconds.isFinite && seconds > 0 && seconds <= Self.maxSeconds
            && (1...Self.maxSide).contains(max(width, height)) && (1...Self.maxShortSide).contains(min(width, height))
            && fps.isFinite && fps > 0 && fps <= 240
    }

    /// The container's length, when it is a number within `maxSeconds`.
    private static func seconds(_ object: [String: Any]) -> Double? {
        guard let text = (object["format"] as? [String: Any])?["duration"] as? String, let value = Double(text),
            value.isFinite, value >= 0, value <= maxSeconds
        else { return nil }
        return value
    }

    /// ffprobe's reading of a file that passed the gate; nil when it is not a video it can read
    /// within range.
    package static func read(_ file: GatedMedia, ffprobe: String) async -> MediaProbe? {
        guard
            let data = await probe(
                file, entries: "format=duration:stream=codec_type,width,height,r_frame_rate", ffprobe: ffprobe)
        else { return nil }
        return MediaProbe.parse(data)
    }

    /// A music bed's length and whether ffprobe finds a sound stream in it; nil when it cannot
    /// read it, or it is longer than 15 minutes.
    package static func readAudio(_ file: GatedMedia, ffprobe: String) async -> (seconds: Double, hasAudio: Bool)? {
        guard let data = await probe(file, entries: "format=duration:stream=codec_type", ffprobe: ffprobe),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let seconds = seconds(object)
        else { return nil }
        return (
            seconds, (object["streams"] as? [[String: Any]] ?? []).contains { $0["codec_type"] as? String == "audio" }
        )
    }

    private static func probe(_ file: GatedMedia, entries: String, ffprobe: String) async -> Data? {
        let output = Collected()
        let (status, _) = await Executable.run(
            ffprobe, ["-v", "error"] + file.inputOptions + ["-show_entries", entries, "-of", "json", file.input],
            timeout: .seconds(60), output: { output.append($0) })
        return status == 0 ? output.data : nil
    }
}

/// Bytes from another thread, in order.
package final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()

    package init() {}

    package func append(_ chunk: Data) { lock.withLock { bytes.append(chunk) } }
    package var data: Data { lock.withLock { bytes } }
}
