/// A list schedule, as the walker makes one: whenever a slot is free, the ready node of highest
/// priority starts (the lower index on a tie); nodes that hold no slot start the moment they are
/// ready. Run on expected costs it predicts a walk, so priorities can be compared before a single
/// request is sent.
///
/// Nodes that end at the same moment are taken one at a time, each followed by the starts it
/// allows, as the walker does; the walker takes them in whatever order they reach it, so the
/// schedule can be asked for either extreme: lowest index first, or last.
package struct ListSchedule: Sendable, Equatable {
    /// When each node starts.
    package var start: [Double]
    package var makespan: Double

    /// `waitsFor[i]` and `dependents[i]` are the two directions of the same edges; `limited[i]`:
    /// whether node i holds one of the `slots`. A cost that is negative or not finite counts as 0.
    package init(
        cost: [Double], waitsFor: [[Int]], dependents: [[Int]], limited: [Bool], slots: Int, priority: [Double],
        tiesLast: Bool = false
    ) {
        let cost = cost.map { $0.isFinite ? max(0, $0) : 0 }
        let slots = max(1, slots)
        var waiting = waitsFor.map(\.count)
        var ready = MinHeap<Ranked>()
        var running = MinHeap<Ranked>()
        var start = [Double](repeating: 0, count: cost.count)
        var now = 0.0
        var used = 0
        func release(_ i: Int) {
            if limited[i] {
                ready.insert(Ranked(key: -priority[i], index: i))
            } else {
                start[i] = now
                running.insert(Ranked(key: now + cost[i], index: tiesLast ? -i : i))
            }
        }
        for i in cost.indices where waiting[i] == 0 { release(i) }
        while true {
            while used < slots, let next = ready.popMin() {
                start[next.index] = now
                used += 1
                running.insert(Ranked(key: now + cost[next.index], index: tiesLast ? -next.index : next.index))
            }
            // One finisher at a time, each followed by the starts it allows: the walker does the same.
            guard let done = running.popMin() else { break }
            let index = abs(done.index)
            now = max(now, done.key)
            if limited[index] { used -= 1 }
            for d in dependents[index] {
                waiting[d] -= 1
                if waiting[d] == 0 { release(d) }
            }
        }
        self.start = start
        makespan = now
    }

    /// A node to order by `key`, then by index.
    private struct Ranked: Comparable {
        var key: Double
        var index: Int

        static func < (a: Ranked, b: Ranked) -> Bool { (a.key, a.index) < (b.key, b.index) }
    }
}

/// Which ready node goes first when there are fewer slots than ready nodes: the one implementation
/// behind the walker's order, for `apply` and for the benchmark that measures it. Only the slots
/// of tasks in flight are planned for: transfers and local work are short beside a render, and
/// are taken as starting when they are ready.
///
/// The longest remaining path first is the classic rule, and a good one; but on a few slots it
/// leaves work for the end that one slot must finish alone. Forward–backward improvement (the
/// "justification" of project scheduling) corrects this from the same expected costs: schedule
/// the graph, schedule it again backwards with the nodes that ended last going first, and go
/// forwards again with the nodes that the backward pass ended last (started earliest) first.
/// Each pass packs the work towards the start; the best forward schedule's priorities are kept,
/// the longest path when no pass does better. An order is judged by the longer of its two
/// schedules with simultaneous ends taken either way round, so that a pass cannot win on the
/// luck of a tie the walk may break the other way. Deterministic, and a few list schedules in all.
package enum SchedulePriority {
    /// Per node, a priority (higher goes first). `order` is topological.
    package static func compute(
        order: [Int], cost: [Double], waitsFor: [[Int]], dependents: [[Int]], limited: [Bool], slots: Int,
        passes: Int = 4
    ) -> [Double] {
        let cost = cost.map { $0.isFinite ? max(0, $0) : 0 }
        let longest = LongestPath.remaining(order: order, cost: { cost[$0] }, dependents: dependents)
        // With a slot for every node, any order starts each node when it is ready.
        guard limited.filter({ $0 }).count > slots, passes > 0 else { return longest }
        func forward(_ priority: [Double], tiesLast: Bool = false) -> ListSchedule {
            ListSchedule(
                cost: cost, waitsFor: waitsFor, dependents: dependents, limited: limited, slots: slots,
                priority: priority, tiesLast: tiesLast)
        }
        func worst(_ schedule: ListSchedule, _ priority: [Double]) -> Double {
            max(schedule.makespan, forward(priority, tiesLast: true).makespan)
        }
        var schedule = forward(longest)
        var best = (priority: longest, makespan: worst(schedule, longest))
        for _ in 0..<passes {
            let backward = ListSchedule(
                cost: cost, waitsFor: dependents, dependents: waitsFor, limited: limited, slots: slots,
                priority: cost.indices.map { schedule.start[$0] + cost[$0] })
            let priority = cost.indices.map { backward.start[$0] + cost[$0] }
            schedule = forward(priority)
            let makespan = worst(schedule, priority)
            if makespan < best.makespan { best = (priority, makespan) }
        }
        return best.priority
    }
}
