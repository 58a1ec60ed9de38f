import Foundation
import Testing

@Suite("Takes and picks, rendered against the simulator")
struct TakesTests {
    static let film = """
        version: 1
        shots:
          sunrise:
            type: std-text-to-video
            prompt: a sunrise
            takes: 3
            pick: 2
          snow:
            type: o3-std-video-edit
            prompt: make it snow
            video: ${shots.sunrise.video}

        """

    /// The video URL the simulator was sent for each task's `video` field, in order.
    func sentVideos(_ r: Rehearsal) async throws -> [String] {
        try await r.receivedRequests().compactMap { $0["video"] as? String }
    }

    @Test(
        "takes: 3 with pick: 2 renders three tasks and feeds take 2 downstream; pick: 3 re-renders only what uses it; more takes render only the new ones; --retake adds one"
    )
    func doneWhen() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        let first = try await r.apply()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(await r.stats().tasksCreated == 4)
        #expect(first.stdout.contains("sunrise.take3  downloaded renders/sunrise.take3.mp4"), "\(first.stdout)")
        #expect(Set(r.shots.keys) == ["sunrise", "sunrise.take2", "sunrise.take3", "snow"])
        for name in ["sunrise.mp4", "sunrise.take2.mp4", "sunrise.take3.mp4", "snow.mp4"] {
            #expect(FileManager.default.fileExists(atPath: r.scratch.path("renders/\(name)")), "\(name)")
        }
        #expect(try r.verifiedFiles() == 4)
        let take2 = try #require((r.shots["sunrise.take2"]?["urls"] as? [String])?.first)
        let take3 = try #require((r.shots["sunrise.take3"]?["urls"] as? [String])?.first)
        #expect(try await sentVideos(r) == [take2], "the edit was sent take 2's URL")
        #expect(r.shots["snow"]?["picks"] as? [String: Int] == ["sunrise": 2])

        try r.edit("pick: 2", with: "pick: 3")
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("uses take 3 of sunrise instead of take 2"), "\(plan.stdout)")
        #expect(plan.stdout.contains("Plan: 0 to render, 1 to re-render, 3 unchanged — 360 credits."), "\(plan.stdout)")
        let second = try await r.apply()
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(await r.stats().tasksCreated == 5, "only the edit rendered again")
        #expect(try await sentVideos(r) == [take2, take3])

        try r.edit("takes: 3", with: "takes: 5")
        #expect(try await r.apply().status == 0)
        #expect(await r.stats().tasksCreated == 7, "takes 4 and 5, nothing else")
        try r.edit("takes: 5", with: "takes: 1")
        let lowered = try await r.apply()
        #expect(lowered.stdout.contains("Nothing to do"), "\(lowered.stdout)")
        #expect(r.shots.count == 6, "every take kept")

        let retake = try await r.apply(["--retake", "sunrise"])
        #expect(retake.stdout.contains("sunrise take 6"), "\(retake.stdout)")
        #expect(await r.stats().tasksCreated == 8, "one more take, nothing downstream")
        #expect(FileManager.default.fileExists(atPath: r.scratch.path("renders/sunrise.take6.mp4")))

        let status = try await r.run(["status", r.file, "--json"])
        let rows =
            (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["shots"]
            as? [[String: Any]] ?? []
        #expect(
            rows.map { "\($0["id"] ?? "") \($0["take"] ?? "") \($0["picked"] as? Bool == true)" } == [
                "sunrise 1 false", "sunrise 2 false", "sunrise 3 true", "sunrise 4 false", "sunrise 5 false",
                "sunrise 6 false", "snow 1 true",
            ], "\(status.stdout)")
    }

    @Test("a pick of a take that does not exist stops apply before any request, naming the line")
    func badPick() async throws {
        let r = try await Rehearsal(Self.film.replacingOccurrences(of: "pick: 2", with: "pick: 7"))
        defer { Task { await r.stop() } }
        let result = try await r.apply()
        #expect(result.status != 0)
        // As `validate` words its errors: the place, the source line and a caret, the fix.
        #expect(
            result.stderr.contains("film.yaml:7:11: error: `pick: 7` names no take of `sunrise`"), "\(result.stderr)")
        #expect(result.stderr.contains("    pick: 7\n"), "\(result.stderr)")
        #expect(result.stderr.contains("note: raise `takes:`"), "\(result.stderr)")
        #expect(await r.stats().tasksCreated == 0)
        #expect(r.manifestData == nil)
    }
}
