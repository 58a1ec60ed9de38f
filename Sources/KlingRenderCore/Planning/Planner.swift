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
    /// Render one more take of these shots (`--retake`).
    package var retake: [String] = []
    /// Assemble the cut as a draft (`--draft`), whatever `cut.quality` says. Optional: a plan
    /// saved before drafts existed reads as not one.
    package var draft: Bool?

    package init(
        targets: [String] = [], replace: [String] = [], maxCredits: Int? = nil, simulated: Bool = false,
        verify: Bool = false, retake: [String] = []
    ) {
        self.targets = targets
        self.replace = replace
        self.retake = retake
        self.maxCredits = maxCredits
        self.simulated = simulated
        self.verify = verify
    }
}

/// Why a project cannot be planned: the options (`--target nosuch`), or something written in
/// the file that only the manifest shows wrong (a pick of a take that does not exist), located
/// there like a diagnostic of `validate`.
package struct PlanError: Error, Sendable, Equatable {
    package var message: String
    /// The project file and where in it, when the problem is something written there.
    package var file: String?
    package var location: SourceLocation?
    package var note: String?

    package init(message: String, file: String? = nil, at location: SourceLocation? = nil, note: String? = nil) {
        self.message = message
        self.file = file
        self.location = location
        self.note = note
    }

    /// `film.yaml:12:5: message`, for text that has no room for the source line.
    package var located: String {
        guard let file, let location else { return message }
        return "\(file):\(location.line):\(location.column): \(message)"
    }
}

/// Compares a project with its manifest and says, per shot, what `apply` will do.
package struct Planner: Sendable {
    package var options: PlanOptions

    package init(options: PlanOptions = PlanOptions()) {
        self.options = options
    }

    package func plan(_ project: Project, manifest: Manifest?, paths: ProjectPaths) throws(PlanError) -> Plan {
        let graph = ShotGraph(project)
        // `--target cut`: the film and what it needs (unless a shot is called `cut`).
        let cutTargeted = project.cut != nil && graph.index["cut"] == nil && options.targets.contains("cut")
        let targets =
            options.targets.filter { !cutTargeted || $0 != "cut" }
            + (cutTargeted ? project.cut?.clips.map(\.shot) ?? [] : [])
        for id in targets + options.replace.map(Self.shotOf) + options.retake where graph.index[id] == nil {
            throw PlanError(
                message: "no shot `\(id)` in \(project.file)"
                    + (Suggestion.note(for: id, in: graph.index.keys).map { "; \($0)" } ?? ""))
        }
        var walk = PlanWalk(graph: graph, fingerprints: Fingerprint.all(graph), replaced: Set(options.replace))
        // A retake under `--target` is one more thing asked for, not filtered away.
        let included: Set<Int>? =
            targets.isEmpty ? nil : graph.closure(of: (targets + options.retake).compactMap { graph.index[$0] })
        var planned: [Plan.PlannedShot] = []
        planned.reserveCapacity(graph.order.count)
        for i in graph.order {
            let shot = graph.shots[i]
            let dependsOn = shot.dependencies.map { dependency in
                Plan.Input(
                    id: dependency.id, kind: dependency.kind, field: dependency.field?.wireName,
                    take: graph.index[dependency.id].map { graph.shots[$0].pick } ?? 1)
            }
            let decisions = try takeDecisions(i, project: project, manifest: manifest, walk: &walk, paths: paths)
            if let included, !included.contains(i) { continue }
            for (take, decision) in decisions {
                let estimate = shot.estimatedCredits
                let recorded = manifest?.shots[Take.key(shot.id, take)]
                // Looked up by its external id, and sent again when the API has none: it may pay.
                let lookup = decision.action == .resume && recorded?.taskID == nil
                planned.append(
                    Plan.PlannedShot(
                        id: shot.id, take: take, picked: take == shot.pick, type: shot.type.name,
                        action: decision.action, credits: decision.action.submits || lookup ? estimate : 0,
                        estimatedCredits: estimate, seconds: shot.seconds, fingerprint: walk.fingerprints[i],
                        dependsOn: dependsOn, reasons: decision.reasons, changes: decision.changes,
                        taskID: decision.action == .resume || decision.action == .uncertain ? recorded?.taskID : nil))
            }
        }
        var plan = Plan(
            project: project.name, file: project.file, manifest: paths.display(paths.manifest, beside: project.file),
            simulated: options.simulated, shots: planned, removed: removed(graph, manifest: manifest),
            totalCredits: planned.reduce(0) { $0.addingSaturated($1.credits) },
            budget: project.budget)
        plan.maxCredits = options.maxCredits
        plan.spentCredits = manifest?.spentCredits ?? 0
        plan.assets = AssetWork.of(plan, project: project, manifest: manifest, paths: paths)
        if options.targets.isEmpty || cutTargeted {
            plan.cut = try planCut(project, shots: planned, manifest: manifest, paths: paths)
        }
        return plan
    }

    /// The shot a `--replace` names: `sunrise`, or one take of it, `sunrise.take2` (`sunrise.take1`
    /// for the first alone).
    static func shotOf(_ replaced: String) -> String {
        if replaced.hasSuffix(".take1") { return String(replaced.dropLast(6)) }
        return Take.parse(replaced)?.id ?? replaced
    }

    /// What the walk in dependency order carries from shot to shot.
    struct PlanWalk {
        let graph: ShotGraph
        let fingerprints: [String]
        let replaced: Set<String>
        var actions: [Plan.Action]
        /// Shots rendered again because of `--replace`: their new output re-renders what uses it.
        var cascade = Set<Int>()

        init(graph: ShotGraph, fingerprints: [String], replaced: Set<String>) {
            self.graph = graph
            self.fingerprints = fingerprints
            self.replaced = replaced
            actions = Array(repeating: .unchanged, count: graph.shots.count)
        }
    }

    struct Decision {
        var action: Plan.Action
        var reasons: [String] = []
        var changes: [Plan.Change] = []
    }

    /// What each take of shot `i` will do, in take order: takes 1 to `takes:` and the pick,
    /// recorded takes beyond them that have something to show or a task to finish (never rendered
    /// again unless `--replace ID.takeN` says so), and the new take of `--retake`. The walk goes on
    /// with the picked take's action.
    private func takeDecisions(
        _ i: Int, project: Project, manifest: Manifest?, walk: inout PlanWalk, paths: ProjectPaths
    ) throws(PlanError) -> [(Int, Decision)] {
        let shot = walk.graph.shots[i]
        let recorded = manifest?.takeNumbers(of: shot.id) ?? []
        let retake = options.retake.contains(shot.id) ? max(shot.takes, recorded.last ?? 0) + 1 : nil
        if let retake, retake > Take.maxNumber {
            throw PlanError(message: "`\(shot.id)` has \(retake - 1) takes, the most there can be; pick one of them")
        }
        let existing = max(shot.takes, recorded.last ?? 0, retake ?? 0)
        if shot.pick > existing {
            throw PlanError(
                message: "`pick: \(shot.pick)` names no take of `\(shot.id)`: it has takes 1 to \(existing)",
                file: project.file, at: shot.pickLocation,
                note: "raise `takes:`, or render one more with `kling-render apply --retake \(shot.id)`")
        }
        var result: [(Int, Decision)] = []
        // The takes the cut uses are wanted as the pick is.
        let cutTakes = Set(project.cut?.clips.filter { $0.shot == shot.id }.compactMap(\.take) ?? [])
        let takes = Set(1...shot.takes).union([shot.pick]).union(cutTakes.filter { $0 <= existing }).union(recorded)
            .union(retake.map { [$0] } ?? [])
        for take in takes.sorted() {
            let key = Take.key(shot.id, take)
            var decision = decide(
                i, key: key, recorded: manifest?.shots[key], walk: &walk, paths: paths, provider: project.provider)
            if take == retake { decision = Decision(action: .render, reasons: ["one more take (--retake)"]) }
            if take == shot.pick { walk.actions[i] = decision.action }
            // A pick chosen among renders of the old request now names a new, unseen video.
            if take == shot.pick, shot.takes > 1 || shot.pick > 1, decision.action == .rerender,
                manifest?.shots[key]?.status == .succeeded
            {
                decision.reasons.append(
                    "`pick: \(shot.pick)` will name the new take \(shot.pick), which no one has seen: review the takes (`kling-render review`) and pick again"
                )
            }
            // A take beyond what the file asks for is kept as it is: shown, its task finished or its
            // lost answer reported, never rendered or fetched again unless named.
            let wanted = take <= shot.takes || take == shot.pick || take == retake || cutTakes.contains(take)
            let kept: Set<Plan.Action> = [.unchanged, .resume, .uncertain]
            if !wanted, !kept.contains(decision.action), !walk.replaced.contains(key) { continue }
            result.append((take, decision))
        }
        return result
    }

    /// One take's action, from `--replace`, its fingerprint against the record, and the record's state.
    private func decide(
        _ i: Int, key: String, recorded: ManifestShot?, walk: inout PlanWalk, paths: ProjectPaths, provider: Provider
    ) -> Decision {
        let shot = walk.graph.shots[i]
        let replacedUpstream = shot.dependencies.filter { dependency in
            dependency.kind != .after && walk.graph.index[dependency.id].map { walk.cascade.contains($0) } == true
        }.map(\.id)
        var decision: Decision
        if walk.replaced.contains(shot.id) || walk.replaced.contains(key == shot.id ? shot.id + ".take1" : key) {
            // Only a new picked take is new output for the shots that use it.
            if key == shot.pickedKey { walk.cascade.insert(i) }
            decision = Decision(action: .rerender, reasons: ["replaced on request (--replace)"])
        } else if let recorded, recorded.fingerprint != walk.fingerprints[i] {
            decision = Decision(action: .rerender)
            (decision.reasons, decision.changes) = explain(
                shot, recorded, graph: walk.graph, actions: walk.actions, fingerprints: walk.fingerprints)
            if recorded.status == .running, let task = recorded.taskID {
                decision.reasons.append("task \(task) for the previous version is still running; it is abandoned")
            }
        } else if recorded != nil, !replacedUpstream.isEmpty {
            walk.cascade.insert(i)
            decision = Decision(action: .rerender, reasons: replacedUpstream.map { "upstream \($0) is replaced" })
        } else if let recorded {
            decision = decideFromRecord(key, recorded, paths: paths, provider: provider)
        } else {
            decision = Decision(action: .render)
        }
        return decision
    }

    /// A current take's action from what its record says.
    private func decideFromRecord(_ key: String, _ recorded: ManifestShot, paths: ProjectPaths, provider: Provider)
        -> Decision
    {
        // `--replace sunrise.take2` submits that take alone again.
        let uncertain =
            "a task may exist and be charged; --replace \(key) submits again, or `kling-render import` adopts the task"
        switch recorded.status {
        case .succeeded where recorded.urls.isEmpty:
            // Paid for, and nothing to fetch: only a new render gives a video. Shown with its credits.
            return Decision(action: .rerender, reasons: ["the manifest records a finished render with no video URL"])
        case .succeeded:
            guard let problem = fileProblem(key, recorded, paths: paths) else {
                return Decision(action: .unchanged)
            }
            let hosts = Set(recorded.urls.compactMap(URLPolicy.host)).sorted()
            return Decision(
                action: .download, reasons: [problem + "; fetched again from " + hosts.joined(separator: ", ")])
        case .running where recorded.taskID == nil:
            // An inconsistent record: a task may exist, and submitting again could pay twice.
            return Decision(
                action: .uncertain, reasons: ["the manifest says a task is running but names none: " + uncertain])
        case .running:
            return Decision(
                action: .resume, reasons: ["task \(recorded.taskID ?? "?") is running: polled, never submitted again"])
        case .submitting, .uncertain:
            // The official API finds a task by the id it was given before it was sent.
            if let external = recorded.externalTaskID, provider.namesTasks {
                return Decision(
                    action: .resume,
                    reasons: [
                        "a request went out and its answer was lost: looked up by its external_task_id \(external), "
                            + "adopted if the API has it, else sent again under that id (the API refuses a second task with it)"
                    ])
            }
            return Decision(action: .uncertain, reasons: ["a request went out and its answer was lost: " + uncertain])
        case .failed:
            return Decision(
                action: .rerender, reasons: ["the last render failed" + (recorded.error.map { ": \($0)" } ?? "")])
        }
    }

    /// Shots the manifest has and the file no longer does, each with the files of all its takes
    /// (only when the plan is not limited to targets).
    private func removed(_ graph: ShotGraph, manifest: Manifest?) -> [Plan.RemovedShot] {
        guard let manifest, options.targets.isEmpty else { return [] }
        var removed: [String: Plan.RemovedShot] = [:]
        for (key, entry) in manifest.shots.sorted(by: { $0.key < $1.key }) {
            let id = Take.parse(key)?.id ?? key
            guard graph.index[id] == nil else { continue }
            removed[id, default: Plan.RemovedShot(id: id, type: entry.type, files: [])].files += entry.files.map(\.path)
        }
        return removed.values.sorted { $0.id < $1.id }
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
        let now = shot.request { $0.source(graph.files) }
        for key in Set(now.keys).union(recorded.request.keys).sorted() where key != "type" {
            let before: JSONValue? =
                recorded.sources?[key] ?? recorded.inputs[key].map { .string("${shots.\($0).video}") }
                ?? recorded.request[key]
            let after = now[key]
            guard before != after else { continue }
            let files = shot.mediaInputs.filter { $0.field.wireName == key }.map { input -> String? in
                if case .file(let path) = input.input { return path }
                return nil
            }
            changes.append(Plan.Change(field: key, before: before, after: after, files: files))
        }
        for change in changes { reasons.append("\(change.field) changed") }
        let changed = Set(changes.map(\.field))
        for id in shot.upstreamIDs where shot.dependencies.contains(where: { $0.id == id && $0.kind != .after }) {
            let fields = shot.dependencies.filter { $0.id == id }.compactMap { $0.field?.wireName }
            if let u = graph.index[id], actions[u].submits, !fields.contains(where: changed.contains) {
                reasons.append("upstream \(id) renders again")
            }
            if let u = graph.index[id], graph.shots[u].pick != recorded.picks?[id] ?? 1 {
                reasons.append("uses take \(graph.shots[u].pick) of \(id) instead of take \(recorded.picks?[id] ?? 1)")
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
