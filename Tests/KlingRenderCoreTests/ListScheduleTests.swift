import KlingRenderCore
import Testing

@Suite("Planning the order of a walk")
struct ListScheduleTests {
    /// Two slots. The longest remaining path starts a (5, then c: 1) and b (4, then d: 4), then e
    /// and f (3 each) wait for a slot: 4 + 4 + 3 = 11. Starting e beside a finishes everything by 9.
    static let cost: [Double] = [5, 4, 1, 4, 3, 3]
    static let waitsFor: [[Int]] = [[], [], [0], [1], [], []]
    static var dependents: [[Int]] {
        var result = [[Int]](repeating: [], count: cost.count)
        for (i, waits) in waitsFor.enumerated() { for w in waits { result[w].append(i) } }
        return result
    }

    static func schedule(_ priority: [Double], slots: Int = 2) -> ListSchedule {
        ListSchedule(
            cost: cost, waitsFor: waitsFor, dependents: dependents, limited: cost.map { _ in true }, slots: slots,
            priority: priority)
    }

    @Test("a list schedule starts the highest priority first, each when ready and a slot is free")
    func listSchedule() {
        let longest = LongestPath.remaining(
            order: Array(Self.cost.indices), cost: { Self.cost[$0] }, dependents: Self.dependents)
        #expect(longest == [6, 8, 1, 4, 3, 3])
        let run = Self.schedule(longest)
        #expect(run.start == [0, 0, 8, 4, 5, 8])
        #expect(run.makespan == 11)
        #expect(Self.schedule(longest, slots: 6).makespan == 8, "with a slot each, the critical path")
    }

    @Test("forward–backward passes find the shorter order the longest path misses, and keep it when none exists")
    func improved() {
        let order = Array(Self.cost.indices)
        let limited = Self.cost.map { _ in true }
        let priority = SchedulePriority.compute(
            order: order, cost: Self.cost, waitsFor: Self.waitsFor, dependents: Self.dependents, limited: limited,
            slots: 2)
        #expect(Self.schedule(priority).makespan == 10)
        let lower = max(Self.cost.reduce(0, +) / 2, 8)
        #expect(lower == 10, "no order on two slots can do better")
        let unbounded = SchedulePriority.compute(
            order: order, cost: Self.cost, waitsFor: Self.waitsFor, dependents: Self.dependents, limited: limited,
            slots: 6)
        #expect(unbounded == LongestPath.remaining(order: order, cost: { Self.cost[$0] }, dependents: Self.dependents))
    }

    @Test("a node that holds no slot starts as soon as it is ready")
    func unlimited() {
        let run = ListSchedule(
            cost: [3, 0, 2], waitsFor: [[], [0], [1]], dependents: [[1], [2], []], limited: [true, false, true],
            slots: 1, priority: [0, 0, 0])
        #expect(run.start == [0, 3, 3])
        #expect(run.makespan == 5)
    }
}
