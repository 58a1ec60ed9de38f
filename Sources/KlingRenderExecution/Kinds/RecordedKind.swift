import KlingRenderCore

/// A shot whose outcome the manifest already knows (an earlier request's answer was lost): a
/// `RecordedStep` that runs nothing and stands for its render, so everything that uses its video
/// is blocked by it.
package struct RecordedKind: StepKind {
    package func contribute(to graph: inout StepGraph, from engine: Engine) {
        for planned in engine.plan.shots where planned.action == .uncertain {
            let step = RecordedStep(id: planned.key, outcome: .uncertain(.recordedUncertain), context: engine.context)
            graph.render[planned.key] = graph.add(step, ofShot: planned.key, after: [], cost: 0)
        }
    }
}
