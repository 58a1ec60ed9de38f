import KlingRenderCore
import Testing

@Suite("Planning the order of a walk")
struct ListScheduleTests {
    /// Two slots. The longest remaining path starts b (4 s, then d: 4 s) and a (5 s, then c: 1 s),
    /// then d and e (3 s), and leaves f (3 s) alone from 8 to 11 s. 20 s of work on two slots
    /// cannot end before 10, and starting e before d does.
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

    @Test("an order is kept only if it wins whichever way simultaneous ends are taken")
    func ties() {
        // Whole seconds on three slots: several renders end at once. Taken lowest index first, the
        // passes find 9 s where the longest path takes 10; taken the other way, that order takes 11.
        let cost: [Double] = [4, 1, 2, 1, 5, 2, 3, 3, 5]
        let waitsFor: [[Int]] = [[], [], [], [], [0, 2], [3], [1], [3], [0, 2]]
        var dependents = [[Int]](repeating: [], count: cost.count)
        for (i, waits) in waitsFor.enumerated() { for w in waits { dependents[w].append(i) } }
        let limited = cost.map { _ in true }
        func worst(_ priority: [Double]) -> Double {
            [false, true].map {
                ListSchedule(
                    cost: cost, waitsFor: waitsFor, dependents: dependents, limited: limited, slots: 3,
                    priority: priority, tiesLast: $0
                ).makespan
            }.max() ?? 0
        }
        let order = Array(cost.indices)
        let longest = LongestPath.remaining(order: order, cost: { cost[$0] }, dependents: dependents)
        let planned = SchedulePriority.compute(
            order: order, cost: cost, waitsFor: waitsFor, dependents: dependents, limited: limited, slots: 3)
        #expect(worst(longest) == 10)
        #expect(worst(planned) <= worst(longest), "never worse than the longest path, however ties fall")
    }

    @Test("costs that are negative or not finite count as nothing, and no slot at all as one")
    func oddInput() {
        let run = ListSchedule(
            cost: [.nan, -3, .infinity, 2], waitsFor: [[], [0], [1], [2]], dependents: [[1], [2], [3], []],
            limited: [true, true, true, true], slots: 0, priority: [0, 0, 0, 0])
        #expect(run.makespan == 2)
        #expect(run.start == [0, 0, 0, 0])
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
