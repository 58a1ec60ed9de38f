import Foundation
import KlingRenderCore

/// Hosting a frame of an upstream shot's video (continuity): a `FrameStep` after the upstream's
/// render and download, then its upload. A frame already on disk from an earlier run of an
/// unchanged upstream shot is uploaded as it is, not taken again.
package struct FrameKind: InputKind {
    let context: RunContext
    let reusable: Set<String>

    package init(engine: Engine) {
        context = engine.context
        reusable = engine.reusableFrames
    }

    package func node(for input: MediaInput, in graph: inout StepGraph) -> Int? {
        guard case .frame(let upstream, let edge) = input else { return nil }
        let key = context.outputKey(upstream)
        let path = context.paths.framePath(shot: key, edge: edge)
        if let node = graph.hosted[path] { return node }
        let video = [graph.render[key], graph.download[key]].compactMap { $0 }
        let source =
            reusable.contains(path)
            ? video : [graph.add(FrameStep(shot: key, edge: edge, context: context), for: path, after: video, cost: 1)]
        let node = graph.add(UploadStep(paths: [path], context: context), for: path, after: source, cost: 0)
        graph.hosted[path] = node
        return node
    }
}

/// A frame of a shot's video is on disk (`renders/sunrise.last.png`). A frame that cannot be
/// taken is an `AssetEvent.failed`.
package struct FrameExtracted: KindEvent, Equatable {
    package var shot: String?
    package var path: String

    package init(shot: String, path: String) {
        self.shot = shot
        self.path = path
    }

    package var name: String { "frame_extracted" }
    package func fields(_ words: ReasonWords) -> [String: JSONValue]? { ["file": .string(path)] }
    package func line(_ words: ReasonWords) -> String? { "frame \(path)" }
    package func change(_ row: inout TableRow, _ words: ReasonWords, at now: ContinuousClock.Instant) {
        row.detail = "frame \(path)"
    }
}
