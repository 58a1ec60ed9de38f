import Foundation

/// `kling-render accept`: an existing render stands for a changed shot.
package enum Acceptance {
    /// Records the planned fingerprint of `ids` (and of downstream shots whose only change is an
    /// accepted shot) against their existing renders, every finished take of each. The request
    /// actually sent is kept.
    /// Returns the manifest to write and the accepted ids in plan order. Call with the manifest
    /// read under the lock.
    package static func accept(_ ids: [String], in workspace: Workspace) throws -> (
        manifest: Manifest, accepted: [String]
    ) {
        guard var manifest = workspace.manifest else {
            throw PlanError(message: "nothing has been rendered yet (nothing in \(workspace.state.label))")
        }
        let plan = try Planner().plan(workspace.project, manifest: manifest, paths: workspace.paths)
        let requested = Set(ids)
        for id in ids {
            guard let shot = plan.shots.first(where: { $0.id == id }) else {
                throw PlanError(
                    message: "no shot `\(id)` in \(workspace.project.file)"
                        + (Suggestion.note(for: id, in: plan.shots.map(\.id)).map { "; \($0)" } ?? ""))
            }
            let takes = plan.shots.filter { $0.id == id }
            guard takes.contains(where: { manifest.shots[$0.key]?.status == .succeeded }) else {
                throw PlanError(message: "`\(id)` has no finished render to keep; `apply` renders it")
            }
            guard takes.contains(where: { $0.action == .rerender }) else {
                throw PlanError(message: "`\(id)` is \(shot.action.rawValue): there is no change to accept")
            }
        }
        var accepted: [String] = []
        var acceptedSet = Set<String>()
        for shot in plan.shots where shot.action == .rerender && manifest.shots[shot.key]?.status == .succeeded {
            let changedUpstream = shot.dependsOn.filter { input in
                input.kind == .video
                    && plan.shots.first { $0.id == input.id && $0.take == input.take }?.action.submits == true
            }.map(\.id)
            let onlyUpstream =
                shot.changes.isEmpty && !changedUpstream.isEmpty && changedUpstream.allSatisfy(acceptedSet.contains)
            guard requested.contains(shot.id) || onlyUpstream else { continue }
            manifest.shots[shot.key]?.fingerprint = shot.fingerprint
            // It now stands for the shot as the file says, picks included.
            manifest.shots[shot.key]?.picks = workspace.project.shot(shot.id)?.upstreamPicks {
                workspace.project.shot($0)?.pick
            }
            if !acceptedSet.contains(shot.id) { accepted.append(shot.id) }
            acceptedSet.insert(shot.id)
        }
        return (manifest, accepted)
    }
}
