import KlingRenderCore

extension Engine {
    /// Each shot's outcome from its steps' results, the credits of what was submitted, the files
    /// written, and each kind's own entries.
    func report(_ graph: StepGraph, results: [WalkResult], stop: Reason?) async -> ApplyReport {
        let final = await context.recorder.manifest
        let run = FinishedRun(plan: plan, graph: graph, results: results, stop: stop, manifest: final)
        var shots: [ApplyReport.ShotResult] = []
        var files: [ManifestFileWritten] = []
        var estimated = 0
        var consumed = 0
        for planned in plan.shots {
            let outcome = run.outcome(ofShot: planned.key)
            shots.append(ApplyReport.ShotResult(id: planned.key, outcome: outcome))
            if planned.action.submits, let entry = final.shots[planned.key], entry.fingerprint == planned.fingerprint,
                let task = entry.taskID, task != taskIDsBefore[planned.key]
            {
                estimated = estimated.addingSaturated(planned.estimatedCredits)
                consumed = consumed.addingSaturated(entry.consumedCredits ?? 0)
            }
            if outcome == .done, planned.action != .unchanged {
                for file in final.shots[planned.key]?.files ?? [] {
                    files.append(ManifestFileWritten(shot: planned.key, path: file.path, bytes: file.bytes))
                }
            }
        }
        var report = ApplyReport(
            shots: shots, estimatedCredits: estimated, consumedCredits: consumed, files: files, stopReason: stop)
        report.entries = StepKinds.all.flatMap { $0.entries(of: run) }
        return report
    }
}
