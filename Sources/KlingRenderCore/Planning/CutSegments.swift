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
        var spans: [CutSpan] = []
        for n in clips.indices {
            switch span(n, length: lengths[n], path: paths[n], fps: fps, file: file) {
            case .success(let span): spans.append(span)
            case .failure(let problem): return .failure(problem)
            }
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

    /// Clip `n`'s trim and transition on whole frames, from its file's length alone: what a
    /// segment of that clip needs before the other clips' files are on disk.
    package func span(_ n: Int, length: Double, path: String, fps: Int, file: String) -> Result<CutSpan, SpanProblem> {
        let rate = Double(fps)
        func frames(_ seconds: Double) -> Double { (seconds * rate).rounded() / rate }
        let clip = clips[n]
        let place = "\(file):\(clip.location.line)"
        let available = (length * rate + 0.5).rounded(.down) / rate
        let end = clip.outPoint.map(frames) ?? available
        if end > available {
            return .failure(
                SpanProblem(
                    message:
                        "\(place): `cut.clips[\(n)].out` is \(Cut.seconds(end)) s, past the end of \(path) (\(String(format: "%.2f", length)) s)"
                ))
        }
        let start = frames(clip.inPoint)
        if end - start < 1 / rate {
            return .failure(SpanProblem(message: "\(place): `cut.clips[\(n)]` is shorter than one frame of \(path)"))
        }
        return .success(CutSpan(inPoint: start, outPoint: end, transition: transition(n, fps: fps)))
    }

    /// How clip `n` is joined to the one before, on whole frames (at least one).
    package func transition(_ n: Int, fps: Int) -> Cut.Transition {
        let rate = Double(fps)
        func frames(_ seconds: Double) -> Double { max(1 / rate, (seconds * rate).rounded() / rate) }
        return switch clips[n].transition {
        case .cut: .cut
        case .crossfade(let d): .crossfade(frames(d))
        case .fade(let d): .fade(frames(d))
        }
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
    /// x264's own settings beyond the preset (`-x264-params`), or empty.
    package var tuning = ""

    /// The final cut: x264 `superfast` with its macroblock tree on, at CRF 18 — visually
    /// lossless at 720p and 1080p. Measured on the bench's segments against `veryfast`: the same
    /// SSIM (0.9966) and PSNR (48.3 dB), a file 7% larger, a fifth less CPU; `superfast` as it
    /// comes (no macroblock tree) makes files 1.8× larger.
    package static func final(width: Int, height: Int, fps: Int) -> SegmentEncoding {
        SegmentEncoding(
            width: width, height: height, fps: fps, preset: "superfast", crf: 18, tuning: "mbtree=1:rc-lookahead=10")
    }

    /// `--draft`: 540 lines (or fewer), `ultrafast` at CRF 26: a proxy to watch the edit by.
    package static func draft(width: Int, height: Int, fps: Int) -> SegmentEncoding {
        let scale = min(1, 540 / Double(height))
        let even = { (v: Double) in max(2, Int((v * scale / 2).rounded()) * 2) }
        return SegmentEncoding(
            width: even(Double(width)), height: even(Double(height)), fps: fps, preset: "ultrafast", crf: 26)
    }

    /// The film's encoding, as the plan and the assembly both make it: the size and rate `cut:`
    /// says, else the first clip's (in even pixels), final or draft. `first` is needed only when
    /// `cut:` does not give both; nil then when it is not known.
    package static func of(_ cut: Cut, first: MediaProbe?, draft: Bool) -> SegmentEncoding? {
        guard let fps = cut.fps ?? first.map({ max(1, Int($0.fps.rounded())) }),
            let width = cut.size?.width ?? first.map({ ($0.width + 1) / 2 * 2 }),
            let height = cut.size?.height ?? first.map({ ($0.height + 1) / 2 * 2 })
        else { return nil }
        return draft
            ? .draft(width: width, height: height, fps: fps) : .final(width: width, height: height, fps: fps)
    }

    /// What goes into every fingerprint.
    package var words: String {
        "libx264 \(preset) crf\(crf) \(tuning.isEmpty ? "" : tuning + " ")yuv420p \(width)x\(height) \(fps)fps"
    }

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
            "-frames:v", "\(frames)", "-an", "-c:v", "libx264", "-preset", preset, "-crf", "\(crf)",
        ] + (tuning.isEmpty ? [] : ["-x264-params", tuning]) + [
            "-pix_fmt", "yuv420p", "-r", "\(fps)", "-video_track_timescale", "\(fps * 512)", "-f", "mp4",
        ]
    }
}

/// Where a segment sits in the film, known from the project file alone: the graph has a step
/// for each before any clip's file is on disk.
package enum SegmentSlot: Sendable, Equatable, Hashable {
    /// Clip `n`'s body: the clips it reads are `n`.
    case body(Int)
    /// The transition into clip `n` from the one before: it reads `n - 1` and `n`.
    case transition(into: Int)

    /// The clips whose files this segment is made from.
    package var clips: [Int] {
        switch self {
        case .body(let n): [n]
        case .transition(let n): [n - 1, n]
        }
    }

    /// The film's slots in order: a transition wherever a clip is joined by one, a body per clip.
    package static func all(_ cut: Cut) -> [SegmentSlot] {
        cut.clips.indices.flatMap { n -> [SegmentSlot] in
            (n > 0 && cut.clips[n].transition != .cut ? [.transition(into: n)] : []) + [.body(n)]
        }
    }
}

extension CutSegment {
    /// The segments of a film, in order: a body per clip (unless transitions take all of it) and
    /// a transition wherever a clip is joined by one. `hashes`: each clip's file's SHA-256.
    package static func plan(_ sources: [CutSpan], hashes: [String], encoding: SegmentEncoding) -> [CutSegment] {
        sources.indices.flatMap { n -> [CutSegment] in
            let slots: [SegmentSlot] = n > 0 ? [.transition(into: n), .body(n)] : [.body(n)]
            return slots.compactMap {
                at(
                    $0, spans: { sources[$0] }, transitions: { sources[$0].transition }, hashes: { hashes[$0] },
                    count: sources.count, encoding: encoding)
            }
        }
    }

    /// The segment at `slot`, or nil when there is none there (no transition; a body that the
    /// transitions take whole). `spans` and `hashes` are asked only for the slot's clips;
    /// `transitions` for the next clip's, which the project file alone gives. `count`: the clips.
    package static func at(
        _ slot: SegmentSlot, spans: (Int) -> CutSpan, transitions: (Int) -> Cut.Transition,
        hashes: (Int) -> String, count: Int, encoding: SegmentEncoding
    ) -> CutSegment? {
        let rate = Double(encoding.fps)
        func frames(_ seconds: Double) -> Int { Int((seconds * rate).rounded()) }
        func fingerprint(_ words: [String]) -> String {
            Digest.sha256Hex(Data((words + [encoding.words]).joined(separator: "\n").utf8))
        }
        let n = Cut.decimal
        switch slot {
        case .transition(let i):
            let source = spans(i)
            let into = source.transition.seconds
            guard i > 0, into > 0 else { return nil }
            let fromStart = spans(i - 1).outPoint - into
            let kind = source.transition
            return CutSegment(
                part: .transition(from: i - 1, fromStart: fromStart, into: i, intoStart: source.inPoint, kind: kind),
                frames: frames(into),
                fingerprint: fingerprint([
                    "transition", kind.written, hashes(i - 1), n(fromStart), hashes(i), n(source.inPoint), n(into),
                ]))
        case .body(let i):
            let source = spans(i)
            let into = i == 0 ? 0 : source.transition.seconds
            let out = i + 1 < count ? transitions(i + 1).seconds : 0
            let start = source.inPoint + into
            let frameCount = frames(source.outPoint - out - start)
            guard frameCount > 0 else { return nil }
            return CutSegment(
                part: .body(clip: i, start: start), frames: frameCount,
                fingerprint: fingerprint(["body", hashes(i), n(start), "\(frameCount)"]))
        }
    }
}
