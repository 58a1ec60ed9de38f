import Foundation
import Testing

@testable import KlingRenderCore

@Suite("Takes and picks: what the plan renders, keeps and re-renders")
struct TakePlanningTests {
    static func film(takes: Int = 3, pick: Int? = 2) -> String {
        """
        version: 1
        shots:
          sunrise:
            type: std-text-to-video
            prompt: a sunrise
            takes: \(takes)
        \(pick.map { "    pick: \($0)" } ?? "")
          snow:
            type: o3-std-video-edit
            prompt: make it snow
            video: ${shots.sunrise.video}
          title:
            type: std-text-to-video
            prompt: the title
        """
    }

    func rows(_ plan: Plan) -> [String] {
        plan.shots.map { "\($0.key) \($0.action.rawValue)\($0.picked ? " picked" : "")" }
    }

    @Test("takes: 3 renders three tasks of one request, each priced; users wait for the picked take")
    func threeTakes() throws {
        let fixture = try PlanFixture(Self.film())
        let plan = try fixture.plan()
        #expect(
            rows(plan) == [
                "sunrise render", "sunrise.take2 render picked", "sunrise.take3 render", "snow render picked",
                "title render picked",
            ])
        let sunrise = plan.shots.filter { $0.id == "sunrise" }
        #expect(Set(sunrise.map(\.fingerprint)).count == 1, "one request, three tasks")
        #expect(sunrise.map(\.credits) == [300, 300, 300])
        #expect(plan.totalCredits == 300 * 3 + 360 + 300)
        #expect(plan.shots.first { $0.id == "snow" }?.dependsOn.map(\.take) == [2])
        #expect(plan.summary == "Plan: 5 to render, 0 unchanged — 1,560 credits.")
    }

    @Test("raising takes renders the new ones only; lowering it renders and forgets nothing")
    func raiseAndLower() throws {
        let fixture = try PlanFixture(Self.film())
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film(takes: 5))
        #expect(
            rows(try fixture.plan()).filter { !$0.hasSuffix("unchanged") && !$0.hasSuffix("unchanged picked") } == [
                "sunrise.take4 render", "sunrise.take5 render",
            ])
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film(takes: 1))
        let lowered = try fixture.plan()
        #expect(!lowered.hasChanges)
        #expect(lowered.shots.filter { $0.id == "sunrise" }.map(\.take) == [1, 2, 3, 4, 5], "kept, shown, unchanged")
        #expect(lowered.removed.isEmpty)
    }

    @Test("a new pick re-renders the shots that use it, never the shot itself, and says which take")
    func newPick() throws {
        let fixture = try PlanFixture(Self.film())
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film(pick: 3))
        let plan = try fixture.plan()
        #expect(
            rows(plan) == [
                "sunrise unchanged", "sunrise.take2 unchanged", "sunrise.take3 unchanged picked",
                "snow re-render picked", "title unchanged picked",
            ])
        #expect(plan.shots.first { $0.id == "snow" }?.reasons == ["uses take 3 of sunrise instead of take 2"])
        #expect(plan.totalCredits == 360)
        // Back to the first pick: the users render again, and the shot still does not.
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film(pick: nil))
        #expect(
            try fixture.plan().shots.first { $0.id == "snow" }?.reasons == ["uses take 1 of sunrise instead of take 3"])
    }

    @Test("when the takes render again for a new request, the plan says the pick will name an unseen take")
    func pickOutlivesRender() throws {
        let fixture = try PlanFixture(Self.film())
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film().replacingOccurrences(of: "a sunrise", with: "a sunset"))
        let plan = try fixture.plan()
        let picked = try #require(plan.shots.first { $0.key == "sunrise.take2" })
        #expect(picked.reasons.contains { $0.hasPrefix("`pick: 2` will name the new take 2, which no one has seen") })
        #expect(plan.shots.first { $0.key == "sunrise" }?.reasons.contains { $0.contains("`pick:") } == false)
    }

    @Test("a pick of a take not yet rendered waits for it: it renders, then its users")
    func pickNotYetRendered() throws {
        let fixture = try PlanFixture(Self.film(takes: 1, pick: nil))
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film(takes: 3, pick: 3))
        let plan = try fixture.plan()
        #expect(
            rows(plan) == [
                "sunrise unchanged", "sunrise.take2 render", "sunrise.take3 render picked", "snow re-render picked",
                "title unchanged picked",
            ])
        #expect(plan.shots.first { $0.id == "snow" }?.reasons.contains("upstream sunrise renders again") == true)
    }

    @Test("a pick naming no take is a located error of the plan, with the fix; a retake's take can be picked")
    func pickOutOfRange() throws {
        let fixture = try PlanFixture(Self.film(takes: 3, pick: 5))
        #expect {
            try fixture.plan()
        } throws: { error in
            guard let error = error as? PlanError else { return false }
            return error.located == fixture.file.path
                + ":7:11: `pick: 5` names no take of `sunrise`: it has takes 1 to 3"
                && error.note?.contains("kling-render apply --retake sunrise") == true
        }
        try fixture.rewrite(Self.film(takes: 3, pick: 2))
        try fixture.markAllRendered()
        let retake = try fixture.plan(PlanOptions(retake: ["sunrise"]))
        let new = try #require(retake.shots.first { $0.action == .render })
        #expect(new.key == "sunrise.take4" && new.reasons == ["one more take (--retake)"] && new.credits == 300)
        #expect(retake.shots.filter(\.action.isChange).count == 1, "nothing downstream until it is picked")
        try fixture.markAllRendered(options: PlanOptions(retake: ["sunrise"]))
        try fixture.rewrite(Self.film(takes: 3, pick: 4))
        #expect(rows(try fixture.plan()).contains("sunrise.take4 unchanged picked"))
        #expect(try fixture.plan(PlanOptions(retake: ["sunrise"])).shots.contains { $0.key == "sunrise.take5" })
    }

    @Test("a pick beyond `takes:` is rendered once by the retake the error suggests, never the takes between")
    func retakeForPick() throws {
        let fixture = try PlanFixture(Self.film(takes: 3, pick: 2))
        try fixture.markAllRendered()
        try fixture.rewrite(Self.film(takes: 3, pick: 4))
        #expect(throws: PlanError.self) { try fixture.plan() }
        let plan = try fixture.plan(PlanOptions(retake: ["sunrise"]))
        #expect(
            plan.shots.filter(\.action.isChange).map { "\($0.key) \($0.action.rawValue)" } == [
                "sunrise.take4 render", "snow re-render",
            ])
        #expect(plan.totalCredits == 300 + 360)
    }

    @Test("a retake under --target is rendered, not filtered away")
    func retakeUnderTarget() throws {
        let fixture = try PlanFixture(Self.film())
        try fixture.markAllRendered()
        let plan = try fixture.plan(PlanOptions(targets: ["title"], retake: ["sunrise"]))
        #expect(plan.shots.filter(\.action.isChange).map(\.key) == ["sunrise.take4"])
    }

    @Test(
        "takes beyond `takes:`: a lost answer stays shown, a missing file is not fetched, --replace ID.takeN redoes one take"
    )
    func extraTakes() throws {
        let fixture = try PlanFixture(Self.film(takes: 5))
        try fixture.markAllRendered(status: ["sunrise.take4": .uncertain])
        try FileManager.default.removeItem(at: fixture.folder.appendingPathComponent("renders/sunrise.take5.mp4"))
        try fixture.rewrite(Self.film(takes: 3))
        let plan = try fixture.plan()
        let extra = plan.shots.filter { $0.take > 3 }.map { "\($0.key) \($0.action.rawValue)" }
        #expect(extra == ["sunrise.take4 uncertain"], "take 5's missing file is not fetched again")
        #expect(
            plan.shots.first { $0.key == "sunrise.take4" }?.reasons.first?.contains("--replace sunrise.take4") == true)
        let redo = try fixture.plan(PlanOptions(replace: ["sunrise.take4"]))
        #expect(
            redo.shots.filter(\.action.isChange).map(\.key) == ["sunrise.take4"], "that take alone, nothing downstream")
        let first = try fixture.plan(PlanOptions(replace: ["sunrise.take1"]))
        #expect(first.shots.filter(\.action.isChange).map(\.key) == ["sunrise"], "take 1 alone: not the pick")
        let picked = try fixture.plan(PlanOptions(replace: ["sunrise.take2"]))
        #expect(
            picked.shots.filter(\.action.isChange).map(\.key) == ["sunrise.take2", "snow"], "the pick: its users too")
        #expect(throws: PlanError.self) { try fixture.plan(PlanOptions(replace: ["nosuch.take2"])) }
    }

    @Test("a failed take renders again; a failed take beyond `takes:` is left as it is")
    func failedTakes() throws {
        let fixture = try PlanFixture(Self.film(takes: 4))
        try fixture.markAllRendered(status: ["sunrise.take3": .failed, "sunrise.take4": .failed])
        try fixture.rewrite(Self.film(takes: 3))
        let plan = try fixture.plan()
        #expect(plan.shots.filter(\.action.isChange).map(\.key) == ["sunrise.take3"])
        #expect(!plan.shots.contains { $0.key == "sunrise.take4" })
    }

    @Test("a removed shot is removed once, with the files of all its takes")
    func removedWithTakes() throws {
        let fixture = try PlanFixture(Self.film())
        try fixture.markAllRendered()
        try fixture.rewrite(
            "version: 1\nshots:\n  title:\n    type: std-text-to-video\n    prompt: the title\n")
        let plan = try fixture.plan()
        #expect(plan.removed.map(\.id) == ["snow", "sunrise"])
        #expect(
            plan.removed.last?.files == [
                "renders/sunrise.mp4", "renders/sunrise.take2.mp4", "renders/sunrise.take3.mp4",
            ])
    }

    @Test("accept keeps every finished take of a changed shot, and the shots that only changed through it")
    func acceptTakes() throws {
        let fixture = try PlanFixture(Self.film())
        try fixture.markAllRendered(status: ["sunrise.take3": .failed])
        try fixture.rewrite(Self.film().replacingOccurrences(of: "a sunrise", with: "a sunrise, warmer"))
        #expect(try fixture.accept(["sunrise"]) == ["sunrise", "snow"])
        try fixture.rewrite(
            Self.film(pick: 3).replacingOccurrences(of: "a sunrise", with: "a sunrise, warmer"))
        #expect(try fixture.accept(["snow"]) == ["snow"])
        #expect(
            try fixture.workspace().manifest?.shots["snow"]?.picks == ["sunrise": 3],
            "accepted with the pick it now has")
        let plan = try fixture.plan()
        #expect(plan.shots.filter(\.action.isChange).map(\.key) == ["sunrise.take3"], "the failed take still renders")
    }

    @Test("takes and pick are checked where they are written")
    func validation() {
        let base = "version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: p\n"
        #expect(
            describe(load(base + "    takes: 9\n").diagnostics)
                == "6:12: error: `takes` must be a whole number from 1 to 8, not 9\n")
        #expect(
            describe(load(base + "    takes: three\n").diagnostics).hasPrefix(
                "6:12: error: `takes` must be a whole number from 1 to 8, not "))
        #expect(
            describe(load(base + "    pick: 0\n").diagnostics)
                == "6:11: error: `pick` must be a whole number from 1 to 99, not 0\n")
        #expect(
            describe(load("version: 1\ndefaults:\n  pick: 2\n" + base.dropFirst(11)).diagnostics)
                == "3:3: error: `pick` belongs to a shot; it cannot be a default\n")
        let defaulted = load(
            "version: 1\ndefaults:\n  takes: 2\n" + base.dropFirst(11)
                + "  b:\n    type: std-text-to-video\n    prompt: q\n    takes: 1\n")
        #expect(defaulted.project?.shots.map(\.takes) == [2, 1])
    }

    @Test("manifest keys: a shot id, or a take of one written the one way the tool writes it")
    func manifestKeys() {
        #expect(Take.key("a", 1) == "a" && Take.key("a", 2) == "a.take2")
        for key in ["a", "a.take2", "a-b_1.take99"] {
            #expect(Take.parse(key).map { Take.key($0.id, $0.number) } == key)
        }
        for key in ["a.take1", "a.take0", "a.take02", "a.take100", "a.takeX", "a.take", "a.2", "a.take2.take3"] {
            var manifest = Manifest(project: "p", endpoint: "https://api.example", simulated: false)
            manifest.shots[key] = ManifestShot(
                type: "std-text-to-video", fingerprint: String(repeating: "a", count: 64), request: [:], inputs: [:],
                status: .succeeded, estimatedCredits: 1)
            #expect(ManifestCheck.problem(in: manifest)?.contains("not a shot id or a take of one") == true, "\(key)")
        }
        var manifest = Manifest(project: "p", endpoint: "https://api.example", simulated: false)
        manifest.shots["a"] = ManifestShot(
            type: "std-text-to-video", fingerprint: String(repeating: "a", count: 64), request: [:], inputs: [:],
            status: .succeeded, estimatedCredits: 1)
        manifest.shots["a"]?.picks = ["b": 0]
        #expect(ManifestCheck.problem(in: manifest) == "shots.a.picks must map shot ids to take numbers from 1 to 99")
    }
}
