import Foundation

/// How to plan: the options of `plan` and `apply`, in one place.
package struct PlanOptions: Sendable, Equatable, Codable {
    /// Limit the plan to these shots and what they need.
    package var targets: [String] = []
    /// Render these again whatever the manifest says.
    package var replace: [String] = []
    /// Overrides `budget:` in the file.
    package var maxCredits: Int?
    package var simulated = false
    /// Hash every file instead of checking its size.
    package var verify = false

    package init(
        targets: [String] = [], replace: [String] = [], maxCredits: Int? = nil, simulated: Bool = false,
        verify: Bool = false
    ) {
        self.targets = targets
        self.replace = replace
        self.maxCredits = maxCredits
        self.simulated = simulated
        self.verify = verify
    }
}

/// A problem with the options themselves (`--target nosuch`).
package struct PlanError: Error, Sendable, Equatable {
    package var message: String
}

/// Compares a project with its manifest and says, per shot, what `apply` will do.
package struct Planner: Sendable {
    package var options: PlanOptions

    package init(options: PlanOptions = PlanOptions()) {
        self.options = options
    }

    package func plan(_ project: Project, manifest: Manifest?, paths: ProjectPaths) throws(PlanError) -> Plan {
        let graph = ShotGraph(project)
        for id in options.targets + options.replace where graph.index[id] == nil {
            throw PlanError(
                message: "no shot `\(id)` in \(project.file)"
                    + (Suggestion.note(for: id, in: graph.index.keys).map { "; \($0)" } ?? ""))
        }
        let fingerprints = Fingerprint.all(graph)
        let included: Set<Int>? =
            options.targets.isEmpty ? nil : graph.closure(of: options.targets.compactMap { graph.index[$0] })
        let replaced = Set(options.replace)

        var actions = [Plan.Action](repeating: .unchanged, count: graph.shots.count)
        /// Shots rendered again because of `--replace`: their new output re-renders what uses it.
        var cascade = Set<Int>()
        var planned: [Plan.PlannedShot] = []
        planned.reserveCapacity(graph.order.count)
        for i in graph.order {
            let shot = graph.shots[i]
            let recorded = manifest?.shots[shot.id]
            var reasons: [String] = []
            var changes: [Plan.Change] = []
            let action: Plan.Action
            let replacedUpstream = shot.dependencies.filter { dependency in
                dependency.kind == .video && graph.index[dependency.id].map { cascade.contains($0) } == true
            }.map(\.id)
            if replaced.contains(shot.id) {
                action = .rerender
                cascade.insert(i)
                reasons = ["replaced on request (--replace)"]
            } else if let recorded {
                if recorded.fingerprint != fingerprints[i] {
                    action = .rerender
                    (reasons, changes) = explain(
                        shot, recorded, graph: graph, actions: actions, fingerprints: fingerprints)
                    if recorded.status == .running, let task = recorded.taskID {
                        reasons.append("task \(task) for the previous version is still running; it is abandoned")
                    }
                } else if !replacedUpstream.isEmpty {
                    action = .rerender
                    cascade.insert(i)
                    reasons = replacedUpstream.map { "upstream \($0) is replaced" }
                } else {
                    switch recorded.status {
                    case .succeeded where recorded.urls.isEmpty:
                        // Paid for, and nothing to fetch: only a new render gives a video. Shown with its credits.
                        action = .rerender
                        reasons = ["the manifest records a finished render with no video URL"]
                    case .succeeded:
                        if let problem = fileProblem(shot.id, recorded, paths: paths) {
                            action = .download
                            let hosts = Set(recorded.urls.compactMap(URLPolicy.host)).sorted()
                            reasons = [problem + "; fetched again from " + hosts.joined(separator: ", ")]
                        } else {
                            action = .unchanged
                        }
                    case .running where recorded.taskID == nil:
                        // An inconsistent record: a task may exist, and submitting again could pay twice.
                        action = .uncertain
                        reasons = [
                            "the manifest says a task is running but names none: a task may exist and be charged; "
                                + "--replace \(shot.id) submits again"
                        ]
                    case .running:
                        action = .resume
                        reasons = ["task \(recorded.taskID ?? "?") is running: polled, never submitted again"]
                    case .submitting, .uncertain:
                        action = .uncertain
                        reasons = [
                            "a request went out and its answer was lost: a task may exist and be charged; "
                                + "--replace \(shot.id) submits again"
                        ]
                    case .failed:
                        action = .rerender
                        reasons = ["the last render failed" + (recorded.error.map { ": \($0)" } ?? "")]
                    }
                }
            } else {
                action = .render
            }
            actions[i] = action
            if let included, !included.contains(i) { continue }
            let estimate = shot.estimatedCredits
            planned.append(
                Plan.PlannedShot(
                    id: shot.id, type: shot.type.name, action: action, credits: action.submits ? estimate : 0,
                    estimatedCredits: estimate, seconds: shot.seconds, fingerprint: fingerprints[i],
                    dependsOn: shot.dependencies.map {
                        Plan.Input(id: $0.id, kind: $0.kind, field: $0.field?.wireName)
                    },
                    reasons: reasons, changes: changes,
                    taskID: action == .resume || action == .uncertain ? recorded?.taskID : nil))
        }

        var removed: [Plan.RemovedShot] = []
        if let manifest, options.targets.isEmpty {
            for (id, entry) in manifest.shots.sorted(by: { $0.key < $1.key }) where graph.index[id] == nil {
                removed.append(Plan.RemovedShot(id: id, type: entry.type, files: entry.files.map(\.path)))
            }
        }

        return Plan(
            project: project.name, file: project.file, manifest: paths.display(paths.manifest, beside: project.file),
            simulated: options.simulated,
            shots: planned, removed: removed, totalCredits: planned.reduce(0) { $0 + $1.credits },
            budget: options.maxCredits ?? project.budget)
    }

    /// Which fields differ from what was sent, and which upstream shots change.
    private func explain(
        _ shot: Shot, _ recorded: ManifestShot, graph: ShotGraph, actions: [Plan.Action], fingerprints: [String]
    ) -> ([String], [Plan.Change]) {
        var reasons: [String] = []
        var changes: [Plan.Change] = []
        if recorded.type != shot.type.name {
            changes.append(Plan.Change(field: "type", before: .string(recorded.type), after: .string(shot.type.name)))
        }
        let inputs = shot.inputs
        let now = shot.request { id in "${shots.\(id).video}" }
        for key in Set(now.keys).union(recorded.request.keys).sorted() where key != "type" {
            let before: JSONValue? =
                recorded.inputs[key].map { .string("${shots.\($0).video}") } ?? recorded.request[key]
            let after = now[key]
            if before != after { changes.append(Plan.Change(field: key, before: before, after: after)) }
        }
        for change in changes { reasons.append("\(change.field) changed") }
        for (field, id) in inputs.sorted(by: { $0.key < $1.key }) where recorded.inputs[field] == id {
            if let u = graph.index[id], actions[u].submits {
                reasons.append("upstream \(id) renders again")
            }
        }
        if reasons.isEmpty { reasons.append("its inputs changed since it was rendered") }
        return (reasons, changes)
    }

    /// Why a finished render's files cannot be trusted, or nil when they can.
    private func fileProblem(_ id: String, _ recorded: ManifestShot, paths: ProjectPaths) -> String? {
        if recorded.files.count != recorded.urls.count { return "no file was downloaded" }
        for (n, file) in recorded.files.enumerated() {
            let expected = paths.videoPath(shot: id, number: n + 1)
            switch file.check(in: paths, expected: expected, verify: options.verify) {
            case .ok: continue
            case .missing: return "\(file.path) is missing"
            case .size(let size): return "\(file.path) has \(size) bytes, not \(file.bytes)"
            case .hash: return "\(file.path) does not match its SHA-256"
            case .notAFile(let kind): return "\(file.path) is \(kind.phrase), not a render"
            case .misplaced(let expected): return "the manifest names a file that is not \(expected); it is ignored"
            }
        }
        return nil
    }
}

/// SHA-256 of a file, read in chunks so memory stays flat.
package enum FileHash {
    package static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = StreamingSHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(chunk)
        }
        return hasher.finalize()
    }
}
