import Foundation
import Testing

@Suite("Scheduling, read from apply's JSON events")
struct SchedulingTests {
    /// The events of a run, in order.
    static func events(_ result: CLI.Result) -> [[String: Any]] {
        result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static let independent =
        "version: 1\nshots:\n"
        + (1...8).map {
            "  s\($0):\n    type: std-text-to-video\n    prompt: shot \($0)\n    duration: \(3 + $0)\n"
        }.joined()

    /// That the bound is reached exactly is asserted in virtual time (`EngineTests`); here, over real
    /// sockets, that it is never passed.
    @Test("--parallelism bounds the tasks in flight")
    func parallelismBound() async throws {
        let r = try await Rehearsal(Self.independent) { $0.timeScale = 1500 }
        defer { Task { await r.stop() } }
        let result = try await r.apply(["--parallelism", "3", "--json"])
        #expect(result.status == 0)
        var inFlight = 0
        var most = 0
        for event in Self.events(result) {
            switch event["event"] as? String {
            case "submitting": inFlight += 1
            case "rendered", "failed": inFlight -= 1
            default: break
            }
            most = max(most, inFlight)
        }
        #expect(most <= 3 && most >= 1)
        #expect(await r.stats().tasksCreated == 8)
    }

    @Test("the longest remaining path starts first, whatever the file order")
    func longestPathFirst() async throws {
        let yaml = """
            version: 1
            shots:
              short-1:
                type: std-text-to-video
                prompt: a short one
              short-2:
                type: std-text-to-video
                prompt: another short one
              head:
                type: pro-text-to-video
                prompt: the start of a long chain
              middle:
                type: o3-pro-video-edit
                prompt: the middle
                video: ${shots.head.video}
              tail:
                type: o3-pro-video-edit
                prompt: the end
                video: ${shots.middle.video}
            """
        let r = try await Rehearsal(yaml)
        defer { Task { await r.stop() } }
        let result = try await r.apply(["--parallelism", "1", "--json"])
        #expect(result.status == 0)
        let submitted = Self.events(result).filter { $0["event"] as? String == "submitting" }.compactMap {
            $0["shot"] as? String
        }
        #expect(submitted.first == "head", "\(submitted)")
        // A dependent goes as soon as its input has rendered: the chain is never interleaved away.
        #expect(submitted == ["head", "middle", "tail", "short-1", "short-2"])
    }
}
