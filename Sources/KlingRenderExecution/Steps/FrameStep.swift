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
            return fail("ffmpeg is not installed (Debian: apt-get install ffmpeg)")
        }
        let video = context.paths.videoPath(shot: shot, number: 1)
        guard case .file = context.paths.root.entry(video) else { return fail("\(video) is not on disk") }
        let root = context.paths.root
        let edge = self.edge
        let result = await Task.detached { () -> Result<LocalAsset, FrameError> in
            Result { () throws(FrameError) in
                try FrameExtractor(ffmpeg: ffmpeg, root: root).extract(edge, of: video, to: target)
            }
        }.value
        switch result {
        case .success(let asset):
            await context.assets.set(target, asset)
            context.events(.frameExtracted(shot: shot, path: target))
            return .success
        case .failure(let error):
            return fail(error.detail)
        }
    }

    private func fail(_ detail: String) -> StepEnd {
        let reason = Reason.asset(path: path, detail: detail)
        context.events(.assetFailed(path: path, reason: reason))
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

    package func extract(_ edge: FrameEdge, of video: String, to target: String) throws(FrameError) -> LocalAsset {
        let temporary = target + ".part.\(UInt32.random(in: 0...UInt32.max)).png"
        do {
            // Created here, exclusively: ffmpeg writes into a file that is ours, never through a link.
            try root.createNew(temporary).close()
        } catch {
            throw FrameError(detail: "cannot create \(temporary): \(error)")
        }
        var arguments = ["-nostdin", "-v", "error", "-y", "-i", root.url(video).path, "-map", "0:v:0"]
        arguments += edge == .first ? ["-frames:v", "1"] : ["-update", "1"]
        arguments += ["-f", "image2", "-c:v", "png", root.url(temporary).path]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            root.removeOwnFile(temporary)
            throw FrameError(detail: "cannot run ffmpeg: \(error)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, case .file(let size) = root.entry(temporary), size > 0 else {
            root.removeOwnFile(temporary)
            let text = Printable.short(String(decoding: message.prefix(400), as: UTF8.self), limit: 200)
            throw FrameError(detail: "ffmpeg could not take the \(edge.rawValue) frame of \(video): \(text)")
        }
        do {
            let sha = try root.sha256(temporary)
            try root.rename(temporary, to: target)
            return LocalAsset(resolved: target, sha256: sha, bytes: size, media: .png)
        } catch {
            root.removeOwnFile(temporary)
            throw FrameError(detail: "cannot keep \(target): \(error)")
        }
    }
}
