import Foundation
import KlingRenderCore

/// The film as a sequence of segments: each clip's body (trimmed, at the film's rate, scaled and
/// padded to its size) and each transition (the overlapping edges of its two clips, blended).
/// Each is encoded once, by itself, with the same encoder settings, and kept under the name of
/// a fingerprint of everything that shapes its pixels; the film's picture is the segments joined
/// without encoding again.
struct CutSegment: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        /// Clip `clip`'s picture from `start` for `frames` frames.
        case body(clip: Int, start: Double)
        /// The last frames of clip `from` (from `fromStart`) blended into the first of clip `into`.
        case transition(from: Int, fromStart: Double, into: Int, intoStart: Double, kind: Cut.Transition)
    }

    var part: Part
    var frames: Int
    /// SHA-256 over the sources' SHA-256, the trims, the size, the rate and the encoder settings.
    var fingerprint: String

    /// Its file's name in the segment folder.
    var name: String { String(fingerprint.prefix(40)) + ".mp4" }
}

/// How segments are encoded: one setting for every segment of a film, so that they join.
struct SegmentEncoding: Sendable, Equatable {
    var width: Int
    var height: Int
    var fps: Int
    var preset: String
    var crf: Int

    /// The final cut: x264 `veryfast` at CRF 18 (visually lossless at 720p and 1080p; `medium`
    /// spends twice the CPU for a file about 5% smaller).
    static func final(width: Int, height: Int, fps: Int) -> SegmentEncoding {
        SegmentEncoding(width: width, height: height, fps: fps, preset: "veryfast", crf: 18)
    }

    /// `--draft`: 540 lines (or fewer), `ultrafast` at CRF 26: a proxy to watch the edit by.
    static func draft(width: Int, height: Int, fps: Int) -> SegmentEncoding {
        let scale = min(1, 540 / Double(height))
        let even = { (v: Double) in max(2, Int((v * scale / 2).rounded()) * 2) }
        return SegmentEncoding(
            width: even(Double(width)), height: even(Double(height)), fps: fps, preset: "ultrafast", crf: 26)
    }

    /// What goes into every fingerprint.
    var words: String { "libx264 \(preset) crf\(crf) yuv420p \(width)x\(height) \(fps)fps" }

    /// One clip's picture, from its start, at the film's rate and size.
    func picture(_ input: Int, start: Double, frames: Int) -> String {
        let n = CutAssembly.number
        let end = start + Double(frames) / Double(fps)
        return "[\(input):v:0]trim=start=\(n(start)):end=\(n(end)),setpts=PTS-STARTPTS,fps=\(fps),"
            + "scale=\(width):\(height):force_original_aspect_ratio=decrease,"
            + "pad=\(width):\(height):(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p"
    }

    /// The encoder's arguments: the same for every segment, exactly `frames` frames, no sound.
    func output(frames: Int) -> [String] {
        [
            "-frames:v", "\(frames)", "-an", "-c:v", "libx264", "-preset", preset, "-crf", "\(crf)", "-pix_fmt",
            "yuv420p", "-r", "\(fps)", "-video_track_timescale", "\(fps * 512)", "-f", "mp4",
        ]
    }
}

extension CutSegment {
    /// The segments of a film, in order: a body per clip (unless transitions take all of it) and
    /// a transition wherever a clip is joined by one. `hashes`: each clip's file's SHA-256.
    static func plan(_ sources: [CutSource], hashes: [String], encoding: SegmentEncoding) -> [CutSegment] {
        let rate = Double(encoding.fps)
        func frames(_ seconds: Double) -> Int { Int((seconds * rate).rounded()) }
        func fingerprint(_ words: [String]) -> String {
            Digest.sha256Hex(Data((words + [encoding.words]).joined(separator: "\n").utf8))
        }
        let n = CutAssembly.number
        var segments: [CutSegment] = []
        for (i, source) in sources.enumerated() {
            let into = i == 0 ? 0 : source.transition.seconds
            let out = i + 1 < sources.count ? sources[i + 1].transition.seconds : 0
            if i > 0, into > 0 {
                let previous = sources[i - 1]
                let fromStart = previous.outPoint - into
                let kind = source.transition
                segments.append(
                    CutSegment(
                        part: .transition(
                            from: i - 1, fromStart: fromStart, into: i, intoStart: source.inPoint, kind: kind),
                        frames: frames(into),
                        fingerprint: fingerprint([
                            "transition", kind.written, hashes[i - 1], n(fromStart), hashes[i], n(source.inPoint),
                            n(into),
                        ])))
            }
            let start = source.inPoint + into
            let count = frames(source.outPoint - out - start)
            if count > 0 {
                segments.append(
                    CutSegment(
                        part: .body(clip: i, start: start), frames: count,
                        fingerprint: fingerprint(["body", hashes[i], n(start), "\(count)"])))
            }
        }
        return segments
    }

    /// ffmpeg's arguments that encode this segment from the clips' files into `output`.
    func arguments(_ sources: [CutSource], encoding: SegmentEncoding, output: String) -> [String] {
        var arguments = ["-nostdin", "-v", "error", "-y"]
        let graph: String
        switch part {
        case .body(let clip, let start):
            arguments += sources[clip].file.ffmpegInput
            graph = encoding.picture(0, start: start, frames: frames) + "[v]"
        case .transition(let from, let fromStart, let into, let intoStart, let kind):
            arguments += sources[from].file.ffmpegInput + sources[into].file.ffmpegInput
            let seconds = CutAssembly.number(Double(frames) / Double(encoding.fps))
            let blend = kind == .crossfade(kind.seconds) ? "fade" : "fadeblack"
            graph =
                encoding.picture(0, start: fromStart, frames: frames) + "[a];"
                + encoding.picture(1, start: intoStart, frames: frames) + "[b];"
                + "[a][b]xfade=transition=\(blend):duration=\(seconds):offset=0[v]"
        }
        return arguments + ["-filter_complex", graph, "-map", "[v]"] + encoding.output(frames: frames) + [output]
    }
}
