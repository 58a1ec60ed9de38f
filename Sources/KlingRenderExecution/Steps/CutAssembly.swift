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

    var span: CutSpan { CutSpan(inPoint: inPoint, outPoint: outPoint, transition: transition) }
}

/// The film's sound and its join: the whole film's sound mixed in one pass — the clips' sound
/// trimmed, a silent track for a clip without sound, crossfades (`acrossfade`) where the pictures
/// cross, and the music bed under it all with its volume and fade — and then the segments'
/// picture and that sound joined without encoding again, `+faststart`.
struct CutAssembly: Sendable {
    var sources: [CutSource]
    var fps: Int
    var keepSound: Bool
    /// The music file (through the media gate), its volume and its fade-out in seconds.
    var music: (file: GatedMedia, volume: Double, fadeOut: Double)?

    /// The film's length: the clips' lengths less the transitions.
    var seconds: Double {
        sources.reduce(0) { $0 + $1.length - $1.transition.seconds }
    }

    static func number(_ value: Double) -> String { Cut.decimal(value) }

    /// The sound's filter graph; the clips are inputs `first`…, the music the one after them.
    func audioGraph(first: Int) -> String {
        let n = Self.number
        var parts: [String] = []
        for (i, source) in sources.enumerated() {
            let format = "aformat=sample_rates=48000:channel_layouts=stereo"
            if keepSound, source.hasAudio {
                parts.append(
                    "[\(first + i):a:0]atrim=start=\(n(source.inPoint)):end=\(n(source.outPoint)),asetpts=PTS-STARTPTS,"
                        + "\(format),apad,atrim=0:\(n(source.length))[a\(i)]")
            } else {
                parts.append("anullsrc=r=48000:cl=stereo,atrim=0:\(n(source.length)),asetpts=PTS-STARTPTS[a\(i)]")
            }
        }
        var audio = "a0"
        var length = sources.first?.length ?? 0
        for (i, source) in sources.enumerated().dropFirst() {
            let a = "aj\(i)"
            switch source.transition {
            case .cut: parts.append("[\(audio)][a\(i)]concat=n=2:v=0:a=1[\(a)]")
            case .crossfade(let d), .fade(let d):
                parts.append("[\(audio)][a\(i)]acrossfade=d=\(n(d)):c1=tri:c2=tri[\(a)]")
            }
            length += source.length - source.transition.seconds
            audio = a
        }
        if let music {
            var bed =
                "[\(first + sources.count):a:0]aformat=sample_rates=48000:channel_layouts=stereo,volume=\(n(music.volume)),"
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

    /// ffmpeg's arguments that mix the whole film's sound into `output` (AAC in MP4), exactly
    /// the film's length.
    func soundArguments(output: String) -> [String] {
        var arguments = ["-nostdin", "-v", "error", "-y"]
        // Local files only, each with the demuxer its bytes named: never a playlist or a list.
        for source in sources { arguments += source.file.ffmpegInput }
        if let music { arguments += music.file.ffmpegInput }
        arguments += ["-filter_complex", audioGraph(first: 0), "-map", "[aout]", "-t", Self.number(seconds)]
        return arguments + ["-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-f", "mp4", output]
    }

    /// ffmpeg's arguments that join the segments listed in `list` (a file this tool wrote, naming
    /// only segment files it made, read with the `file` protocol only) with the sound mixed
    /// into `sound`, both copied as they are, writing to `output`, `+faststart`.
    func joinArguments(list: String, sound: String, output: String) -> [String] {
        [
            "-nostdin", "-v", "error", "-y", "-protocol_whitelist", "file", "-f", "concat", "-safe", "1", "-i",
            "file:" + list, "-protocol_whitelist", "file", "-f", "mp4", "-i", "file:" + sound, "-map", "0:v:0", "-map",
            "1:a:0", "-c", "copy", "-t", Self.number(seconds), "-movflags", "+faststart", "-f", "mp4", output,
        ]
    }
}
