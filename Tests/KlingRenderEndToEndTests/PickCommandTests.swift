import Foundation
import Testing

/// `kling-render pick` chooses a take where the storyboard says it, changing one line.
@Suite("pick: choosing a take edits one line of the project file")
struct PickCommandTests {
    static let film = """
        version: 1
        name: pick
        shots:
          # The opening: three takes to choose from.
          sunrise:
            type: std-text-to-video
            prompt: "a sunrise, gulls"   # keep the quotes
            duration: 5
            takes: 3
          snow:
            type: o3-std-video-edit
            prompt: make it snow
            video: ${shots.sunrise.video}

        """

    @Test("pick 2: one line added after takes:, nothing else changes; plan then re-renders only what uses it")
    func pick() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let url = r.scratch.url.appendingPathComponent(r.file)
        let before = try String(contentsOf: url, encoding: .utf8)
        let picked = try await r.run(["pick", r.file, "sunrise", "2"])
        #expect(picked.status == 0, "\(picked.stderr)")
        #expect(picked.stdout.contains("film.yaml:10: added pick: 2 (`sunrise`)"), "\(picked.stdout)")
        let after = try String(contentsOf: url, encoding: .utf8)
        #expect(after == before.replacingOccurrences(of: "    takes: 3\n", with: "    takes: 3\n    pick: 2\n"))
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("Plan: 0 to render, 1 to re-render, 3 unchanged"), "\(plan.stdout)")
        #expect(plan.stdout.contains("uses take 2 of sunrise instead of take 1"), "\(plan.stdout)")

        // Again with another take: the one value changes.
        #expect(try await r.run(["pick", r.file, "sunrise", "3"]).status == 0)
        #expect(
            try String(contentsOf: url, encoding: .utf8)
                == before.replacingOccurrences(of: "    takes: 3\n", with: "    takes: 3\n    pick: 3\n"))
        // A take that does not exist: refused, the file as it was.
        let refused = try await r.run(["pick", r.file, "sunrise", "4"])
        #expect(refused.status == 1 && refused.stderr.contains("`sunrise` has no take 4: its takes are 1, 2, 3"))
        #expect(try String(contentsOf: url, encoding: .utf8).contains("pick: 3\n"))
    }
}
