/// The dependency graph of a project: an edge from each shot to the shots it waits for.
///
/// Order is topological with file order as the tie-break, so the same file always gives the same
/// plan. Loading has already refused cycles; should one reach here anyway, its shots are left out
/// of `order` rather than looping.
package struct ShotGraph: Sendable {
    package let shots: [Shot]
    /// The project's local input files, for fingerprints.
    package let files: [String: InputFile]
    package let index: [String: Int]
    /// `upstream[i]`: indices of the shots shot `i` waits for.
    package let upstream: [[Int]]
    /// `downstream[i]`: indices of the shots that wait for shot `i`.
    package let downstream: [[Int]]
    /// Shot indices in dependency order.
    package let order: [Int]

    package init(_ project: Project) {
        shots = project.shots
        files = project.inputFiles
        var index: [String: Int] = [:]
        index.reserveCapacity(shots.count)
        // By index: a `for shot in shots` copies each Shot, dictionaries and all.
        for i in shots.indices where index[shots[i].id] == nil { index[shots[i].id] = i }
        self.index = index
        var upstream = [[Int]](repeating: [], count: shots.count)
        var downstream = [[Int]](repeating: [], count: shots.count)
        for i in shots.indices {
            for id in shots[i].upstreamIDs {
                guard let u = index[id] else { continue }
                upstream[i].append(u)
                downstream[u].append(i)
            }
        }
        self.upstream = upstream
        self.downstream = downstream

        // Kahn's algorithm; the ready set is a min-heap of file positions.
        var waiting = upstream.map(\.count)
        var ready = MinHeap<Int>()
        for i in shots.indices where waiting[i] == 0 { ready.insert(i) }
        var order: [Int] = []
        order.reserveCapacity(shots.count)
        while let i = ready.popMin() {
            order.append(i)
            for d in downstream[i] {
                waiting[d] -= 1
                if waiting[d] == 0 { ready.insert(d) }
            }
        }
        self.order = order
    }

    /// Shots `ids` and everything they need, transitively.
    package func closure(of ids: some Sequence<Int>) -> Set<Int> {
        var seen = Set<Int>()
        var stack = Array(ids)
        while let i = stack.popLast() {
            guard seen.insert(i).inserted else { continue }
            stack.append(contentsOf: upstream[i])
        }
        return seen
    }
}

/// A binary min-heap: the ready set of the topological sort, and of a list schedule.
package struct MinHeap<Element: Comparable> {
    private var items: [Element] = []

    package init() {}

    package var isEmpty: Bool { items.isEmpty }

    package mutating func insert(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    package mutating func popMin() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let min = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return min
    }
}
