import Foundation
import KlingRenderCore

/// One kind of work `apply` does, in one place: the steps it adds to the graph from the plan, the
/// rows of the live table it owns beyond the shots', and its entries in the report. Its events are
/// `KindEvent`s, which say themselves how they read. The engine, the views and the report iterate
/// over `StepKinds.all`; none of them switches on a kind.
package protocol StepKind: Sendable {
    /// Adds the kind's steps. Kinds are asked in `StepKinds.all`'s order, so a step may wait for
    /// the steps of the kinds before its own.
    func contribute(to graph: inout StepGraph, from engine: Engine)
    /// Rows of the live table after the shots' (the cut's `[cut]`).
    func rows(for plan: Plan) -> [String]
    /// Entries of the report beside the shots' (the cut's film).
    func entries(of run: FinishedRun) -> [ApplyReport.Entry]
}

extension StepKind {
    package func rows(for plan: Plan) -> [String] { [] }
    package func entries(of run: FinishedRun) -> [ApplyReport.Entry] { [] }
}

/// A kind whose steps a render waits for: one that hosts a kind of media input (a local file,
/// a frame of an upstream shot). Made once per graph, so it may prepare what it shares.
package protocol InputKind: Sendable {
    init(engine: Engine)
    /// The node a render waits for to have `input` hosted, its steps added once however many
    /// shots use it; nil when this kind does not host such an input.
    func node(for input: MediaInput, in graph: inout StepGraph) -> Int?
}

/// The graph the kinds build: the walker's nodes, and where each shot's and asset's steps are.
package struct StepGraph: Sendable {
    package var nodes: [WalkNode] = []
    /// The step whose output a shot's users wait for (its render, or what stands for it).
    package var render: [String: Int] = [:]
    package var download: [String: Int] = [:]
    /// A shot's steps in order: its outcome is read from them.
    package var steps: [String: [Int]] = [:]
    /// A shot's, or for an asset's steps the asset's path.
    package var owner: [Int: String] = [:]
    /// Hosting steps by what they host (a content's SHA-256, a frame's path).
    package var hosted: [String: Int] = [:]
    /// Steps a kind finds again by a name of its own (the cut's).
    package var named: [String: Int] = [:]

    /// Adds a step for an asset or a kind of its own; returns its node.
    package mutating func add(_ step: any Step, for owner: String, after dependencies: [Int], cost: Double) -> Int {
        nodes.append(WalkNode(step: step, dependencies: dependencies, cost: cost))
        self.owner[nodes.count - 1] = owner
        return nodes.count - 1
    }

    /// Adds one of a shot's steps, whose result counts in the shot's outcome.
    package mutating func add(_ step: any Step, ofShot key: String, after dependencies: [Int], cost: Double) -> Int {
        let node = add(step, for: key, after: dependencies, cost: cost)
        steps[key, default: []].append(node)
        return node
    }
}

/// A run that has ended, for the kinds to read their entries of the report from.
package struct FinishedRun: Sendable {
    package var plan: Plan
    package var graph: StepGraph
    package var results: [WalkResult]
    package var stop: Reason?
    /// The manifest as the run left it.
    package var manifest: Manifest

    /// What became of one node, as an outcome: a step that did not run says what that means for it.
    package func outcome(of node: Int) -> ShotOutcome {
        switch results[node] {
        case .ended(let end): end.succeeded ? .done : end.outcome
        case .blocked(let root):
            graph.nodes[node].step.notRun(blockedBy: graph.owner[root] ?? "an upstream step", stop: stop)
        case .notStarted: graph.nodes[node].step.notRun(blockedBy: nil, stop: stop)
        }
    }
}

extension FinishedRun {
    /// A shot's outcome: that of the first of its steps that did not succeed; unchanged when it
    /// had none.
    package func outcome(ofShot key: String) -> ShotOutcome {
        let nodes = graph.steps[key] ?? []
        for node in nodes {
            let outcome = outcome(of: node)
            if outcome != .done { return outcome }
        }
        return nodes.isEmpty ? .unchanged : .done
    }
}
