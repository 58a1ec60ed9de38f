import Foundation

/// `kling-render status`: the manifest against the project file and the files on disk.
package struct ProjectStatus: Codable, Sendable, Equatable {
    package enum FileState: String, Codable, Sendable {
        case ok, missing, modified
        /// The manifest names a path where kling-render keeps no video of this shot: not looked at.
        case ignored
    }

    package struct File: Codable, Sendable, Equatable {
        package var path: String
        package var bytes: Int64
        package var state: FileState
    }

    /// A shot's state: the manifest's status, or not rendered at all.
    package enum RenderState: String, Codable, Sendable {
        case notRendered = "not rendered"
        case submitting, running, succeeded, failed, uncertain

        init(_ status: ShotStatus) {
            switch status {
            case .submitting: self = .submitting
            case .running: self = .running
            case .succeeded: self = .succeeded
            case .failed: self = .failed
            case .uncertain: self = .uncertain
            }
        }
    }

    package struct ShotStatusRow: Codable, Sendable, Equatable {
        package var id: String
        /// Which of the shot's renders (1 for the shot itself).
        package var take: Int = 1
        /// Whether this take is the one the shot's users get.
        package var picked = true
        /// A take beyond what the file asks for (made by `--retake`, or before `takes:` was lowered):
        /// kept as it is, never rendered again, not needed for the project to be clean.
        package var extra = false
        package var type: String
        package var status: RenderState
        /// Whether the render stands for the shot as the file now says it (same fingerprint).
        package var current: Bool
        package var taskID: String?
        package var consumedCredits: Int?
        package var files: [File]
        package var error: String?

        /// Rendered, current, and every file on disk as recorded.
        package var isDone: Bool {
            status == .succeeded && current && !files.isEmpty && files.allSatisfy { $0.state == .ok }
        }

        /// The manifest key and file stem of this take.
        package var key: String { Take.key(id, take) }

        enum CodingKeys: String, CodingKey {
            case id, take, picked, extra, type, status, current, files, error
            case taskID = "task_id"
            case consumedCredits = "consumed_credits"
        }
    }

    /// A file the manifest records as hosted in the asset store.
    package struct Asset: Codable, Sendable, Equatable {
        package enum State: String, Codable, Sendable {
            /// A local input of the project, with the bytes that were hosted.
            case current
            /// A local input of the project whose bytes changed since: the next render hosts them again.
            case changed
            /// A frame or a video the tool hosted, on disk with the recorded size.
            case onDisk = "on disk"
            /// Not an input of the project any more, nor on disk.
            case gone
        }

        package var path: String
        package var bytes: Int64
        package var store: String
        package var key: String
        package var state: State
    }

    package var project: String
    package var manifest: String
    package var endpoint: String?
    package var shots: [ShotStatusRow]
    package var assets: [Asset]
    /// In the manifest, no longer in the file: their files are left alone.
    package var removed: [String]
    /// Credits the project spent to date: every task it paid for, superseded ones included.
    package var spentCredits: Int
    /// `budget:`, when the project has one.
    package var budget: Int?
    /// Whether the manifest is a rehearsal's (its credits are not real).
    package var simulated: Bool
    /// The film, when the project has a `cut:`.
    package var cut: CutRow?

    /// The film against the cut as written and the clips as rendered.
    package struct CutRow: Codable, Sendable, Equatable {
        package enum State: String, Codable, Sendable {
            /// On disk as recorded, and it stands for the cut and clips as they are.
            case current
            /// The cut, a clip's pick or a clip's render changed since it was assembled.
            case stale
            case missing
            case modified
            /// Never assembled, or a clip it needs is not rendered.
            case notAssembled = "not assembled"
        }

        package var path: String
        /// As recorded at its assembly.
        package var seconds: Double?
        package var state: State
    }

    enum CodingKeys: String, CodingKey {
        case project, manifest, endpoint, shots, assets, removed, budget, simulated, cut
        case spentCredits = "spent_credits"
    }

    /// Whether every shot is rendered, current and on disk as recorded, and the film too.
    package var isClean: Bool {
        removed.isEmpty && shots.allSatisfy { $0.extra || $0.isDone } && (cut == nil || cut?.state == .current)
    }

    /// The film's row: what the manifest recorded, checked as `plan` checks it.
    static func cutRow(_ workspace: Workspace, verify: Bool) -> CutRow? {
        let project = workspace.project
        guard let cut = project.cut else { return nil }
        let path = workspace.paths.inOutput(cut.output)
        guard let recorded = workspace.manifest?.cut else {
            return CutRow(path: path, seconds: nil, state: .notAssembled)
        }
        let files = cut.clips.compactMap { clip in
            workspace.manifest?.shots[Take.key(clip.shot, cut.take(of: clip, in: project))]?.files.first?.sha256
        }
        var row = CutRow(path: path, seconds: recorded.seconds, state: .current)
        if files.count != cut.clips.count {
            row.state = .notAssembled
        } else if recorded.fingerprint != cut.fingerprint(in: project, clipFiles: files) {
            row.state = .stale
        } else {
            switch recorded.file.check(in: workspace.paths, expected: path, verify: verify) {
            case .ok: break
            case .missing: row.state = .missing
            default: row.state = .modified
            }
        }
        return row
    }

    /// `verify` hashes each file instead of trusting its size.
    package init(workspace: Workspace, verify: Bool) {
        let graph = ShotGraph(workspace.project)
        let fingerprints = Fingerprint.all(graph)
        let manifest = workspace.manifest
        project = workspace.project.name
        self.manifest = workspace.stateDisplay
        endpoint = manifest?.endpoint
        spentCredits = manifest?.spentCredits ?? 0
        budget = workspace.project.budget
        simulated = manifest?.simulated ?? false
        shots = graph.shots.indices.flatMap { i in
            let shot = graph.shots[i]
            let wanted = max(shot.takes, shot.pick)
            let recorded = manifest?.takeNumbers(of: shot.id) ?? []
            return (Array(1...wanted) + recorded.filter { $0 > wanted }).map { take in
                var row = Self.row(
                    shot, take: take, entry: manifest?.shots[Take.key(shot.id, take)],
                    fingerprint: fingerprints[i], paths: workspace.paths, verify: verify)
                row.picked = take == shot.pick
                row.extra = take > wanted
                return row
            }
        }
        cut = Self.cutRow(workspace, verify: verify)
        let ids = Set(graph.shots.map(\.id))
        removed = Set(manifest?.shots.keys.map { Take.parse($0)?.id ?? $0 }.filter { !ids.contains($0) } ?? []).sorted()
        assets = (manifest?.assets ?? [:]).sorted { $0.key < $1.key }.map { path, asset in
            let state: Asset.State =
                if let input = workspace.project.inputFiles[path] {
                    input.sha256 == asset.sha256 ? .current : .changed
                } else if case .file(let size) = workspace.paths.root.entry(path), size == asset.bytes {
                    .onDisk
                } else {
                    .gone
                }
            return Asset(path: path, bytes: asset.bytes, store: asset.store, key: asset.key, state: state)
        }
    }

    /// One take's row: its record, and its files on disk.
    private static func row(
        _ shot: Shot, take: Int, entry: ManifestShot?, fingerprint: String, paths: ProjectPaths, verify: Bool
    ) -> ShotStatusRow {
        guard let entry else {
            return ShotStatusRow(
                id: shot.id, take: take, type: shot.type.name, status: .notRendered, current: false, taskID: nil,
                consumedCredits: nil, files: [], error: nil)
        }
        let files = entry.files.enumerated().map { n, file -> File in
            let expected = paths.videoPath(shot: Take.key(shot.id, take), number: n + 1)
            let state: FileState =
                switch file.check(in: paths, expected: expected, verify: verify) {
                case .ok: .ok
                case .missing: .missing
                case .size, .hash, .notAFile: .modified
                case .misplaced: .ignored
                }
            return File(path: file.path, bytes: file.bytes, state: state)
        }
        return ShotStatusRow(
            id: shot.id, take: take, type: entry.type, status: RenderState(entry.status),
            current: entry.fingerprint == fingerprint,
            taskID: entry.taskID, consumedCredits: entry.consumedCredits, files: files, error: entry.error)
    }
}
