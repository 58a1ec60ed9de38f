import Foundation
import Testing

@testable import KlingRenderCore

/// A project in a temporary folder, with a manifest written as `apply` would.
final class PlanFixture {
    let folder: URL
    let file: URL

    init(_ yaml: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kling-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        file = folder.appendingPathComponent("film.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func rewrite(_ yaml: String) throws { try yaml.write(to: file, atomically: true, encoding: .utf8) }

    func workspace() throws -> Workspace { try Workspace.open(file.path, simulated: false) }

    /// `kling-render accept`: the accepted manifest written as the command writes it.
    func accept(_ ids: [String]) throws -> [String] {
        let workspace = try workspace()
        let (manifest, accepted) = try Acceptance.accept(ids, in: workspace)
        try ManifestStore.write(manifest, to: workspace.paths)
        return accepted
    }

    func plan(_ options: PlanOptions = PlanOptions()) throws -> Plan {
        let w = try workspace()
        return try Planner(options: options).plan(w.project, manifest: w.manifest, paths: w.paths)
    }

    /// Records every take of the current file as rendered, with a downloaded file each, as
    /// `apply` would (with the picks of the upstream shots). `except` and `status` are by key.
    func markAllRendered(
        except: Set<String> = [], status: [String: ShotStatus] = [:], options: PlanOptions = PlanOptions()
    ) throws {
        let w = try workspace()
        let plan = try Planner(options: options).plan(w.project, manifest: w.manifest, paths: w.paths)
        var manifest = w.manifest ?? Manifest(project: w.project.name, endpoint: "http://127.0.0.1", simulated: false)
        for planned in plan.shots where !except.contains(planned.key) && planned.action != .unchanged {
            let shot = try #require(w.project.shot(planned.id))
            let key = planned.key
            let path = w.paths.videoPath(shot: key, number: 1)
            let bytes = Data("video of \(key)".utf8)
            let url = w.paths.absolute(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try bytes.write(to: url)
            let s = status[key] ?? .succeeded
            manifest.shots[key] = ManifestShot(
                type: shot.type.name, fingerprint: planned.fingerprint,
                request: shot.request { "https://videos.example/\($0).mp4" }, inputs: shot.inputs, status: s,
                taskID: "n75task\(key.replacingOccurrences(of: ".", with: "-"))",
                estimatedCredits: shot.estimatedCredits,
                consumedCredits: s == .succeeded ? shot.estimatedCredits : nil,
                urls: s == .succeeded ? ["https://videos.example/\(key).mp4"] : [],
                files: s == .succeeded
                    ? [ManifestFile(path: path, bytes: Int64(bytes.count), sha256: Digest.sha256Hex(bytes))] : [])
            let picks = planned.dependsOn.filter { $0.kind != .after && $0.take != 1 }
            if !picks.isEmpty {
                manifest.shots[key]?.picks = Dictionary(picks.map { ($0.id, $0.take) }, uniquingKeysWith: { a, _ in a })
            }
        }
        try ManifestStore.write(manifest, to: w.paths)
    }
}

@Suite("Planning against the manifest")
struct PlannerTests {
    static let film = """
        version: 1
        budget: 5000
        shots:
          sunrise:
            type: pro-text-to-video
            prompt: An eagle at sunrise
          snow:
            type: o3-pro-video-edit
            prompt: make it snow
            video: ${shots.sunrise.video}
          night:
            type: o3-std-video-edit
            prompt: make it night
            video: ${shots.snow.video}
          portrait:
            type: std-image-to-video
            prompt: the eagle turns its head
            image: https://example.com/eagle.jpg
          roll:
            type: std-text-to-video
            prompt: credits
            sound: false
            after: [night]
        """

    func actions(_ plan: Plan) -> [String: Plan.Action] {
        Dictionary(uniqueKeysWithValues: plan.shots.map { ($0.id, $0.action) })
    }

    @Test("a first plan renders everything, in dependency order, and its credits are the price table's")
    func firstPlan() throws {
        let fixture = try PlanFixture(Self.film)
        let plan = try fixture.plan()
        #expect(plan.shots.map(\.id) == ["sunrise", "snow", "night", "portrait", "roll"])
        #expect(plan.shots.allSatisfy { $0.action == .render })
        #expect(plan.shots.map(\.credits) == [400, 435, 360, 300, 200])
        #expect(plan.totalCredits == 1695)
        #expect(plan.budgetProblem == nil)
        #expect(plan.summary == "Plan: 5 to render, 0 unchanged — 1,695 credits.")
    }

    @Test("after apply, nothing to do")
    func noOp() throws {
        let fixture = try PlanFixture(Self.film)
        try fixture.markAllRendered()
        let plan = try fixture.plan()
        #expect(plan.shots.allSatisfy { $0.action == .unchanged })
        #expect(plan.totalCredits == 0)
        #expect(!plan.hasChanges)
    }

    @Test("a changed prompt re-renders the shot and what uses its output, naming the field and the upstream")
    func rerender() throws {
        let fixture = try PlanFixture(Self.film)
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film.replacingOccurrences(of: "An eagle at sunrise", with: "An eagle at dusk"))
        let plan = try fixture.plan()
        #expect(
            actions(plan) == [
                "sunrise": .rerender, "snow": .rerender, "night": .rerender, "portrait": .unchanged, "roll": .unchanged,
            ])
        let sunrise = try #require(plan.shots.first { $0.id == "sunrise" })
        #expect(
            sunrise.changes == [
                Plan.Change(field: "prompt", before: .string("An eagle at sunrise"), after: .string("An eagle at dusk"))
            ])
        #expect(plan.shots.first { $0.id == "snow" }?.reasons == ["upstream sunrise renders again"])
        #expect(plan.totalCredits == 400 + 435 + 360)
    }

    @Test("each classification: render, re-render, unchanged, resume, download, uncertain, removed")
    func everyClassification() throws {
        let fixture = try PlanFixture(Self.film + "\n  old:\n    type: std-text-to-video\n    prompt: gone soon\n")
        try fixture.markAllRendered(except: ["portrait"], status: ["snow": .running, "roll": .submitting])
        try FileManager.default.removeItem(at: fixture.folder.appendingPathComponent("renders/sunrise.mp4"))
        try fixture.rewrite(
            Self.film.replacingOccurrences(of: "make it night", with: "make it a starry night"))
        let plan = try fixture.plan()
        #expect(
            actions(plan) == [
                "sunrise": .download, "snow": .resume, "night": .rerender, "portrait": .render, "roll": .uncertain,
            ])
        #expect(plan.removed.map(\.id) == ["old"])
        #expect(plan.shots.first { $0.id == "snow" }?.taskID == "n75tasksnow")
        #expect(
            plan.shots.first { $0.id == "sunrise" }?.reasons == [
                "renders/sunrise.mp4 is missing; fetched again from videos.example"
            ])
        #expect(plan.totalCredits == 360 + 300)
        #expect(
            plan.summary
                == "Plan: 1 to render, 1 to re-render, 1 to resume, 1 to download, 1 uncertain, 0 unchanged, 1 removed — 660 credits."
        )
        #expect(plan.hasChanges)
    }

    @Test("a corrupt file (wrong size) is downloaded again; --verify catches same-size corruption")
    func corruptFile() throws {
        let fixture = try PlanFixture(Self.film)
        try fixture.markAllRendered()
        let url = fixture.folder.appendingPathComponent("renders/portrait.mp4")
        let original = try Data(contentsOf: url)
        try Data(repeating: 0x41, count: original.count).write(to: url)
        #expect(actions(try fixture.plan())["portrait"] == .unchanged)
        #expect(actions(try fixture.plan(PlanOptions(verify: true)))["portrait"] == .download)
        try Data("x".utf8).write(to: url)
        #expect(actions(try fixture.plan())["portrait"] == .download)
    }

    @Test("a failed render is rendered again, with its error as the reason")
    func failed() throws {
        let fixture = try PlanFixture(Self.film)
        try fixture.markAllRendered(status: ["portrait": .failed])
        let plan = try fixture.plan()
        #expect(actions(plan)["portrait"] == .rerender)
        #expect(plan.shots.first { $0.id == "portrait" }?.reasons.first?.hasPrefix("the last render failed") == true)
    }

    @Test("--target limits the plan to a shot and what it needs")
    func target() throws {
        let fixture = try PlanFixture(Self.film)
        let plan = try fixture.plan(PlanOptions(targets: ["night"]))
        #expect(plan.shots.map(\.id) == ["sunrise", "snow", "night"])
        #expect(throws: PlanError.self) { try fixture.plan(PlanOptions(targets: ["nite"])) }
    }

    @Test("--replace forces a re-render, and what uses its output follows")
    func replace() throws {
        let fixture = try PlanFixture(Self.film)
        try fixture.markAllRendered()
        let plan = try fixture.plan(PlanOptions(replace: ["snow"]))
        #expect(
            actions(plan) == [
                "sunrise": .unchanged, "snow": .rerender, "night": .rerender, "portrait": .unchanged,
                "roll": .unchanged,
            ])
    }

    @Test("a budget below the total fails the plan; --max-credits overrides it")
    func budget() throws {
        let fixture = try PlanFixture(Self.film.replacingOccurrences(of: "budget: 5000", with: "budget: 1000"))
        #expect(try fixture.plan().budgetProblem == .overBudget(spent: 0, credits: 1695, budget: 1000))
        // `--max-credits` caps one run; it does not raise `budget:`.
        #expect(
            try fixture.plan(PlanOptions(maxCredits: 2000)).budgetProblem
                == .overBudget(spent: 0, credits: 1695, budget: 1000))
        let roomy = try PlanFixture(Self.film)
        #expect(try roomy.plan(PlanOptions(maxCredits: 1000)).budgetProblem == .overRunCap(credits: 1695, cap: 1000))
        #expect(try roomy.plan(PlanOptions(maxCredits: 2000)).budgetProblem == nil)
    }

    @Test("accept keeps the render of a cosmetic change, and of the shots downstream of it only")
    func accept() throws {
        let fixture = try PlanFixture(Self.film)
        try fixture.markAllRendered()
        try fixture.rewrite(
            Self.film.replacingOccurrences(of: "An eagle at sunrise", with: "An eagle at sunrise.")
                .replacingOccurrences(of: "the eagle turns its head", with: "the eagle turns"))
        let accepted = try fixture.accept(["sunrise"])
        #expect(accepted == ["sunrise", "snow", "night"])
        let plan = try fixture.plan()
        #expect(
            actions(plan) == [
                "sunrise": .unchanged, "snow": .unchanged, "night": .unchanged, "portrait": .rerender,
                "roll": .unchanged,
            ])
        let manifest = try #require(try fixture.workspace().manifest)
        #expect(manifest.shots["sunrise"]?.request["prompt"] == .string("An eagle at sunrise"), "what was sent is kept")
    }

    @Test("a saved plan is stale once the project file or the manifest changes")
    func staleness() throws {
        let fixture = try PlanFixture(Self.film)
        let workspace = try fixture.workspace()
        let saved = try SavedPlan(
            workspace: workspace, options: PlanOptions(), plan: try fixture.plan(),
            planFile: fixture.folder.appendingPathComponent("film.plan").path)
        #expect(saved.staleness(against: try fixture.workspace()) == nil)
        try fixture.markAllRendered()
        #expect(saved.staleness(against: try fixture.workspace())?.contains("film.manifest.json changed") == true)
        let resaved = try SavedPlan(
            workspace: try fixture.workspace(), options: PlanOptions(), plan: try fixture.plan(),
            planFile: fixture.folder.appendingPathComponent("film.plan").path)
        try fixture.rewrite(Self.film + "\n")
        #expect(resaved.staleness(against: try fixture.workspace())?.contains("film.yaml changed") == true)
    }

    @Test("the manifest is deterministic: the same state gives the same bytes")
    func deterministicManifest() throws {
        let fixture = try PlanFixture(Self.film)
        try fixture.markAllRendered()
        let url = fixture.folder.appendingPathComponent("film.manifest.json")
        let first = try Data(contentsOf: url)
        let manifest = try Manifest.decode(first)
        try ManifestStore.write(manifest, to: try fixture.workspace().paths)
        #expect(try Data(contentsOf: url) == first)
        #expect(!String(decoding: first, as: UTF8.self).contains("KLING_API_KEY"))
    }
}
