import Foundation
import KlingAPI
import KlingRenderCore

extension RenderStep {
    /// Records the intent, sends `POST /api/generate` (again only where no task can exist), and
    /// records the task id. Returns the task, or how the step ended. Where the API names tasks
    /// (`external_task_id`), the intent records the id the task is given; `reusing` is that of an
    /// earlier intent whose answer was lost: the task is looked up by it first, and sent again
    /// under the same id only when the API has none.
    func submit(reusing: String? = nil) async -> Result<Submitted, EndedEarly> {
        // Started as the run was interrupted: nothing is submitted after Ctrl-C.
        if Task.isCancelled { return .failure(EndedEarly(end: .ended(.notStarted(.interrupted)))) }
        // Never send a request with an input missing: that would pay for a render of nothing.
        let sent: [MediaInput: String]
        switch await resolveInputs() {
        case .success(let urls): sent = urls
        case .failure(let ended): return .failure(ended)
        }
        let request = shot.request { sent[$0] ?? "" }
        // What the manifest keeps: no presigned URL's signature, and each field as written.
        let recorded = shot.request { AssetHost.unsigned(sent[$0] ?? "") }
        let written = shot.request { $0.source(context.inputFiles) }
        var sources: [String: JSONValue] = [:]
        for (field, input) in shot.mediaInputs where !Self.isPlainURL(input) {
            sources[field.wireName] = written[field.wireName]
        }
        let body: Data
        do {
            body = try CanonicalJSON.data(request)
        } catch {
            return .failure(EndedEarly(end: .ended(.failed(.manifestUnwritable(detail: "\(error)")))))
        }
        let previous = await context.recorder.entry(id)
        let picks = shot.upstreamPicks { Take.parse(context.outputKey($0))?.number }
        let project = await context.recorder.manifest.project
        let external: String? =
            context.api.namesTasks
            ? reusing
                ?? Provider.externalTaskID(
                    project: project, take: id, fingerprint: planned.fingerprint,
                    attempt: (previous?.externalTaskID.flatMap(Provider.attempt) ?? 0) + 1) : nil
        do {
            try await context.recorder.record(id) { entry in
                entry = ManifestShot(
                    type: shot.type.name, fingerprint: planned.fingerprint, request: recorded, inputs: shot.inputs,
                    status: .submitting, estimatedCredits: planned.estimatedCredits)
                entry?.sources = sources.isEmpty ? nil : sources
                entry?.picks = picks
                entry?.externalTaskID = external
            }
        } catch {
            let reason = Reason.manifestUnwritable(detail: "\(error)")
            return .failure(EndedEarly(end: .ended(.notStarted(reason), stop: .submitting(reason))))
        }
        if let reusing {
            switch await lookUp(reusing, body: body) {
            case .found(let created):
                return await adopt(created)
            case .absent: break
            case .unknown(let error): return .failure(EndedEarly(end: await stillUncertain(error)))
            }
        }
        context.emit(RenderEvent.submitting(shot: id))
        return await send(body, restoring: previous, externalID: external, mayExist: reusing != nil)
    }

    /// What a lookup by external task id found.
    enum Lookup {
        case found(CreatedTask)
        /// The API has no task with that id: sending again under it creates the one.
        case absent
        /// The API could not be asked; the shot stays as recorded, to be looked up next time.
        case unknown(KlingAPIError)
    }

    /// The task given `externalID`, asked again after a failure that can pass (as a status is).
    func lookUp(_ externalID: String, body: Data) async -> Lookup {
        let backoff = Backoff(base: 1, cap: 30)
        var last = KlingAPIError.notSent(reason: "not asked")
        for attempt in 0..<max(1, context.options.submitAttempts) {
            do throws(KlingAPIError) {
                if let created = try await context.api.find(externalID: externalID, body: body) {
                    return .found(created)
                }
                return .absent
            } catch {
                last = error
                switch error {
                case .notSent, .serverError, .rateLimited, .answerLost, .unexpectedAnswer: break
                default: return .unknown(error)
                }
            }
            do {
                try await context.sleep(apiSeconds: backoff.delay(attempt: attempt, unit: context.random()))
            } catch {
                return .unknown(last)
            }
        }
        return .unknown(last)
    }

    /// A request went out under an external task id and it could not be found out whether the
    /// task exists: recorded uncertain, with its id, for the next apply to look up.
    private func stillUncertain(_ error: KlingAPIError) async -> StepEnd {
        let reason = Reason.answerLost(detail: "\(error)")
        try? await context.recorder.record(id) { entry in
            entry?.status = .uncertain
            entry?.error = "\(error)"
        }
        context.emit(RunEvent.uncertain(shot: id, reason: reason))
        return .ended(.uncertain(reason))
    }

    /// URLs and upstream videos are recorded as they were (the latter in `inputs`); files and
    /// frames also by their source.
    static func isPlainURL(_ input: MediaInput) -> Bool {
        switch input {
        case .url, .shotVideo: true
        case .file, .frame: false
        }
    }

    /// The POST and its retries. `previous` is what the manifest said before the intent.
    /// `mayExist`: a request under `externalID` may have arrived before (an earlier run's).
    private func send(_ body: Data, restoring previous: ManifestShot?, externalID: String?, mayExist: Bool)
        async -> Result<Submitted, EndedEarly>
    {
        var mayExist = mayExist
        /// Nothing was created: the manifest goes back to what it said before.
        func restore(_ outcome: ShotOutcome, stop: Stop? = nil) async -> Result<Submitted, EndedEarly> {
            try? await context.recorder.record(id) { $0 = previous }
            return .failure(EndedEarly(end: .ended(outcome, stop: stop)))
        }
        let backoff = Backoff(base: 1, cap: 60)
        var attempt = 0
        let label = context.labelsRequests ? "\(shot.id), take \(Take.parse(id)?.number ?? 1)" : nil
        while true {
            let api = context.api
            // Not cancelled by an interrupt: a request half-sent is a task half-known.
            let answer = await Task { () -> Result<CreatedTask, KlingAPIError> in
                do throws(KlingAPIError) {
                    return .success(try await api.generate(body: body, label: label, externalID: externalID))
                } catch {
                    return .failure(error)
                }
            }.value
            let error: KlingAPIError
            switch answer {
            case .success(let created):
                let answeredAt = context.clock.now()
                return .success(Submitted(taskID: await accepted(created), answeredAt: answeredAt))
            case .failure(let failure): error = failure
            }
            switch error {
            case .invalidAPIKey:
                return await restore(.notStarted(.keyRefused), stop: .everything(.keyRefused))
            case .insufficientCredits(let message):
                return await restore(
                    .notStarted(.noCredits(message: message)), stop: .submitting(.noCredits(message: message)))
            case .rejected(let status, let code, let message):
                // Under an external id, a refusal may be the answer to a second task with it (a
                // first one whose answer was lost): that first one is the shot's.
                if let externalID, mayExist {
                    switch await lookUp(externalID, body: body) {
                    case .found(let created):
                        return await adopt(created)
                    // A task sent earlier under this id may exist and not be found yet: never
                    // called failed (which would render again under a new id and pay twice).
                    case .absent, .unknown: return .failure(EndedEarly(end: await stillUncertain(error)))
                    }
                }
                return .failure(
                    EndedEarly(end: await failed(.rejected(status: status, code: code, message: message), error)))
            case _ where error.isSafeToResubmit:
                attempt += 1
                if attempt >= context.options.submitAttempts {
                    let reason = Reason.submitGaveUp(tries: attempt, last: "\(error)")
                    context.emit(RunEvent.failed(shot: id, reason: reason))
                    return await restore(.failed(reason))
                }
                let wait = await retryWait(after: error, attempt: attempt, backoff: backoff)
                context.emit(RenderEvent.retrying(shot: id, reason: "\(error)", seconds: wait / context.timeScale))
                do {
                    try await context.sleep(apiSeconds: wait)
                } catch {
                    return await restore(.notStarted(.interrupted))
                }
            default:
                // The request went out and no usable answer came: a task may exist. Under an
                // external id the API says whether it does: adopted, or sent again under that id.
                if let externalID {
                    mayExist = true
                    switch await lookUp(externalID, body: body) {
                    case .found(let created):
                        return await adopt(created)
                    case .absent:
                        attempt += 1
                        if attempt < context.options.submitAttempts {
                            context.emit(
                                RenderEvent.retrying(shot: id, reason: "\(error); no task has its id", seconds: 0))
                            continue
                        }
                        return .failure(EndedEarly(end: await stillUncertain(error)))
                    case .unknown(let lookup): return .failure(EndedEarly(end: await stillUncertain(lookup)))
                    }
                }
                let reason = Reason.answerLost(detail: "\(error)")
                try? await context.recorder.record(id) { entry in
                    entry?.status = .uncertain
                    entry?.error = "\(error)"
                }
                context.emit(RunEvent.uncertain(shot: id, reason: reason))
                return .failure(EndedEarly(end: .ended(.uncertain(reason))))
            }
        }
    }

    /// A task found by its external id (the answer to its POST lost): recorded as if answered now.
    private func adopt(_ created: CreatedTask) async -> Result<Submitted, EndedEarly> {
        .success(Submitted(taskID: await accepted(created), answeredAt: context.clock.now()))
    }

    /// The task id goes to disk first, whatever else the answer says.
    private func accepted(_ created: CreatedTask) async -> String {
        do {
            try await context.recorder.record(id) { entry in
                entry?.status = .running
                entry?.taskID = created.taskID
                entry?.consumedCredits = created.consumedCredits
            }
        } catch {
            context.emit(
                RunEvent.warning("task \(created.taskID) of \(id) could not be written to the manifest: \(error)"))
        }
        context.emit(RenderEvent.submitted(shot: id, taskID: created.taskID, credits: created.consumedCredits))
        await context.limits.raise(.tasks)
        return created.taskID
    }

    /// A refusal of the request itself: recorded as failed.
    private func failed(_ reason: Reason, _ error: KlingAPIError) async -> StepEnd {
        try? await context.recorder.record(id) { entry in
            entry?.status = .failed
            entry?.error = "\(error)"
        }
        context.emit(RunEvent.failed(shot: id, reason: reason))
        return .ended(.failed(reason))
    }

    /// API seconds to wait before sending again: `Retry-After` when a 429 names it (and the bound on
    /// tasks in flight drops by one), else exponential back-off with full jitter.
    private func retryWait(after error: KlingAPIError, attempt: Int, backoff: Backoff) async -> Double {
        guard case .rateLimited(let retryAfter, _) = error else {
            return backoff.delay(attempt: attempt - 1, unit: context.random())
        }
        await context.limits.lower(.tasks)
        guard let retryAfter else { return backoff.delay(attempt: attempt - 1, unit: context.random()) }
        return retryAfter.inSeconds
    }
}
