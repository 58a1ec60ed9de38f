import Foundation

/// What `apply` does about the cut: assemble it, or leave it as it is.
package struct PlannedCut: Codable, Sendable, Equatable {
    package enum Action: String, Codable, Sendable {
        case assemble, unchanged
        /// A clip's render is uncertain: nothing to assemble from until it is imported or replaced.
        case blocked
    }

    /// The film, relative to the project file's folder: `renders/eagle.mp4`.
    package var path: String
    package var action: Action
    /// The takes it uses, in cut order: `sunrise.take2`, `snow`.
    package var clips: [String]
    /// Its length when every clip's length is known.
    package var seconds: Double?
    /// Known when every clip is rendered and recorded: what `apply` compares.
    package var fingerprint: String?
    package var reasons: [String]
}

extension Cut {
    static let fingerprintFormat = "kling-render/cut/1"

    /// SHA-256 over the cut as written (takes resolved) and the SHA-256 of every file it uses:
    /// a new trim, a new pick or a new render of a clip changes it; a comment does not.
    package func fingerprint(in project: Project, clipFiles: [String]) -> String {
        var clipValues: [JSONValue] = []
        for (clip, sha) in zip(clips, clipFiles) {
            clipValues.append(
                .object([
                    "shot": .string(clip.shot), "take": .int(take(of: clip, in: project)), "in": .double(clip.inPoint),
                    "out": clip.outPoint.map(JSONValue.double) ?? .null, "transition": .string(clip.transition.written),
                    "sha256": .string(sha),
                ]))
        }
        let body: JSONValue = .object([
            "format": .string(Self.fingerprintFormat), "output": .string(output),
            "size": size.map { .string("\($0.width)x\($0.height)") } ?? .null, "fps": fps.map(JSONValue.int) ?? .null,
            "clips": .array(clipValues),
            "audio": .object([
                "shots": .string(audio.keepShots ? "keep" : "mute"),
                "music": audio.music.map { .string($0.sha256) } ?? .null, "music_volume": .double(audio.musicVolume),
                "fade_out": .double(audio.fadeOut),
            ]),
        ])
        return Digest.sha256Hex(CanonicalJSON.compact(body))
    }
}

extension Planner {
    /// The cut's action: assembled when a clip renders or is fetched, when the cut or a clip's
    /// file changed since it was assembled, or when its file is not on disk as recorded.
    func planCut(_ project: Project, shots: [Plan.PlannedShot], manifest: Manifest?, paths: ProjectPaths)
        throws(PlanError) -> PlannedCut?
    {
        guard let cut = project.cut else { return nil }
        let path = paths.inOutput(cut.output)
        var reasons: [String] = []
        var files: [String] = []
        var keys: [String] = []
        for (n, clip) in cut.clips.enumerated() {
            let key = Take.key(clip.shot, cut.take(of: clip, in: project))
            keys.append(key)
            guard let row = shots.first(where: { $0.key == key }) else {
                throw PlanError(
                    message: "\(project.file):\(clip.location.line):\(clip.location.column): `cut.clips[\(n)]` takes "
                        + "take \(Take.parse(key)?.number ?? 1) of `\(clip.shot)`, which it does not have")
            }
            if row.action == .uncertain {
                return PlannedCut(
                    path: path, action: .blocked,
                    clips: cut.clips.map { Take.key($0.shot, cut.take(of: $0, in: project)) },
                    seconds: cut.seconds(in: project), fingerprint: nil,
                    reasons: ["clip \(n + 1) (\(row.label)) is uncertain: import its task or --replace it first"])
            }
            if row.action != .unchanged {
                reasons.append(
                    "clip \(n + 1) (\(row.label)) \(row.action == .download ? "is fetched again" : "renders")")
            } else if let sha = manifest?.shots[key]?.files.first?.sha256 {
                files.append(sha)
            }
        }
        var fingerprint: String?
        if reasons.isEmpty, files.count == cut.clips.count {
            fingerprint = cut.fingerprint(in: project, clipFiles: files)
            if let recorded = manifest?.cut {
                if recorded.fingerprint != fingerprint {
                    reasons.append("the cut or a clip it uses changed since it was assembled")
                } else {
                    switch recorded.file.check(in: paths, expected: path, verify: options.verify) {
                    case .ok: break
                    case .missing: reasons.append("\(path) is missing")
                    default: reasons.append("\(path) is not as recorded")
                    }
                }
            } else {
                reasons.append("never assembled")
            }
        } else if reasons.isEmpty {
            reasons.append("a clip has no file recorded")
        }
        return PlannedCut(
            path: path, action: reasons.isEmpty ? .unchanged : .assemble, clips: keys,
            seconds: cut.seconds(in: project),
            fingerprint: fingerprint, reasons: reasons)
    }
}
