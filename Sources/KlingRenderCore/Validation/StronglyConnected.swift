/// Tarjan's strongly connected components, iterative so that a 100,000-shot chain cannot
/// overflow the stack. Nodes are indices `0..<count`; `edges[n]` are the nodes `n` depends on.
enum StronglyConnected {
    static func components(count: Int, edges: [[Int]]) -> [[Int]] {
        var index = [Int](repeating: -1, count: count)
        var low = [Int](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var stack: [Int] = []
        var result: [[Int]] = []
        var next = 0
        for root in 0..<count where index[root] < 0 {
            // (node, position in its edge list)
            var work: [(Int, Int)] = [(root, 0)]
            index[root] = next
            low[root] = next
            next += 1
            stack.append(root)
            onStack[root] = true
            while let (node, position) = work.last {
                if position < edges[node].count {
                    work[work.count - 1].1 += 1
                    let target = edges[node][position]
                    if index[target] < 0 {
                        index[target] = next
                        low[target] = next
                        next += 1
                        stack.append(target)
                        onStack[target] = true
                        work.append((target, 0))
                    } else if onStack[target] {
                        low[node] = min(low[node], index[target])
                    }
                    continue
                }
                work.removeLast()
                if let (parent, _) = work.last { low[parent] = min(low[parent], low[node]) }
                if low[node] == index[node] {
                    var component: [Int] = []
                    while let member = stack.popLast() {
                        onStack[member] = false
                        component.append(member)
                        if member == node { break }
                    }
                    result.append(component)
                }
            }
        }
        return result
    }

    /// A cycle from `start` back to it, inside one component, following the lowest-numbered edge
    /// that still leads back (breadth-first, so the cycle named is a shortest one).
    static func cycle(from start: Int, within members: Set<Int>, edges: [[Int]]) -> [Int] {
        var parent: [Int: Int] = [:]
        var queue = [start]
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for target in edges[node].sorted() where members.contains(target) {
                if target == start {
                    var path = [node]
                    while let p = parent[path[0]] { path.insert(p, at: 0) }
                    return path
                }
                if parent[target] == nil, target != start {
                    parent[target] = node
                    queue.append(target)
                }
            }
        }
        return [start]
    }
}
