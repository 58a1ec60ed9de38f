import Foundation
import KlingRenderCore

extension CutSegment {
    /// ffmpeg's arguments that encode this segment from the clips' files (by clip number) into `output`.
    func arguments(_ files: (Int) -> GatedMedia, encoding: SegmentEncoding, output: String) -> [String] {
        var arguments = ["-nostdin", "-v", "error", "-y"]
        let graph: String
        switch part {
        case .body(let clip, let start):
            arguments += files(clip).ffmpegInput
            graph = encoding.picture(0, start: start, frames: frames) + "[v]"
        case .transition(let from, let fromStart, let into, let intoStart, let kind):
            arguments += files(from).ffmpegInput + files(into).ffmpegInput
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
