/// Where a media field's bytes come from: a URL the API fetches itself, a file beside the
/// project (hosted by the asset store), another shot's video, or a frame of another shot's video.
package enum MediaInput: Sendable, Hashable {
    case url(String)
    /// A path relative to the project file's folder, normalized.
    case file(String)
    /// `${shots.ID.video}`
    case shotVideo(String)
    /// `${shots.ID.last_frame}` or `${shots.ID.first_frame}`
    case frame(String, FrameEdge)

    /// The shot this input comes from, if it is another shot's output.
    package var upstream: String? {
        switch self {
        case .shotVideo(let id), .frame(let id, _): id
        case .url, .file: nil
        }
    }

    /// How the project file writes it: what the plan shows and the manifest keeps as the source.
    package var written: String {
        switch self {
        case .url(let u): u
        case .file(let p): p
        case .shotVideo(let id): "${shots.\(id).video}"
        case .frame(let id, let edge): "${shots.\(id).\(edge.reference)}"
        }
    }
}

/// Which frame of a video a continuity input takes.
package enum FrameEdge: String, Sendable, Hashable, Codable, CaseIterable {
    case first, last

    /// `last_frame`: the name after `${shots.ID.`.
    package var reference: String { rawValue + "_frame" }
}

extension MediaInput {
    /// What the plan compares and the manifest keeps as the field's source: as written, a local
    /// file with its content's hash (the same bytes under another name are the same source).
    package func source(_ files: [String: InputFile]) -> String {
        guard case .file(let path) = self else { return written }
        return "sha256:" + (files[path]?.sha256 ?? "?")
    }
}
