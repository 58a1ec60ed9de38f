import Foundation
import KlingRenderCore
import KlingRenderExecution
import Testing

/// The cut in the graph: a step per segment, each waiting only for the clips it is made from,
/// the sound after every clip, and the join after them all.
@Suite("The cut's segments are steps of the graph")
struct CutGraphTests {
    static func project(size: Bool) -> String {
        """
        version: 1
        shots:
          a:
            type: std-text-to-video
            prompt: a
          b:
            type: o3-std-video-edit
            prompt: b
            video: ${shots.a.video}
          c:
            type: std-text-to-video
            prompt: c
        cut:
        \(size ? "  size: 640x360\n  fps: 24\n" : "")  clips:
            - shot: a
            - shot: b
              transition: crossfade 0.5
            - shot: c

        """
    }

    @Test(
        "with its size and rate given, each segment waits only for its own clips: a's body for a, not for the edit b made from it, nor for c"
    )
    func ownClips() throws {
        let run = try VirtualRun(Self.project(size: true))
        let graph = run.engine().buildGraph()
        let cut = try #require(graph.steps["[cut]"])
        let join = try #require(graph.named["cut"])
        func waits(_ node: Int) -> Set<Int> { Set(graph.nodes[node].dependencies) }
        func shot(_ key: String) -> Set<Int> { Set(graph.steps[key] ?? []) }
        // The sound, a's body, the transition a→b, b's body, c's body, then the join.
        #expect(cut.count == 6 && cut.last == join, "\(cut)")
        #expect(cut.allSatisfy { graph.nodes[$0].step.resource == .cpu }, "every one holds a core")
        #expect(waits(cut[0]) == shot("a").union(shot("b")).union(shot("c")), "the sound: every clip")
        #expect(waits(cut[1]) == shot("a"), "a's body: a alone")
        #expect(waits(cut[2]) == shot("a").union(shot("b")), "the transition: a and b")
        #expect(waits(cut[3]) == shot("b"))
        #expect(waits(cut[4]) == shot("c"))
        #expect(waits(join) == Set(cut.dropLast()), "the join: every segment and the sound")
        #expect(!shot("a").isEmpty && !shot("b").isEmpty && !shot("c").isEmpty)
    }

    @Test("without a size and rate, the film takes the first clip's: every segment waits for it as well")
    func firstClip() throws {
        let run = try VirtualRun(Self.project(size: false))
        let graph = run.engine().buildGraph()
        let cut = try #require(graph.steps["[cut]"])
        let a = Set(graph.steps["a"] ?? [])
        #expect(cut.dropFirst().dropLast().allSatisfy { a.isSubset(of: Set(graph.nodes[$0].dependencies)) })
        #expect(Set(graph.nodes[cut[4]].dependencies) == a.union(graph.steps["c"] ?? []))
    }
}
