import Foundation

/// `cut:`: the film assembled from the shots' videos — which clips, trimmed where, joined how, at
/// what size and rate, over what sound. A node of the graph after its clips.
package struct Cut: Sendable, Equatable {
    /// Under the output folder: `eagle.mp4`.
    package var output: String
    /// Pixels; nil: the first clip's.
    package var size: (width: Int, height: Int)?
    /// Frames per second; nil: the first clip's.
    package var fps: Int?
    package var clips: [Clip]
    package var audio = Audio()
    /// `final` (the default) or `draft`: a quick proxy beside the film, `NAME.draft.mp4`.
    package var quality = Quality.final
    /// Timelines written beside the film with every assembly: `otio`, `fcpxml`, `edl`.
    package var exports: [String] = []
    /// Where `cut:` is written.
    package var location: SourceLocation

    package enum Quality: String, Sendable, Equatable {
        case final, draft
    }

    /// The draft's file beside the film's: `eagle.mp4` → `eagle.draft.mp4`.
    package var draftOutput: String {
        (output.hasSuffix(".mp4") ? String(output.dropLast(4)) : output) + ".draft.mp4"
    }

    package struct Clip: Sendable, Equatable {
        package var shot: String
        /// nil: the shot's pick.
        package var take: Int?
        /// Seconds into the clip's video.
        package var inPoint: Double = 0
        /// nil: the video's end.
        package var outPoint: Double?
        /// Into this clip from the one before.
        package var transition: Transition = .cut
        package var location: SourceLocation

        package init(shot: String, location: SourceLocation) {
            self.shot = shot
            self.location = location
        }
    }

    package enum Transition: Sendable, Equatable {
        case cut
        /// Both pictures (and sounds) blend over the seconds.
        case crossfade(Double)
        /// Through black: out, then in, over the seconds.
        case fade(Double)

        package var seconds: Double {
            switch self {
            case .cut: 0
            case .crossfade(let s), .fade(let s): s
            }
        }

        /// As the project file writes it: `cut`, `crossfade 0.5`, `fade 1`.
        package var written: String {
            switch self {
            case .cut: "cut"
            case .crossfade(let s): "crossfade \(Cut.seconds(s))"
            case .fade(let s): "fade \(Cut.seconds(s))"
            }
        }
    }

    package struct Audio: Sendable, Equatable {
        /// `shots: keep` (the clips' own sound) or `mute`.
        package var keepShots = true
        /// A local audio file, checked and hashed: the music bed.
        package var music: InputFile?
        package var musicVolume = 1.0
        /// Seconds the music fades out over at the end of the film.
        package var fadeOut = 0.0

        package init() {}
    }

    package static func == (a: Cut, b: Cut) -> Bool {
        a.output == b.output && a.size?.width == b.size?.width && a.size?.height == b.size?.height && a.fps == b.fps
            && a.clips == b.clips && a.audio == b.audio && a.location == b.location
    }

    /// `2.5`, `4`: seconds without trailing zeros.
    package static func seconds(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "?" }
        return value == value.rounded() ? String(Int(value)) : String(format: "%g", value)
    }

    /// The take of clip `clip` in `project`: written, else the shot's pick.
    package func take(of clip: Clip, in project: Project) -> Int {
        clip.take ?? project.shot(clip.shot)?.pick ?? 1
    }

    /// The film's length when every clip's length is known (from `out:`, or its shot's duration).
    package func seconds(in project: Project) -> Double? {
        var total = 0.0
        for clip in clips {
            guard let end = clip.outPoint ?? project.shot(clip.shot)?.seconds.map(Double.init) else { return nil }
            total += end - clip.inPoint - clip.transition.seconds
        }
        return total
    }
}
