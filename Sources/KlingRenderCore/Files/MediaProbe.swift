import Foundation

/// What ffprobe reads of a video: its length, picture size, frame rate and whether it has sound.
package struct MediaProbe: Sendable, Equatable {
    package var seconds: Double
    package var width: Int
    package var height: Int
    package var fps: Double
    package var hasAudio: Bool

    /// Parses `ffprobe -show_entries format=duration:stream=codec_type,width,height,r_frame_rate -of json`;
    /// nil when it is not a video with a usable length, size and rate.
    package static func parse(_ data: Data) -> MediaProbe? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let duration = ((object["format"] as? [String: Any])?["duration"] as? String).flatMap(Double.init),
            duration.isFinite, duration > 0, duration < 86_400
        else { return nil }
        let streams = object["streams"] as? [[String: Any]] ?? []
        guard let video = streams.first(where: { $0["codec_type"] as? String == "video" }),
            let width = video["width"] as? Int, let height = video["height"] as? Int, (1...16_384).contains(width),
            (1...16_384).contains(height)
        else { return nil }
        let rate = (video["r_frame_rate"] as? String ?? "").split(separator: "/").compactMap { Double($0) }
        let fps = rate.count == 2 && rate[1] > 0 ? rate[0] / rate[1] : 0
        guard fps.isFinite, fps > 0, fps <= 240 else { return nil }
        return MediaProbe(
            seconds: duration, width: width, height: height, fps: fps,
            hasAudio: streams.contains { $0["codec_type"] as? String == "audio" })
    }

    /// ffprobe's reading of a local file; nil when it is not a video it can read.
    package static func read(_ path: String, ffprobe: String, root: ProjectFolder) async -> MediaProbe? {
        let output = Collected()
        let (status, _) = await Executable.run(
            ffprobe,
            [
                "-v", "error", "-protocol_whitelist", "file", "-show_entries",
                "format=duration:stream=codec_type,width,height,r_frame_rate", "-of", "json", root.url(path).path,
            ], timeout: .seconds(60), output: { output.append($0) })
        guard status == 0 else { return nil }
        return MediaProbe.parse(output.data)
    }

    /// Whether ffprobe finds a sound stream in a local file (a music bed); nil when it cannot read it.
    package static func hasAudio(_ path: String, ffprobe: String, root: ProjectFolder) async -> Bool? {
        let output = Collected()
        let (status, _) = await Executable.run(
            ffprobe,
            [
                "-v", "error", "-protocol_whitelist", "file", "-show_entries", "stream=codec_type", "-of", "json",
                root.url(path).path,
            ], timeout: .seconds(60), output: { output.append($0) })
        guard status == 0, let object = try? JSONSerialization.jsonObject(with: output.data) as? [String: Any] else {
            return nil
        }
        return (object["streams"] as? [[String: Any]] ?? []).contains { $0["codec_type"] as? String == "audio" }
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
