import Foundation

/// A clip of the cut on whole frames of the film's rate: where it starts and ends in its file, and
/// how it is joined to the one before.
package struct CutSpan: Sendable, Equatable {
    package var inPoint: Double
    package var outPoint: Double
    package var transition: Cut.Transition

    package var length: Double { outPoint - inPoint }

    package init(inPoint: Double, outPoint: Double, transition: Cut.Transition) {
        self.inPoint = inPoint
        self.outPoint = outPoint
        self.transition = transition
    }
}

extension Cut {
    /// `2.500000`: a number as ffmpeg's arguments and the segments' fingerprints write it.
    package static func decimal(_ value: Double) -> String { String(format: "%.6f", value) }

    /// Each clip's trim and transition on whole frames of the film's rate — so that sound, picture
    /// and the exported timelines agree — checked against the files' lengths (`lengths`, in
    /// seconds, with each file's path for the message). `file`: the project file, for the place.
    package func spans(lengths: [Double], paths: [String], fps: Int, file: String) -> Result<[CutSpan], SpanProblem> {
        let rate = Double(fps)
        func frames(_ seconds: Double) -> Double { (seconds * rate).rounded() / rate }
        var spans: [CutSpan] = []
        for (n, clip) in clips.enumerated() {
            let place = "\(file):\(clip.location.line)"
            let available = (lengths[n] * rate + 0.5).rounded(.down) / rate
            let end = clip.outPoint.map(frames) ?? available
            if end > available {
                return .failure(
                    SpanProblem(
                        message:
                            "\(place): `cut.clips[\(n)].out` is \(Cut.seconds(end)) s, past the end of \(paths[n]) (\(String(format: "%.2f", lengths[n])) s)"
                    ))
            }
            let start = frames(clip.inPoint)
            if end - start < 1 / rate {
                return .failure(
                    SpanProblem(message: "\(place): `cut.clips[\(n)]` is shorter than one frame of \(paths[n])"))
            }
            let transition: Cut.Transition =
                switch clip.transition {
                case .cut: .cut
                case .crossfade(let d): .crossfade(max(1 / rate, frames(d)))
                case .fade(let d): .fade(max(1 / rate, frames(d)))
                }
            spans.append(CutSpan(inPoint: start, outPoint: end, transition: transition))
        }
        for n in spans.indices where n > 0 || spans.count > 1 {
            let into = spans[n].transition.seconds
            let out = n + 1 < spans.count ? spans[n + 1].transition.seconds : 0
            if into + out > spans[n].length + 1e-9 {
                return .failure(
                    SpanProblem(
                        message:
                            "\(file):\(clips[n].location.line): `cut.clips[\(n)]` (\(Cut.seconds(spans[n].length)) s) is shorter than its transitions"
                    ))
            }
        }
        return .success(spans)
    }

    package struct SpanProblem: Error, Sendable, Equatable {
        package var message: String
    }
}

/// The film as a sequence of segments: each clip's body (trimmed, at the film's rate, scaled and
/// padded to its size) and each transition (the overlapping edges of its two clips, blended).
/// Each is encoded once, by itself, with the same encoder settings, and kept under the name of
/// a fingerprint of everything that shapes its pixels; the film's picture is the segments joined
/// without encoding again.
package struct CutSegment: Sendable, Equatable {
    package enum Part: Sendable, Equatable {
        /// Clip `clip`'s picture from `start` for `frames` frames.
        case body(clip: Int, start: Double)
        /// The last frames of clip `from` (from `fromStart`) blended into the first of clip `into`.
        case transition(from: Int, fromStart: Double, into: Int, intoStart: Double, kind: Cut.Transition)
    }

    package var part: Part
    package var frames: Int
    /// SHA-256 over the sources' SHA-256, the trims, the size, the rate and the encoder settings.
    package var fingerprint: String

    /// Its file's name in the segment folder.
    package var name: String { String(fingerprint.prefix(40)) + ".mp4" }
}

/// How segments are encoded: one setting for every segment of a film, so that they join.
package struct SegmentEncoding: Sendable, Equatable {
    package var width: Int
    package var height: Int
    package var fps: Int
    package var preset: String
    package var crf: Int

    /// The final cut: x264 `veryfast` at CRF 18 (visually lossless at 720p and 1080p; `medium`
    /// spends twice the CPU for a file about 5% smaller).
    package static func final(width: Int, height: Int, fps: Int) -> SegmentEncoding {
        SegmentEncoding(width: width, height: height, fps: fps, preset: "veryfast", crf: 18)
    }

    /// `--draft`: 540 lines (or fewer), `ultrafast` at CRF 26: a proxy to watch the edit by.
    package static func draft(width: Int, height: Int, fps: Int) -> SegmentEncoding {
        let scale = min(1, 540 / Double(height))
        let even = { (v: Double) in max(2, Int((v * scale / 2).rounded()) * 2) }
        return SegmentEncoding(
            width: even(Double(width)), height: even(Double(height)), fps: fps, preset: "ultrafast", crf: 26)
    }

    /// The film's encoding, as the plan and the assembly both make it: the size and rate `cut:`
    /// says, else the first clip's (in even pixels), final or draft.
    package static func of(_ cut: Cut, first: MediaProbe, draft: Bool) -> SegmentEncoding {
        let fps = cut.fps ?? max(1, Int(first.fps.rounded()))
        let width = cut.size?.width ?? (first.width + 1) / 2 * 2
        let height = cut.size?.height ?? (first.height + 1) / 2 * 2
        return draft
            ? .draft(width: width, height: height, fps: fps) : .final(width: width, height: height, fps: fps)
    }

    /// What goes into every fingerprint.
    package var words: String { "libx264 \(preset) crf\(crf) yuv420p \(width)x\(height) \(fps)fps" }

    /// One clip's picture, from its start, at the film's rate and size.
    package func picture(_ input: Int, start: Double, frames: Int) -> String {
        let n = Cut.decimal
        let end = start + Double(frames) / Double(fps)
        return "[\(input):v:0]trim=start=\(n(start)):end=\(n(end)),setpts=PTS-STARTPTS,fps=\(fps),"
            + "scale=\(width):\(height):force_original_aspect_ratio=decrease,"
            + "pad=\(width):\(height):(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p"
    }

    /// The encoder's arguments: the same for every segment, exactly `frames` frames, no sound.
    package func output(frames: Int) -> [String] {
        [
            "-frames:v", "\(frames)", "-an", "-c:v", "libx264", "-preset", preset, "-crf", "\(crf)", "-pix_fmt",
            "yuv420p", "-r", "\(fps)", "-video_track_timescale", "\(fps * 512)", "-f", "mp4",
        ]
    }
}

extension CutSegment {
    /// The segments of a film, in order: a body per clip (unless transitions take all of it) and
    /// a transition wherever a clip is joined by one. `hashes`: each clip's file's SHA-256.
    package static func plan(_ sources: [CutSpan], hashes: [String], encoding: SegmentEncoding) -> [CutSegment] {
        let rate = Double(encoding.fps)
        func frames(_ seconds: Double) -> Int { Int((seconds * rate).rounded()) }
        func fingerprint(_ words: [String]) -> String {
            Digest.sha256Hex(Data((words + [encoding.words]).joined(separator: "\n").utf8))
        }
        let n = Cut.decimal
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
}
