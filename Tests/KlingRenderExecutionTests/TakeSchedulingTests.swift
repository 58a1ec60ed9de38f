import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import Testing

/// Takes are work like any other: they share `parallelism`, and the one the next shot waits for
/// goes first.
@Suite("Takes on a virtual clock")
struct TakeSchedulingTests {
    static let film = """
        version: 1
        shots:
          title:
            type: std-text-to-video
            prompt: the title
            duration: 3
          sunrise:
            type: std-text-to-video
            prompt: a sunrise
            duration: 10
            takes: 3
            pick: 2
          snow:
            type: o3-std-video-edit
            prompt: make it snow
            video: ${shots.sunrise.video}

        """

    func submitted(_ run: VirtualRun) -> [String] {
        run.events.all.compactMap { if case .submitting(let shot) = $0.kind as? RenderEvent { shot } else { nil } }
    }

    @Test("with room for all, the takes render at once and the next shot starts when the pick is done")
    func siblings() async throws {
        let run = try VirtualRun(Self.film)
        run.options.parallelism = 5
        let report = await run.run()
        #expect(report.succeeded)
        let sunrise = TaskType.named("std-text-to-video")!.expectedRenderSeconds(videoSeconds: 10)
        let snow = TaskType.named("o3-std-video-edit")!.expectedRenderSeconds(videoSeconds: nil)
        #expect(Array(run.api.generateTimes.prefix(4)) == [0, 0, 0, 0], "three takes and the title at once")
        #expect(run.api.generateTimes.last == EngineTests.observed(sunrise))
        #expect(abs(run.clock.now() - (EngineTests.observed(sunrise) + EngineTests.observed(snow))) < 1e-9)
    }

    @Test("one task at a time: the picked take first (the next shot waits for it), its URL sent downstream")
    func pickFirst() async throws {
        let run = try VirtualRun(Self.film)
        run.options.parallelism = 1
        let report = await run.run()
        #expect(report.succeeded)
        #expect(submitted(run).first == "sunrise.take2", "\(submitted(run))")
        #expect(submitted(run).count == 5 && run.api.maxInFlight == 1)
        let manifest = try #require(try ManifestStore.read(run.paths)?.manifest)
        let take2 = try #require(manifest.shots["sunrise.take2"]?.urls.first)
        #expect(manifest.shots["sunrise.take2"]?.taskID == "n75fake1")
        #expect(manifest.shots["snow"]?.request["video"] == .string(take2))
        #expect(manifest.shots["snow"]?.picks == ["sunrise": 2])
    }
}
