import KlingRenderCore

/// What a step holds while it runs. Each kind has its own bound: tasks in flight are what a Kling
/// account limits, transfers share the network, local CPU work (ffmpeg) the cores.
package enum Resource: Hashable, Sendable, CaseIterable {
    case tasks
    case transfers
    case cpu
    /// Holds nothing: a step that only reports (a shot recorded as uncertain).
    case none
}

/// One unit of work in the graph: render a shot, download its files; later upload an asset,
/// extract a frame, assemble a cut. A new kind of work is a new type conforming to this, in a
/// file of its own; the walker never changes for it.
package protocol Step: Sendable {
    var resource: Resource { get }
    func run() async -> StepEnd
    /// What it means for its owner that this step never ran: blocked by the owner of the step
    /// named, or (nil) stopped first.
    func notRun(blockedBy: String?, stop: Reason?) -> ShotOutcome
}

extension Step {
    package func notRun(blockedBy: String?, stop: Reason?) -> ShotOutcome {
        blockedBy.map { .blocked(by: $0) } ?? .notStarted(.stopped(stop ?? .interrupted))
    }
}

/// How a step ended.
package struct StepEnd: Sendable, Equatable {
    /// Whether the steps that wait for this one may start; otherwise they are blocked.
    package var succeeded: Bool
    package var outcome: ShotOutcome
    package var stop: Stop?

    package static let success = StepEnd(succeeded: true, outcome: .done, stop: nil)

    package static func ended(_ outcome: ShotOutcome, stop: Stop? = nil) -> StepEnd {
        StepEnd(succeeded: false, outcome: outcome, stop: stop)
    }
}

/// A step's request that the run stop.
package enum Stop: Sendable, Equatable {
    /// Start no more task-holding steps; let running ones and transfers finish (402, `--fail-fast`).
    case submitting(Reason)
    /// Stop everything at once (401).
    case everything(Reason)

    var reason: Reason {
        switch self {
        case .submitting(let r), .everything(let r): r
        }
    }
}

/// A step and the steps it waits for, by index in the walker's list.
package struct WalkNode: Sendable {
    package var step: any Step
    package var dependencies: [Int]
    /// Expected seconds of work, for the longest-remaining-path priority.
    package var cost: Double

    package init(step: any Step, dependencies: [Int], cost: Double) {
        self.step = step
        self.dependencies = dependencies
        self.cost = cost
    }
}

/// What the walker tells as it goes.
package enum WalkNotice: Sendable, Equatable {
    case blocked(node: Int, by: Int)
    case stopping(Reason)
}

/// What became of each node.
package enum WalkResult: Sendable, Equatable {
    case ended(StepEnd)
    /// Never started: node `by` (the first that failed on its way) has no output.
    case blocked(by: Int)
    /// Never started: the run stopped first.
    case notStarted
}

/// Walks a graph of steps, as Terraform's `dag.Walk` does: a step starts the moment every step it
/// waits for has succeeded, in `SchedulePriority`'s order (the longest remaining path first,
/// improved where the expected costs show a shorter schedule on the bound of tasks in flight;
/// list order breaks ties), within the bound of its resource; a step that does not succeed blocks
/// everything downstream of it. The walker knows nothing of HTTP, files or the manifest.
///
/// Nodes come in topological order (each after the nodes it waits for).
package struct Walker: Sendable {
    package var nodes: [WalkNode]
    package var limits: ResourceLimits
    package var clock: any EngineClock
    /// Told the moment a node is blocked (by the node that failed first on its way) or the run stops.
    package var notices: @Sendable (WalkNotice) -> Void = { _ in }

    package init(nodes: [WalkNode], limits: ResourceLimits, clock: any EngineClock) {
        self.nodes = nodes
        self.limits = limits
        self.clock = clock
    }

    package func walk() async -> (results: [WalkResult], stop: Reason?) {
        var state = WalkState(nodes: nodes, slots: await limits.current(.tasks))
        await withTaskGroup(of: (Int, StepEnd).self) { group in
            await start(&state, in: &group)
            while let (index, end) = await group.next() {
                for notice in state.finish(index, end) { notices(notice) }
                if case .everything = end.stop { group.cancelAll() }
                await start(&state, in: &group)
                // Only now, with its successors joined, does the finished step stop holding the clock.
                clock.leave()
            }
        }
        return (state.results, state.stop)
    }

    /// Starts every ready step its resource has room for, highest priority first.
    private func start(_ state: inout WalkState, in group: inout TaskGroup<(Int, StepEnd)>) async {
        if Task.isCancelled, state.stop == nil { state.stop = .interrupted }
        guard !state.stoppedEverything, !Task.isCancelled else { return }
        var bounds: [Resource: Int] = [:]
        for resource in Resource.allCases { bounds[resource] = await limits.current(resource) }
        let started = state.takeReady(bounds: bounds)
        // All of them hold the clock before any runs: none can let time move while the rest start.
        for _ in started { clock.join() }
        for index in started {
            let step = nodes[index].step
            group.addTask { (index, await step.run()) }
        }
    }
}

/// The walker's bookkeeping: waits, the ready queues, what runs, what ended.
private struct WalkState {
    /// A ready step, first out of its queue when its priority is highest (the lower index on a tie).
    struct Ready: Comparable {
        var priority: Double
        var index: Int

        static func < (a: Ready, b: Ready) -> Bool { (-a.priority, a.index) < (-b.priority, b.index) }
    }

    var results: [WalkResult]
    var waiting: [Int]
    var dependents: [[Int]]
    var priority: [Double]
    var resources: [Resource]
    /// One queue per resource: a step waits only behind steps that want what it wants, and an
    /// event costs a heap operation, not a sort of everything ready (100,000 shots on 4 slots).
    var ready: [Resource: MinHeap<Ready>] = [:]
    var running: [Resource: Int] = [:]
    var stop: Reason?
    var stoppedSubmitting = false
    var stoppedEverything = false

    /// `slots`: the bound on tasks in flight, which the order is planned for.
    init(nodes: [WalkNode], slots: Int) {
        results = Array(repeating: .notStarted, count: nodes.count)
        waiting = nodes.map(\.dependencies.count)
        resources = nodes.map(\.step.resource)
        var dependents = [[Int]](repeating: [], count: nodes.count)
        for (i, node) in nodes.enumerated() {
            for d in node.dependencies { dependents[d].append(i) }
        }
        self.dependents = dependents
        priority = SchedulePriority.compute(
            order: Array(nodes.indices), cost: nodes.map(\.cost), waitsFor: nodes.map(\.dependencies),
            dependents: dependents, limited: resources.map { $0 == .tasks }, slots: slots)
        for index in nodes.indices where waiting[index] == 0 { enqueue(index) }
    }

    mutating func enqueue(_ index: Int) {
        ready[resources[index], default: MinHeap()].insert(Ready(priority: priority[index], index: index))
    }

    /// The ready steps to start now, within each resource's bound, highest priority first.
    mutating func takeReady(bounds: [Resource: Int]) -> [Int] {
        var started: [Int] = []
        for resource in Resource.allCases {
            if stoppedSubmitting && resource == .tasks { continue }
            let bound = resource == .none ? Int.max : bounds[resource] ?? 1
            while running[resource, default: 0] < bound, let next = ready[resource]?.popMin() {
                running[resource, default: 0] += 1
                started.append(next.index)
            }
        }
        return started.sorted { Ready(priority: priority[$0], index: $0) < Ready(priority: priority[$1], index: $1) }
    }

    mutating func finish(_ index: Int, _ end: StepEnd) -> [WalkNotice] {
        running[resources[index], default: 1] -= 1
        results[index] = .ended(end)
        var notices: [WalkNotice] = []
        if end.succeeded {
            for d in dependents[index] {
                waiting[d] -= 1
                if waiting[d] == 0, results[d] == .notStarted { enqueue(d) }
            }
        } else {
            notices += block(downstreamOf: index, root: index)
        }
        let before = stop
        switch end.stop {
        case .submitting(let reason):
            if stop == nil { stop = reason }
            stoppedSubmitting = true
        case .everything(let reason):
            if !stoppedEverything { stop = reason }
            stoppedSubmitting = true
            stoppedEverything = true
        case nil: break
        }
        if let stop, stop != before { notices.append(.stopping(stop)) }
        return notices
    }

    private mutating func block(downstreamOf index: Int, root: Int) -> [WalkNotice] {
        var notices: [WalkNotice] = []
        var stack = dependents[index]
        while let d = stack.popLast() {
            guard results[d] == .notStarted else { continue }
            results[d] = .blocked(by: root)
            notices.append(.blocked(node: d, by: root))
            stack.append(contentsOf: dependents[d])
        }
        return notices
    }
}

/// The bound on each resource. The bound on tasks in flight moves: a 429 on submission lowers it
/// by one, each accepted submission raises it back, never above the maximum.
package actor ResourceLimits {
    private let maximum: [Resource: Int]
    private var bound: [Resource: Int]

    package init(tasks: Int, transfers: Int, cpu: Int) {
        maximum = [.tasks: max(1, tasks), .transfers: max(1, transfers), .cpu: max(1, cpu)]
        bound = maximum
    }

    package func current(_ resource: Resource) -> Int { bound[resource] ?? Int.max }

    package func lower(_ resource: Resource) { bound[resource] = max(1, (bound[resource] ?? 1) - 1) }

    package func raise(_ resource: Resource) {
        bound[resource] = min(maximum[resource] ?? 1, (bound[resource] ?? 0) + 1)
    }
}
