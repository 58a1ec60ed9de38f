import Foundation

/// What `apply` would do to each shot, and what it would cost. A value: printed by `plan`,
/// saved by `plan --out`, executed by `apply`.
package struct Plan: Codable, Sendable, Equatable {
    package enum Action: String, Codable, Sendable, CaseIterable {
        /// New: never rendered.
        case render
        /// Rendered before, but its request (or an upstream shot) changed, or it failed.
        case rerender = "re-render"
        /// Done, same fingerprint, files present.
        case unchanged
        /// Submitted and not finished: polled, never submitted again.
        case resume
        /// Rendered; its file is missing or corrupt: fetched again, no credits.
        case download
        /// A request went out and its answer was lost: not resubmitted unless `--replace`.
        case uncertain

        /// Whether apply has anything to do for it.
        package var isChange: Bool { self != .unchanged && self != .uncertain }
        /// Whether it is submitted to the API, and so costs credits.
        package var submits: Bool { self == .render || self == .rerender }
    }

    package struct Input: Codable, Sendable, Equatable {
        package var id: String
        package var kind: Dependency.Kind
        /// The request field the upstream output feeds; nil for `after`.
        package var field: String?
        /// The upstream shot's take it waits for: its pick.
        package var take: Int
    }

    package struct Change: Codable, Sendable, Equatable {
        package var field: String
        package var before: JSONValue?
        package var after: JSONValue?
        /// The local file the field names now, when the change is its content (`sha256:…`).
        package var file: String?
        /// What changed, word by word or element by element (nil in a plan saved before diffs).
        package var diff: FieldDiff?

        /// `files`: the local file behind each element of the new value, where it is one.
        package init(field: String, before: JSONValue?, after: JSONValue?, files: [String?] = []) {
            self.field = field
            self.before = before
            self.after = after
            file = files.count == 1 ? files[0] : nil
            diff = FieldDiff.of(before, after, files: files)
        }
    }

    package struct PlannedShot: Codable, Sendable, Equatable {
        package var id: String
        /// Which of the shot's renders: 1 for the shot itself, more for its other takes.
        package var take: Int
        /// Whether this take is the one the shot's users get.
        package var picked: Bool
        package var type: String
        package var action: Action
        /// Credits this plan spends on the shot: its estimate when submitted, else 0.
        package var credits: Int
        /// The price table's estimate for one render of the shot.
        package var estimatedCredits: Int
        /// nil for edits, whose length follows their source.
        package var seconds: Int?
        package var fingerprint: String
        package var dependsOn: [Input]
        /// Why it renders again, in words ("prompt changed", "upstream sunrise changes").
        package var reasons: [String]
        package var changes: [Change]
        /// The task to resume, or whose answer was lost.
        package var taskID: String?

        enum CodingKeys: String, CodingKey {
            case id, take, picked, type, action, credits, seconds, fingerprint, reasons, changes
            case estimatedCredits = "estimated_credits"
            case dependsOn = "depends_on"
            case taskID = "task_id"
        }

        /// The manifest key and file stem of this take: `sunrise`, `sunrise.take2`.
        package var key: String { Take.key(id, take) }
        /// How messages name it: `sunrise`, `sunrise take 2`.
        package var label: String { Take.label(id, take) }
    }

    package struct RemovedShot: Codable, Sendable, Equatable {
        package var id: String
        package var type: String
        package var files: [String]
    }

    package var project: String
    package var file: String
    package var manifest: String
    package var simulated: Bool
    /// In dependency order.
    package var shots: [PlannedShot]
    package var removed: [RemovedShot]
    package var totalCredits: Int
    /// `budget:`: the cap of what the project spends, to date and in this plan.
    package var budget: Int?
    /// `--max-credits`: the cap of this one run.
    package var maxCredits: Int?
    /// What the project spent to date, by its manifest's ledger.
    package var spentCredits = 0
    /// Local work before the renders: frames to extract, files to upload.
    package var assets = AssetWork()
    /// The film, when the project has a `cut:` (and the plan is not limited to other targets).
    package var cut: PlannedCut?

    enum CodingKeys: String, CodingKey {
        case project, file, manifest, simulated, shots, removed, budget, assets, cut
        case totalCredits = "total_credits"
        case maxCredits = "max_credits"
        case spentCredits = "spent_credits"
    }

    package init(
        project: String, file: String, manifest: String, simulated: Bool, shots: [PlannedShot],
        removed: [RemovedShot], totalCredits: Int, budget: Int?
    ) {
        self.project = project
        self.file = file
        self.manifest = manifest
        self.simulated = simulated
        self.shots = shots
        self.removed = removed
        self.totalCredits = totalCredits
        self.budget = budget
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        project = try c.decode(String.self, forKey: .project)
        file = try c.decode(String.self, forKey: .file)
        manifest = try c.decode(String.self, forKey: .manifest)
        simulated = try c.decode(Bool.self, forKey: .simulated)
        shots = try c.decode([PlannedShot].self, forKey: .shots)
        removed = try c.decode([RemovedShot].self, forKey: .removed)
        totalCredits = try c.decode(Int.self, forKey: .totalCredits)
        budget = try c.decodeIfPresent(Int.self, forKey: .budget)
        maxCredits = try c.decodeIfPresent(Int.self, forKey: .maxCredits)
        spentCredits = try c.decodeIfPresent(Int.self, forKey: .spentCredits) ?? 0
        assets = try c.decodeIfPresent(AssetWork.self, forKey: .assets) ?? AssetWork()
        cut = try c.decodeIfPresent(PlannedCut.self, forKey: .cut)
    }

    package func count(_ action: Action) -> Int { shots.filter { $0.action == action }.count }

    package var hasChanges: Bool { shots.contains { $0.action.isChange } || cut?.action == .assemble }

    /// "Plan: 3 to render, 1 to re-render, 2 unchanged — 1,234 credits."
    package var summary: String {
        var parts: [String] = []
        let phrases: [(Action, String)] = [
            (.render, "to render"), (.rerender, "to re-render"), (.resume, "to resume"),
            (.download, "to download"), (.uncertain, "uncertain"), (.unchanged, "unchanged"),
        ]
        for (action, phrase) in phrases {
            let n = count(action)
            if n > 0 || action == .render || action == .unchanged { parts.append("\(n) \(phrase)") }
        }
        if !removed.isEmpty { parts.append("\(removed.count) removed") }
        if cut?.action == .assemble { parts.append("the cut to assemble") }
        return "Plan: \(parts.joined(separator: ", ")) — \(totalCredits.formatted) credits."
    }

    /// The cap the plan would pass, if any: `--max-credits` for this run, `budget:` for the
    /// project's spend to date plus this plan. A plan that pays nothing passes neither.
    package var budgetProblem: BudgetProblem? {
        guard totalCredits > 0 else { return nil }
        if let maxCredits, totalCredits > maxCredits { return .overRunCap(credits: totalCredits, cap: maxCredits) }
        if let budget, spentCredits.addingSaturated(totalCredits) > budget {
            return .overBudget(spent: spentCredits, credits: totalCredits, budget: budget)
        }
        return nil
    }
}

/// A cap a plan would pass.
package enum BudgetProblem: Sendable, Equatable {
    /// `--max-credits`: the cap of one run.
    case overRunCap(credits: Int, cap: Int)
    /// `budget:`: the cap of the project's spend to date plus this plan.
    case overBudget(spent: Int, credits: Int, budget: Int)
}

/// What a plan does locally before its renders: frames taken from upstream videos, and local
/// files uploaded to the asset store (each content once).
package struct AssetWork: Codable, Sendable, Equatable {
    package struct Upload: Codable, Sendable, Equatable {
        package var path: String
        package var sha256: String
        package var bytes: Int64
    }

    /// `sunrise.last_frame`: each frame to extract, once.
    package var frames: [String] = []
    /// Files whose content the store is not known to hold.
    package var uploads: [Upload] = []

    package var isEmpty: Bool { frames.isEmpty && uploads.isEmpty }

    /// How `frames` names a frame: `sunrise.last_frame`.
    package static func frameName(_ shot: String, _ edge: FrameEdge) -> String { "\(shot).\(edge.reference)" }
    package var bytes: Int64 { uploads.reduce(0) { $0 + $1.bytes } }

    /// The work the shots that submit in `plan` need. In a rehearsal without `assets:` the store
    /// lives as long as the run, so every file counts.
    static func of(_ plan: Plan, project: Project, manifest: Manifest?, paths: ProjectPaths) -> AssetWork {
        var work = AssetWork()
        let store = project.assets?.label
        // What the store holds, and each take's action: looked up, not searched, once per input.
        let stored = Set(manifest?.assets?.values.filter { $0.store == store }.map(\.sha256) ?? [])
        let actions = Dictionary(plan.shots.map { ($0.key, $0.action) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        for planned in plan.shots where planned.action.submits {
            guard let shot = project.shot(planned.id) else { continue }
            for (_, input) in shot.mediaInputs {
                switch input {
                case .file(let path):
                    guard let file = project.inputFiles[path], seen.insert(file.sha256).inserted else { continue }
                    if store == nil || !stored.contains(file.sha256) {
                        work.uploads.append(Upload(path: path, sha256: file.sha256, bytes: file.bytes))
                    }
                case .frame(let id, let edge):
                    let key = project.shot(id)?.pickedKey ?? id
                    let name = Self.frameName(key, edge)
                    let unchanged = actions[key] == .unchanged
                    let path = paths.framePath(shot: key, edge: edge)
                    if manifest?.reusableFrame(path, upstreamUnchanged: unchanged, root: paths.root) != nil { continue }
                    if seen.insert(name).inserted { work.frames.append(name) }
                case .url, .shotVideo:
                    continue
                }
            }
        }
        return work
    }
}
