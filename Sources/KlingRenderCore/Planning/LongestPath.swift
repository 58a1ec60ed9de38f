/// The longest remaining path through a graph: a node's own cost plus the costliest chain of
/// nodes that wait on it. The one implementation behind the walker's priority (longest first)
/// and the critical-path bound that benchmarks and tests measure a schedule against.
package enum LongestPath {
    /// `order` is topological (each node after those it waits for); `dependents[i]` are the nodes
    /// that wait for `i`. Returns, per node, the remaining path length including its own cost.
    package static func remaining(order: [Int], cost: (Int) -> Double, dependents: [[Int]]) -> [Double] {
        var result = [Double](repeating: 0, count: dependents.count)
        for i in order.reversed() {
            result[i] = cost(i) + (dependents[i].map { result[$0] }.max() ?? 0)
        }
        return result
    }

    /// The critical path: the longest remaining path of any node.
    package static func critical(order: [Int], cost: (Int) -> Double, dependents: [[Int]]) -> Double {
        remaining(order: order, cost: cost, dependents: dependents).max() ?? 0
    }
}
