import Foundation
import KlingRenderCore

/// One clip of the cut as ffmpeg sees it: its file, its trim, and what ffprobe says of it.
struct CutSource: Sendable {
    /// The clip's file, through the media gate.
    var file: GatedMedia
    var inPoint: Double
    var outPoint: Double
    var transition: Cut.Transition
    var hasAudio: Bool

    var length: Double { outPoint - inPoint }
}

/// The ffmpeg command of a cut: one filter graph that trims every clip, brings it to one size
/// (scaled to fit and padded, never stretched) and one rate, joins the clips by cuts, crossfades
/// (`xfade` and `acrossfade`) or fades through black, gives a silent track to a clip without
/// sound, and lays the music bed under it all with its fade.
struct CutAssembly: Sendable {
    var sources: [CutSource]
    var width: Int
    var height: Int
    var fps: Int
    var keepSound: Bool
    /// The music file (through the media gate), its volume and its fade-out in seconds.
    var music: (file: GatedMedia, volume: Double, fadeOut: Double)?

    /// The film's length: the clips' lengths less the transitions.
    var seconds: Double {
        sources.reduce(0) { $0 + $1.length - $1.transition.seconds }
    }

    static func number(_ value: Double) -> String { String(format: "%.6f", value) }

    var filterGraph: String {
        let n = Self.number
        var parts: [String] = []
        for (i, source) in sources.enumerated() {
            parts.append(
                "[\(i):v:0]trim=start=\(n(source.inPoint)):end=\(n(source.outPoint)),setpts=PTS-STARTPTS,fps=\(fps),"
                    + "scale=\(width):\(height):force_original_aspect_ratio=decrease,"
                    + "pad=\(width):\(height):(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p[v\(i)]")
            let format = "aformat=sample_rates=48000:channel_layouts=stereo"
            if keepSound, source.hasAudio {
                parts.append(
                    "[\(i):a:0]atrim=start=\(n(source.inPoint)):end=\(n(source.outPoint)),asetpts=PTS-STARTPTS,"
                        + "\(format),apad,atrim=0:\(n(source.length))[a\(i)]")
            } else {
                parts.append("anullsrc=r=48000:cl=stereo,atrim=0:\(n(source.length)),asetpts=PTS-STARTPTS[a\(i)]")
            }
        }
        var video = "v0"
        var audio = "a0"
        var length = sources.first?.length ?? 0
        // After each join, one time base and frames numbered anew: concat leaves microseconds
        // (which the next xfade refuses), and xfade a gap of one frame's time after its
        // transition (which would show the clip a frame late and move the next offset).
        let renumber = "settb=1/\(fps),setpts=N/(\(fps)*TB)"
        for (i, source) in sources.enumerated().dropFirst() {
            let (v, a) = ("vj\(i)", "aj\(i)")
            switch source.transition {
            case .cut:
                parts.append("[\(video)][v\(i)]concat=n=2:v=1:a=0,\(renumber)[\(v)]")
                parts.append("[\(audio)][a\(i)]concat=n=2:v=0:a=1[\(a)]")
            case .crossfade(let d), .fade(let d):
                let kind = source.transition == .crossfade(d) ? "fade" : "fadeblack"
                parts.append(
                    "[\(video)][v\(i)]xfade=transition=\(kind):duration=\(n(d)):offset=\(n(length - d)),\(renumber)[\(v)]"
                )
                parts.append("[\(audio)][a\(i)]acrossfade=d=\(n(d)):c1=tri:c2=tri[\(a)]")
            }
            length += source.length - source.transition.seconds
            (video, audio) = (v, a)
        }
        parts.append("[\(video)]null[vout]")
        if let music {
            var bed =
                "[\(sources.count):a:0]aformat=sample_rates=48000:channel_layouts=stereo,volume=\(n(music.volume)),"
                + "apad,atrim=0:\(n(length)),asetpts=PTS-STARTPTS"
            if music.fadeOut > 0 {
                let fade = min(music.fadeOut, length)
                bed += ",afade=t=out:st=\(n(length - fade)):d=\(n(fade))"
            }
            parts.append(bed + "[music]")
            parts.append("[\(audio)][music]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[aout]")
        } else {
            parts.append("[\(audio)]anull[aout]")
        }
        return parts.joined(separator: ";")
    }

    /// ffmpeg's arguments, writing to `output`; progress as key=value lines on stdout.
    func arguments(root: ProjectFolder, output: String) -> [String] {
        var arguments = ["-nostdin", "-v", "error", "-y", "-progress", "pipe:1", "-nostats"]
        // Local files only, each with the demuxer its bytes named: never a playlist or a list.
        for source in sources { arguments += source.file.ffmpegInput }
        if let music { arguments += music.file.ffmpegInput }
        // Exactly the film's length: the rate conversion may round a frame up at an edit.
        arguments += ["-filter_complex", filterGraph, "-map", "[vout]", "-map", "[aout]", "-t", Self.number(seconds)]
        arguments += ["-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p", "-r", "\(fps)"]
        arguments += ["-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-movflags", "+faststart", "-f", "mp4"]
        return arguments + [root.url(output).path]
    }
}
