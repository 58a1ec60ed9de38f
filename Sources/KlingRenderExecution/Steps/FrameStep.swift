import Foundation
import KlingRenderCore

/// What happens to a continuity frame: the first or the exact last decoded frame of a shot's
/// downloaded video, extracted by ffmpeg as a full-resolution PNG into the output folder
/// (`ID.last.png`), written under a temporary name and renamed, hashed, and put on the asset
/// board for its upload. Local CPU work, bounded by the core count.
package struct FrameStep: Step {
    package var shot: String
    package var edge: FrameEdge
    package var context: RunContext

    package init(shot: String, edge: FrameEdge, context: RunContext) {
        self.shot = shot
        self.edge = edge
        self.context = context
    }

    package var resource: Resource { .cpu }

    package var path: String { context.paths.framePath(shot: shot, edge: edge) }

    package func run() async -> StepEnd {
        let target = path
        guard let ffmpeg = context.ffmpeg else {
            return fail(Program.ffmpeg.missing)
        }
        let video = context.paths.videoPath(shot: shot, number: 1)
        // The video is what the manifest recorded, and a movie: ffmpeg never guesses the format of
        // bytes a server sent (a playlist would make it read other files or hosts).
        guard let recorded = await context.recorder.entry(shot)?.files.first, recorded.path == video else {
            return fail("\(video) is not recorded as downloaded")
        }
        let root = context.paths.root
        let checked = await Task.detached { () -> Result<GatedMedia, FrameError> in
            switch MediaGate.admit(video, in: root, accepting: MediaType.videos) {
            case .failure(let refusal): return .failure(FrameError(detail: refusal.description))
            case .success(let file):
                guard (try? root.sha256(video)) == recorded.sha256 else {
                    return .failure(
                        FrameError(
                            detail:
                                "\(video) is not the file the manifest recorded: `kling-render plan --verify` fetches it again"
                        ))
                }
                return .success(file)
            }
        }.value
        do {
            let asset = try await FrameExtractor(ffmpeg: ffmpeg, root: root).extract(
                edge, of: checked.get(), to: target)
            await context.assets.set(target, asset)
            context.emit(FrameExtracted(shot: shot, path: target))
            return .success
        } catch {
            return fail(error.detail)
        }
    }

    private func fail(_ detail: String) -> StepEnd {
        let reason = Reason.asset(path: path, detail: detail)
        context.emit(AssetEvent.failed(path: path, reason: reason))
        return .ended(.failed(reason))
    }
}

package struct FrameError: Error, Sendable {
    package var detail: String
}

/// Runs ffmpeg for one frame. The last frame is the last one decoded (every frame is decoded and
/// each overwrites the one before), not the nearest keyframe.
package struct FrameExtractor: Sendable {
    package var ffmpeg: String
    package var root: ProjectFolder

    package init(ffmpeg: String, root: ProjectFolder) {
        self.ffmpeg = ffmpeg
        self.root = root
    }

    /// Seconds ffmpeg has to take one frame of a clip of at most 15 s before it is stopped.
    static let timeout: Duration = .seconds(120)

    package func extract(_ edge: FrameEdge, of file: GatedMedia, to target: String) async throws(FrameError)
        -> LocalAsset
    {
        let video = file.path
        let temporary = target + ".part.\(UInt32.random(in: 0...UInt32.max)).png"
        do {
            // Created here, exclusively: ffmpeg writes into a file that is ours, never through a link.
            try root.createNew(temporary).close()
        } catch {
            throw FrameError(detail: "cannot create \(temporary): \(error)")
        }
        // Through the gate (local files only, the demuxer its bytes named); `-update 1` writes one
        // image at a literal path (no `%d` pattern), each decoded frame over the one before.
        var arguments = ["-nostdin", "-v", "error", "-y"] + file.ffmpegInput + ["-map", "0:v:0"]
        if edge == .first { arguments += ["-frames:v", "1"] }
        arguments += ["-update", "1", "-f", "image2", "-c:v", "png", root.url(temporary).path]
        let (status, message) = await Executable.run(ffmpeg, arguments, timeout: Self.timeout)
        guard status == 0, case .file(let size) = root.entry(temporary), size > 0 else {
            root.removeOwnFile(temporary)
            let text = Printable.short(message, limit: 200)
            throw FrameError(detail: "ffmpeg could not take the \(edge.rawValue) frame of \(video): \(text)")
        }
        do {
            let handle = try root.openForReading(temporary)
            let data = try handle.readToEnd() ?? Data()
            try? handle.close()
            // A frame is an image input like any other: it must be a PNG within the API's 10 MB.
            // (Its pixel size is the video's; the simulator's placeholder clips are smaller than
            // the API's 300 px, real renders never are.)
            guard MediaGate.sniff([UInt8](data.prefix(16))) == .png else {
                root.removeOwnFile(temporary)
                throw FrameError(detail: "ffmpeg did not write a PNG for the \(edge.rawValue) frame of \(video)")
            }
            if Int64(data.count) > InputLimits.maxImageBytes {
                root.removeOwnFile(temporary)
                throw FrameError(
                    detail:
                        "the \(edge.rawValue) frame of \(video) is \(data.count / 1_000_000) MB as a PNG, over the API's 10 MB for an image"
                )
            }
            try root.rename(temporary, to: target)
            return LocalAsset(resolved: target, sha256: Digest.sha256Hex(data), bytes: size, media: .png)
        } catch let error as FrameError {
            throw error
        } catch {
            root.removeOwnFile(temporary)
            throw FrameError(detail: "cannot keep \(target): \(error)")
        }
    }
}
