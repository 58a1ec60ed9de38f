import Foundation

/// The dependency graph: every reference resolved, no cycle.
extension ProjectBuilder {
    /// Reports cycles, each once, named in order from the shot that comes first in the file.
    mutating func checkDependencies(_ shots: [Shot]) {
        let index = Dictionary(shots.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        let edges = shots.map { shot in shot.upstreamIDs.compactMap { index[$0] } }
        for component in StronglyConnected.components(count: shots.count, edges: edges) where component.count > 1 {
            guard let start = component.min() else { continue }
            let members = Set(component)
            let path = StronglyConnected.cycle(from: start, within: members, edges: edges)
            let names = (path + [start]).map { shots[$0].id }.joined(separator: " → ")
            sink.error(shots[start].location, "dependency cycle: \(names)", note: "remove one of these references")
        }
    }
}
