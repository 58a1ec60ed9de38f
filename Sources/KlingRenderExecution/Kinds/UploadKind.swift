import Foundation
import KlingRenderCore

/// Hosting a local file a render uses: one `UploadStep` per content, however many paths and
/// shots name it.
package struct UploadKind: InputKind {
    let context: RunContext
    let files: [String: InputFile]
    /// The paths of the local files that submitting shots use, grouped by content.
    let sharing: [String: [String]]

    package init(engine: Engine) {
        context = engine.context
        files = engine.project.inputFiles
        var sharing: [String: [String]] = [:]
        for planned in engine.plan.shots
        where planned.action.submits || planned.action == .resume && planned.taskID == nil {
            for (_, input) in engine.shots[planned.id]?.mediaInputs ?? [] {
                guard case .file(let path) = input, let file = files[path] else { continue }
                if !(sharing[file.sha256] ?? []).contains(path) { sharing[file.sha256, default: []].append(path) }
            }
        }
        self.sharing = sharing
    }

    package func node(for input: MediaInput, in graph: inout StepGraph) -> Int? {
        guard case .file(let path) = input, let sha = files[path]?.sha256 else { return nil }
        if let node = graph.hosted[sha] { return node }
        let paths = sharing[sha] ?? [path]
        let node = graph.add(UploadStep(paths: paths, context: context), for: paths[0], after: [], cost: 0)
        graph.hosted[sha] = node
        return node
    }
}

/// What hosting a local file or a frame reports. Its rows are none: an asset is not a shot.
package enum AssetEvent: KindEvent, Equatable {
    /// A local file goes to the asset store.
    case uploading(path: String, bytes: Int64)
    /// The store holds the file's content: uploaded now, or found there (no upload).
    case stored(path: String, bytes: Int64, uploaded: Bool)
    case failed(path: String, reason: Reason)

    package var name: String {
        switch self {
        case .uploading: "asset_uploading"
        case .stored: "asset_stored"
        case .failed: "asset_failed"
        }
    }

    package var shot: String? { nil }

    package func fields(_ words: ReasonWords) -> [String: JSONValue]? {
        switch self {
        case .uploading(let path, let bytes): ["file": .string(path), "bytes": .int(Int(bytes))]
        case .stored(let path, let bytes, let uploaded):
            ["file": .string(path), "bytes": .int(Int(bytes)), "uploaded": .bool(uploaded)]
        case .failed(let path, let reason): ["file": .string(path), "reason": .string(words(reason))]
        }
    }

    package func line(_ words: ReasonWords) -> String? {
        switch self {
        case .uploading(let path, let bytes): "uploading \(path) (\(bytes.formatted(.byteCount(style: .file))))"
        case .stored(let path, _, let uploaded): uploaded ? "uploaded \(path)" : "\(path): already in the store"
        case .failed(_, let reason): "failed: \(words(reason))"
        }
    }
}
