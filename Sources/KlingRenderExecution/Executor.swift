import Foundation
import KlingAPI
import KlingRenderCore

/// Runs a plan: shots in dependency order, at most `parallelism` tasks in flight, the longest
/// remaining path first, a dependent starting the moment its inputs have rendered.
///
/// Invariants, in the order things happen to a shot that is submitted:
/// 1. the intent to submit is written to the manifest before `POST /api/generate` goes out;
/// 2. the task id is written the moment it is known, before anything else;
/// 3. the POST is sent again only when no task can have been created (connection refused, 429,
///    500/502/503); a lost answer leaves the shot uncertain, never resubmitted here;
/// 4. a task is never marked failed for a local reason (time-out, interrupt, network): it stays
///    in flight and the next apply polls it.
/// The POST itself is never cancelled half-way: an interrupt waits for its answer.
package final class Executor: Sendable {
    package let project: Project
    package let plan: Plan
    package let paths: ProjectPaths
    package let client: KlingClient
    package let options: ExecutionOptions
    package let recorder: ManifestRecorder
    private let events: @Sendable (ExecutionEvent) -> Void
    private let limiter: Limiter
    /// API seconds per real second, never zero: what every wait in API time is divided by.
    private var timeScale: Double { max(options.timeScale, 1e-9) }
    private static let refusedKey = "the API refused the key (401 INVALID_API_KEY): check KLING_API_KEY"

    package init(
        project: Project, plan: Plan, paths: ProjectPaths, manifest: Manifest, client: KlingClient,
        options: ExecutionOptions, events: @escaping @Sendable (ExecutionEvent) -> Void
    ) {
        self.project = project
        self.plan = plan
        self.paths = paths
        self.client = client
        self.options = options
        self.recorder = ManifestRecorder(manifest: manifest, paths: paths)
        self.events = events
        self.limiter = Limiter(maximum: max(1, options.parallelism))
    }

    /// What a step of a shot came back with.
    private enum Step: Sendable {
        case rendered(id: String, urls: [String])
        case ended(id: String, outcome: ShotOutcome, stop: Stop?)
        case downloaded(id: String)
        case downloadFailed(id: String, reason: String)
    }

    private enum Stop: Sendable {
        /// Stop submitting; let running tasks finish (402, --fail-fast, a manifest that cannot be written).
        case submitting(String)
        /// Stop everything at once (401).
        case everything(String)
    }

    private enum NodeState {
        case waiting(Set<String>)
        case ready
        case rendering
        case downloading
        case finished(ShotOutcome)
    }

    package func run() async -> ApplyReport {
        let shotsByID = Dictionary(project.shots.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let order = plan.shots.map(\.id)
        let planned = Dictionary(plan.shots.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var dependents: [String: [String]] = [:]
        for shot in plan.shots {
            for input in shot.dependsOn { dependents[input.id, default: []].append(shot.id) }
        }
        let priority = remainingPath(order: order, planned: planned, dependents: dependents)
        let position = Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })

        var state: [String: NodeState] = [:]
        var outputs: [String: [String]] = [:]
        var downloadQueue: [String] = []
        /// Shots whose inputs are all rendered, not yet started.
        var ready: [String] = []
        var stopReason: String?
        var hardStop = false
        let manifest = await recorder.manifest

        func block(_ id: String, by upstream: String) {
            for child in dependents[id] ?? [] {
                guard case .waiting = state[child] else { continue }
                state[child] = .finished(.blocked(by: upstream))
                events(.blocked(shot: child, by: upstream))
                block(child, by: upstream)
            }
        }

        func release(_ id: String) {
            for child in dependents[id] ?? [] {
                guard case .waiting(var waits) = state[child] else { continue }
                waits.remove(id)
                state[child] = waits.isEmpty ? .ready : .waiting(waits)
                if waits.isEmpty { ready.append(child) }
            }
        }

        for shot in plan.shots {
            switch shot.action {
            case .unchanged:
                state[shot.id] = .finished(.unchanged)
                outputs[shot.id] = manifest.shots[shot.id]?.urls ?? []
                events(.unchanged(shot: shot.id))
            case .uncertain:
                let reason = "the answer to its request was lost; `--replace \(shot.id)` submits it again"
                state[shot.id] = .finished(.uncertain(reason))
                events(.uncertain(shot: shot.id, reason: reason))
                block(shot.id, by: shot.id)
            case .download:
                outputs[shot.id] = manifest.shots[shot.id]?.urls ?? []
                state[shot.id] = .downloading
                downloadQueue.append(shot.id)
            case .resume:
                state[shot.id] = .ready
                ready.append(shot.id)
            case .render, .rerender:
                if case .finished = state[shot.id] { continue }  // blocked already
                var waits = Set<String>()
                var blocker: String?
                for input in shot.dependsOn {
                    switch state[input.id] {
                    case .finished(.blocked(let by)): blocker = blocker ?? by
                    case .finished(let outcome) where !outcome.isSuccess: blocker = blocker ?? input.id
                    case .finished, .downloading, nil: continue
                    default: waits.insert(input.id)
                    }
                }
                if let blocker {
                    state[shot.id] = .finished(.blocked(by: blocker))
                    events(.blocked(shot: shot.id, by: blocker))
                } else {
                    state[shot.id] = waits.isEmpty ? .ready : .waiting(waits)
                    if waits.isEmpty { ready.append(shot.id) }
                }
            }
        }

        await withTaskGroup(of: Step.self) { group in
            var rendering = 0
            var downloading = 0
            while true {
                let cancelled = Task.isCancelled
                if cancelled, stopReason == nil { stopReason = "interrupted" }
                if stopReason == nil, !cancelled {
                    let limit = await limiter.current
                    // Longest remaining path first; file order breaks ties.
                    ready.sort { (priority[$0] ?? 0, -(position[$0] ?? 0)) > (priority[$1] ?? 0, -(position[$1] ?? 0)) }
                    while rendering < limit, !ready.isEmpty {
                        let id = ready.removeFirst()
                        guard let plannedShot = planned[id], let shot = shotsByID[id] else { continue }
                        state[id] = .rendering
                        rendering += 1
                        let inputs = Dictionary(
                            shot.upstreamIDs.compactMap { up in outputs[up].map { (up, $0) } },
                            uniquingKeysWith: { a, _ in a })
                        group.addTask { await self.render(plannedShot, shot: shot, outputs: inputs) }
                    }
                }
                if !hardStop, !cancelled {
                    while downloading < options.downloads, !downloadQueue.isEmpty {
                        let id = downloadQueue.removeFirst()
                        downloading += 1
                        let urls = outputs[id] ?? []
                        group.addTask { await self.download(id, urls: urls) }
                    }
                }
                guard let step = await group.next() else { break }
                switch step {
                case .rendered(let id, let urls):
                    rendering -= 1
                    outputs[id] = urls
                    state[id] = .downloading
                    downloadQueue.append(id)
                    release(id)
                case .ended(let id, let outcome, let stop):
                    rendering -= 1
                    state[id] = .finished(outcome)
                    block(id, by: id)
                    if case .failed = outcome, options.failFast, stopReason == nil {
                        stopReason = "--fail-fast: \(id) failed"
                        events(.stopping(reason: stopReason!))
                    }
                    switch stop {
                    case .submitting(let reason) where stopReason == nil:
                        stopReason = reason
                        events(.stopping(reason: reason))
                    case .everything(let reason) where !hardStop:
                        stopReason = reason
                        hardStop = true
                        events(.stopping(reason: reason))
                        group.cancelAll()
                    default: break
                    }
                case .downloaded(let id):
                    downloading -= 1
                    if case .downloading = state[id] { state[id] = .finished(.done) }
                case .downloadFailed(let id, let reason):
                    downloading -= 1
                    state[id] = .finished(.downloadFailed(reason))
                }
            }
        }

        let final = await recorder.manifest
        var outcomes: [(id: String, outcome: ShotOutcome)] = []
        var files: [ManifestFileWritten] = []
        var estimated = 0
        var consumed = 0
        for shot in plan.shots {
            let outcome: ShotOutcome
            switch state[shot.id] {
            case .finished(let o): outcome = o
            case .downloading: outcome = .downloadFailed("stopped before the download: \(stopReason ?? "interrupted")")
            default: outcome = .notStarted(stopReason ?? "the run stopped")
            }
            outcomes.append((shot.id, outcome))
            if shot.action.submits, let entry = final.shots[shot.id], entry.fingerprint == shot.fingerprint,
                entry.status != .submitting || entry.taskID != nil
            {
                estimated += shot.estimatedCredits
                consumed += entry.consumedCredits ?? 0
            }
            if outcome == .done, shot.action != .unchanged {
                for file in final.shots[shot.id]?.files ?? [] {
                    files.append(ManifestFileWritten(shot: shot.id, path: file.path, bytes: file.bytes))
                }
            }
        }
        return ApplyReport(
            outcomes: outcomes, estimatedCredits: estimated, consumedCredits: consumed, files: files,
            stopReason: stopReason)
    }

    /// Expected seconds from a shot's start to the end of the longest chain that waits on it.
    private func remainingPath(
        order: [String], planned: [String: Plan.PlannedShot], dependents: [String: [String]]
    ) -> [String: Double] {
        var result: [String: Double] = [:]
        for id in order.reversed() {
            guard let shot = planned[id] else { continue }
            var own = 0.0
            if shot.action.submits || shot.action == .resume, let type = TaskType.named(shot.type) {
                own = RenderTimeEstimate.seconds(type: type, seconds: shot.seconds)
            }
            result[id] = own + ((dependents[id] ?? []).compactMap { result[$0] }.max() ?? 0)
        }
        return result
    }

    // MARK: - Render: submit (or resume) and poll

    private func render(_ planned: Plan.PlannedShot, shot: Shot, outputs: [String: [String]]) async -> Step {
        let id = planned.id
        var taskID: String
        var resumed = false
        // The planner names the task of every shot it resumes.
        if planned.action == .resume {
            guard let recorded = planned.taskID else {
                // Never a submission the plan did not show: a resume with no task is uncertain.
                let reason = "the manifest names no task to resume; `kling-render apply --replace \(id)` submits again"
                events(.uncertain(shot: id, reason: reason))
                return .ended(id: id, outcome: .uncertain(reason), stop: nil)
            }
            taskID = recorded
            resumed = true
        } else if !planned.action.submits {
            return .ended(id: id, outcome: .notStarted("nothing to submit for \(planned.action.rawValue)"), stop: nil)
        } else {
            switch await submit(planned, shot: shot, outputs: outputs) {
            case .success(let created): taskID = created
            case .failure(let submission): return submission.step
            }
        }
        return await poll(
            id, taskID: taskID, expected: RenderTimeEstimate.seconds(type: shot.type, seconds: shot.seconds),
            resumed: resumed)
    }

    private struct Submission: Error { var step: Step }

    private func submit(_ planned: Plan.PlannedShot, shot: Shot, outputs: [String: [String]]) async -> Result<
        String, Submission
    > {
        let id = planned.id
        // Never send a request with an input missing: that would pay for a render of nothing.
        if let missing = shot.inputs.values.sorted().first(where: { outputs[$0]?.first == nil }) {
            events(.blocked(shot: id, by: missing))
            return .failure(Submission(step: .ended(id: id, outcome: .blocked(by: missing), stop: nil)))
        }
        let request = shot.request { upstream in outputs[upstream]?.first ?? "" }
        let body: Data
        do {
            body = try CanonicalJSON.data(request)
        } catch {
            return .failure(
                Submission(step: .ended(id: id, outcome: .failed("cannot encode the request: \(error)"), stop: nil)))
        }
        let previous = await recorder.entry(id)
        do {
            try await recorder.record(id) { entry in
                entry = ManifestShot(
                    type: shot.type.name, fingerprint: planned.fingerprint, request: request, inputs: shot.inputs,
                    status: .submitting, estimatedCredits: planned.estimatedCredits)
            }
        } catch {
            let reason = "cannot write the manifest, so nothing is submitted: \(error.localizedDescription)"
            return .failure(Submission(step: .ended(id: id, outcome: .notStarted(reason), stop: .submitting(reason))))
        }
        events(.submitting(shot: id))

        /// Nothing was created: the manifest goes back to what it said before.
        func restore(_ outcome: ShotOutcome, stop: Stop?) async -> Result<String, Submission> {
            try? await recorder.record(id) { $0 = previous }
            return .failure(Submission(step: .ended(id: id, outcome: outcome, stop: stop)))
        }

        let backoff = Backoff(base: 1, cap: 60)
        var attempt = 0
        while true {
            let client = self.client
            // Not cancelled by an interrupt: a request half-sent is a task half-known.
            let answer = await Task { () -> Result<CreatedTask, KlingAPIError> in
                do throws(KlingAPIError) {
                    return .success(try await client.generate(body: body))
                } catch {
                    return .failure(error)
                }
            }.value
            switch answer {
            case .success(let created):
                do {
                    try await recorder.record(id) { entry in
                        entry?.status = .running
                        entry?.taskID = created.taskID
                        entry?.consumedCredits = created.consumedCredits
                    }
                } catch {
                    events(
                        .warning(
                            "task \(created.taskID) of \(id) could not be written to the manifest: \(error.localizedDescription)"
                        ))
                }
                events(.submitted(shot: id, taskID: created.taskID, credits: created.consumedCredits))
                await limiter.raise()
                return .success(created.taskID)
            case .failure(let error):
                switch error {
                case .invalidAPIKey:
                    return await restore(
                        .notStarted("the API refused the key (401)"),
                        stop: .everything(Self.refusedKey))
                case .insufficientCredits(let message):
                    return await restore(
                        .notStarted("not enough credits (402)"),
                        stop: .submitting("not enough credits (402 INSUFFICIENT_CREDITS): \(message)"))
                case .rejected(let status, let code, let message):
                    let reason = "the API refused the request (\(status)\(code.map { " \($0)" } ?? "")): \(message)"
                    try? await recorder.record(id) { entry in
                        entry?.status = .failed
                        entry?.error = reason
                    }
                    events(.failed(shot: id, reason: reason))
                    return .failure(Submission(step: .ended(id: id, outcome: .failed(reason), stop: nil)))
                case .rateLimited, .serverError, .notSent:
                    attempt += 1
                    if attempt >= options.submitAttempts {
                        let reason = "could not submit after \(attempt) tries: \(error)"
                        events(.failed(shot: id, reason: reason))
                        return await restore(.failed(reason), stop: nil)
                    }
                    var wait = backoff.delay(attempt: attempt - 1, unit: Double.random(in: 0..<1))
                    if case .rateLimited(let retryAfter, _) = error {
                        await limiter.lower()
                        if let retryAfter { wait = seconds(retryAfter) }
                    }
                    wait /= timeScale
                    events(.retrying(shot: id, reason: "\(error)", seconds: wait))
                    do {
                        try await sleep(wait)
                    } catch {
                        return await restore(.notStarted("interrupted"), stop: nil)
                    }
                default:
                    // The request went out and no usable answer came: a task may exist.
                    let reason =
                        "\(error); a task may exist and be charged. `kling-render apply --replace \(id)` submits again"
                    try? await recorder.record(id) { entry in
                        entry?.status = .uncertain
                        entry?.error = "\(error)"
                    }
                    events(.uncertain(shot: id, reason: reason))
                    return .failure(Submission(step: .ended(id: id, outcome: .uncertain(reason), stop: nil)))
                }
            }
        }
    }

    private func poll(_ id: String, taskID: String, expected: Double, resumed: Bool) async -> Step {
        let schedule = PollSchedule(expected: expected)
        let started = ContinuousClock.now
        let deadline = options.timeout.map { started + .clamped(seconds: $0) }
        var polls = 0
        var unknownWords = Set<String>()
        var notFound = 0
        /// Answers in a row that came back and could not be used: a hostile or broken server ends
        /// here, not in an endless poll.
        var unusable = 0
        let scale = timeScale
        while true {
            let elapsed = seconds(ContinuousClock.now - started) * scale
            var wait = schedule.delay(elapsed: elapsed, polls: polls, resumed: resumed) / scale
            if let deadline {
                let left = seconds(deadline - ContinuousClock.now)
                if left <= 0 {
                    events(.timedOut(shot: id, taskID: taskID))
                    return .ended(id: id, outcome: .inFlight(taskID: taskID), stop: nil)
                }
                wait = min(wait, left)
            }
            do {
                try await sleep(wait)
            } catch {
                return .ended(id: id, outcome: .inFlight(taskID: taskID), stop: nil)
            }
            polls += 1
            let report: TaskReport
            do {
                report = try await client.status(taskID: taskID)
            } catch {
                switch error {
                case .invalidAPIKey:
                    return .ended(
                        id: id, outcome: .inFlight(taskID: taskID),
                        stop: .everything(Self.refusedKey))
                case .taskNotFound:
                    notFound += 1
                    if notFound >= 3 {
                        events(
                            .warning(
                                "the API does not know task \(taskID) of \(id): is KLING_API_BASE the endpoint it was submitted to?"
                            ))
                        return .ended(id: id, outcome: .inFlight(taskID: taskID), stop: nil)
                    }
                case .rateLimited(let retryAfter, _):
                    if var pause = retryAfter.map({ seconds($0) / scale }) {
                        // The deadline holds whatever the server asks for.
                        if let deadline { pause = min(pause, max(0, seconds(deadline - ContinuousClock.now))) }
                        try? await sleep(pause)
                    }
                case .unexpectedAnswer, .serverError, .rejected, .urlExpired:
                    unusable += 1
                    if unusable >= options.maxUnusableAnswers {
                        let reason = "\(unusable) status answers in a row could not be used, the last: \(error)"
                        events(.warning("\(id): \(reason); polling stops, the task stays in flight"))
                        return .ended(id: id, outcome: .unanswered(taskID: taskID, reason: reason), stop: nil)
                    }
                    events(.retrying(shot: id, reason: "status of \(taskID): \(error)", seconds: wait))
                default:
                    events(.retrying(shot: id, reason: "status of \(taskID): \(error)", seconds: wait))
                }
                continue
            }
            unusable = 0
            events(.polled(shot: id, taskID: taskID, status: report.status, phase: report.phase))
            switch report.phase {
            case .running:
                continue
            case .unknown:
                if unknownWords.insert(report.status).inserted {
                    events(.unknownStatus(shot: id, status: report.status))
                }
                continue
            case .succeeded:
                do {
                    try await recorder.record(id) { entry in
                        entry?.status = .succeeded
                        entry?.urls = report.urls
                        entry?.files = []
                        entry?.error = nil
                        if let credits = report.consumedCredits { entry?.consumedCredits = credits }
                    }
                } catch {
                    events(
                        .warning(
                            "the render of \(id) could not be written to the manifest: \(error.localizedDescription)"))
                }
                events(.rendered(shot: id, urls: report.urls, credits: report.consumedCredits))
                return .rendered(id: id, urls: report.urls)
            case .failed:
                let reason = report.failureReason ?? report.status
                try? await recorder.record(id) { entry in
                    entry?.status = .failed
                    entry?.error = reason
                    if let credits = report.consumedCredits { entry?.consumedCredits = credits }
                }
                events(.failed(shot: id, reason: reason))
                return .ended(id: id, outcome: .failed(reason), stop: nil)
            }
        }
    }

    // MARK: - Download

    private func download(_ id: String, urls: [String]) async -> Step {
        let scale = timeScale
        var configured = Downloader(client: client, folder: paths.root) { try await self.sleep($0 / scale) }
        configured.limits = options.downloadLimits
        let downloader = configured
        var files: [ManifestFile] = []
        if urls.isEmpty {
            let reason =
                "the manifest records no video URL for it; `kling-render apply --replace \(id)` renders it again"
            events(.failed(shot: id, reason: reason))
            return .downloadFailed(id: id, reason: reason)
        }
        for (n, url) in urls.enumerated() {
            let relative = paths.videoPath(shot: id, number: n + 1)
            do {
                let file = try await withDeadline(options.timeout) { () async throws(DownloadError) -> ManifestFile in
                    try await downloader.fetch(url, to: relative) { offset in
                        self.events(.downloading(shot: id, file: relative, resumedAt: offset))
                    }
                }
                files.append(file)
                events(.downloaded(shot: id, file: file))
            } catch {
                var reason = "\(error)"
                if case .expired = error {
                    reason += "; `kling-render apply --replace \(id)` renders it again"
                }
                let kept = files
                if !Task.isCancelled {
                    try? await recorder.record(id) { entry in
                        entry?.files = kept
                        entry?.error = reason
                    }
                }
                events(.failed(shot: id, reason: reason))
                return .downloadFailed(id: id, reason: reason)
            }
        }
        do {
            let kept = files
            try await recorder.record(id) { entry in
                entry?.files = kept
                entry?.error = nil
            }
        } catch {
            return .downloadFailed(id: id, reason: "the manifest could not be written: \(error.localizedDescription)")
        }
        return .downloaded(id: id)
    }

    private func sleep(_ seconds: Double) async throws {
        guard seconds > 0 else {
            try Task.checkCancellation()
            return
        }
        try await Task.sleep(for: .clamped(seconds: seconds))
    }

    /// Runs a download, cut off after `seconds` (`--timeout`): its partial file stays for the next apply.
    private func withDeadline(
        _ seconds: Double?, _ operation: @escaping @Sendable () async throws(DownloadError) -> ManifestFile
    ) async throws(DownloadError) -> ManifestFile {
        guard let seconds else { return try await operation() }
        let result = await withTaskGroup(of: Result<ManifestFile, DownloadError>?.self) { group in
            group.addTask {
                do throws(DownloadError) {
                    return .success(try await operation())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: .clamped(seconds: seconds))
                } catch {
                    return nil
                }
                return .failure(
                    .failed(url: "", reason: "--timeout reached; the partial file stays for the next apply"))
            }
            var first: Result<ManifestFile, DownloadError>?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first ?? .failure(.failed(url: "", reason: "interrupted"))
        }
        return try result.get()
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The bound on tasks in flight: lowered by a 429 on submission, raised again by each success.
private actor Limiter {
    let maximum: Int
    private(set) var current: Int

    init(maximum: Int) {
        self.maximum = maximum
        current = maximum
    }

    func lower() { current = max(1, current - 1) }

    func raise() { current = min(maximum, current + 1) }
}

extension Duration {
    /// A wait of `seconds`, whatever number came in: NaN and negatives are no wait, and anything
    /// above 30 days is 30 days (`Duration` traps where a number from outside can reach).
    package static func clamped(seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .milliseconds(Int64((min(seconds, 30 * 86_400) * 1000).rounded(.up)))
    }
}
