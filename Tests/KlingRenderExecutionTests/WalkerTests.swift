import Foundation
import KlingRenderCore
import KlingRenderExecution
import Testing

@Suite("The walker's order")
struct WalkerTests {
    /// A step that only takes its time, and says when it started.
    struct Timed: Step {
        var seconds: Double
        var name: String
        var clock: VirtualClock
        var started: @Sendable (String, Double) -> Void
        var resource: Resource { .tasks }

        func run() async -> StepEnd {
            started(name, clock.now())
            try? await clock.sleep(seconds: seconds)
            return .success
        }
    }

    final class Starts: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String: Double] = [:]
        func add(_ name: String, _ at: Double) { lock.withLock { list[name] = at } }
        var all: [String: Double] { lock.withLock { list } }
    }

    /// On two slots, a (5 s, then c: 1 s), b (4 s, then d: 4 s), e and f (3 s each): the longest
    /// remaining path first would start b and a, then d and e, and leave f for 8–11 s alone.
    @Test("on two slots the walk follows the planned order and ends at 10 s, where the longest path first ends at 11")
    func plannedOrder() async {
        let clock = VirtualClock()
        let starts = Starts()
        let shape: [(String, Double, [Int])] = [
            ("a", 5, []), ("b", 4, []), ("c", 1, [0]), ("d", 4, [1]), ("e", 3, []), ("f", 3, []),
        ]
        let nodes = shape.map { name, seconds, waits in
            WalkNode(
                step: Timed(seconds: seconds, name: name, clock: clock, started: starts.add), dependencies: waits,
                cost: seconds)
        }
        let (results, stop) = await Walker(
            nodes: nodes, limits: ResourceLimits(tasks: 2, transfers: 1, cpu: 1), clock: clock
        ).walk()
        #expect(stop == nil)
        #expect(results.allSatisfy { $0 == .ended(.success) })
        #expect(clock.now() == 10)
        #expect(starts.all.values.filter { $0 == 0 }.count == 2, "both slots busy from the start")
        #expect(starts.all["c"] ?? 0 >= 5 && starts.all["d"] ?? 0 >= 4, "each after what it waits for")
    }
}
