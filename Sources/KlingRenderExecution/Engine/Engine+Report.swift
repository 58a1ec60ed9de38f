import KlingRenderCore

extension Engine {
    /// Each shot's outcome from its steps' results, the credits of what was submitted, the files written.
    func report(_ graph: Graph, results: [WalkResult], stop: Reason?) async -> ApplyReport {
        let final = await context.recorder.manifest
        var shots: [ApplyReport.ShotResult] = []
        var files: [ManifestFileWritten] = []
        var estimated = 0
        var consumed = 0
        for planned in plan.shots {
            let outcome = outcome(of: planned.key, graph: graph, results: results, stop: stop)
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
        if let node = graph.cut, let planned = plan.cut {
            let outcome: ShotOutcome =
                switch results[node] {
                case .ended(let end): end.succeeded ? .done : end.outcome
                case .blocked(let root): .blocked(by: graph.owner[root] ?? "a clip")
                case .notStarted: .notStarted(.stopped(stop ?? .interrupted))
                }
            let recorded = outcome == .done ? final.cut : nil
            report.cut = ApplyReport.CutResult(
                path: planned.path, outcome: outcome, seconds: recorded?.seconds, bytes: recorded?.file.bytes)
        }
        return report
    }

    private func outcome(of id: String, graph: Graph, results: [WalkResult], stop: Reason?) -> ShotOutcome {
        let stopped = ShotOutcome.notStarted(.stopped(stop ?? .interrupted))
        if let render = graph.render[id] {
            switch results[render] {
            case .ended(let end) where !end.succeeded: return end.outcome
            case .ended: break
            case .blocked(let root): return .blocked(by: graph.owner[root] ?? id)
            case .notStarted: return stopped
            }
        }
        guard let download = graph.download[id] else { return .unchanged }
        switch results[download] {
        case .ended(let end): return end.succeeded ? .done : end.outcome
        case .blocked, .notStarted: return .downloadFailed(.stopped(stop ?? .interrupted))
        }
    }
}
