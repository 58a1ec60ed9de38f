import Foundation
import KlingAPI
import KlingRenderCore

extension RenderStep {
    /// Polls a task on `PollSchedule` until it ends, `--timeout` passes, or its answers prove
    /// unusable. `since`: when its POST was answered, if this run sent it; the schedule counts from then.
    func poll(taskID: String, resumed: Bool, since: Double? = nil) async -> StepEnd {
        let schedule = PollSchedule(expected: expectedSeconds)
        let clock = context.clock
        let started = since ?? clock.now()
        let deadline = context.options.timeout.map { started + $0 }
        var tally = PollTally()
        while true {
            let elapsed = (clock.now() - started) * context.timeScale
            var wait = schedule.delay(elapsed: elapsed, polls: tally.polls, resumed: resumed) / context.timeScale
            if let deadline {
                let left = deadline - clock.now()
                if left <= 0 {
                    context.emit(RenderEvent.timedOut(shot: id, taskID: taskID))
                    return .ended(.inFlight(taskID: taskID, .timedOut))
                }
                wait = min(wait, left)
            }
            do {
                try await clock.sleep(seconds: wait)
            } catch {
                return .ended(.inFlight(taskID: taskID, .interrupted))
            }
            tally.polls += 1
            let report: TaskReport
            switch await ask(taskID, until: deadline) {
            case nil where Task.isCancelled:
                return .ended(.inFlight(taskID: taskID, .interrupted))
            case nil:
                context.emit(RenderEvent.timedOut(shot: id, taskID: taskID))
                return .ended(.inFlight(taskID: taskID, .timedOut))
            case .success(let answer)?:
                report = answer
            case .failure(let error)?:
                if let end = await unanswered(error, taskID: taskID, tally: &tally, deadline: deadline) { return end }
                continue
            }
            tally.unusable = 0
            if let end = await answered(report, taskID: taskID, tally: &tally) { return end }
        }
    }

    /// One status request, cut off at the deadline (nil then), however slowly the server answers.
    private func ask(_ taskID: String, until deadline: Double?) async -> Result<TaskReport, KlingAPIError>? {
        let api = context.api
        let request = { @Sendable () async -> Result<TaskReport, KlingAPIError> in
            do throws(KlingAPIError) {
                return .success(try await api.status(taskID: taskID))
            } catch {
                return .failure(error)
            }
        }
        guard let deadline else { return await request() }
        // The last poll, at the deadline itself, gets a second of grace.
        return await Deadline.race(after: max(1, deadline - context.clock.now()), on: context.clock, request)
    }

    /// What a poll's error means: nil to poll on, else how the step ends.
    private func unanswered(_ error: KlingAPIError, taskID: String, tally: inout PollTally, deadline: Double?) async
        -> StepEnd?
    {
        switch error {
        case .invalidAPIKey:
            return .ended(.inFlight(taskID: taskID, .keyRefused), stop: .everything(.keyRefused))
        case .taskNotFound:
            tally.notFound += 1
            guard tally.notFound >= 3 else { return nil }
            return .ended(.inFlight(taskID: taskID, .taskUnknown(taskID: taskID)))
        case .rateLimited(let retryAfter, _):
            guard let retryAfter else { return nil }
            var pause =
                retryAfter.inSeconds / context.timeScale
            // The deadline holds whatever the server asks for.
            if let deadline { pause = min(pause, max(0, deadline - context.clock.now())) }
            try? await context.clock.sleep(seconds: pause)
            return nil
        case .unexpectedAnswer, .serverError, .rejected, .urlExpired, .answerLost, .addressRefused:
            tally.unusable += 1
            guard tally.unusable >= context.options.maxUnusableAnswers else {
                context.emit(RenderEvent.retrying(shot: id, reason: "status of \(taskID): \(error)", seconds: 0))
                return nil
            }
            let reason = Reason.unusableAnswers(count: tally.unusable, last: "\(error)")
            context.emit(RenderEvent.unanswered(shot: id, taskID: taskID, reason: reason))
            return .ended(.inFlight(taskID: taskID, reason))
        case .notSent, .insufficientCredits:
            context.emit(RenderEvent.retrying(shot: id, reason: "status of \(taskID): \(error)", seconds: 0))
            return nil
        }
    }

    /// What a status answer means: nil to poll on, else how the step ends.
    private func answered(_ report: TaskReport, taskID: String, tally: inout PollTally) async -> StepEnd? {
        context.emit(RenderEvent.polled(shot: id, taskID: taskID, status: report.status, phase: report.phase))
        switch report.phase {
        case .running:
            return nil
        case .unknown:
            if tally.unknownWords.insert(report.status).inserted {
                context.emit(RenderEvent.unknownStatus(shot: id, status: report.status))
            }
            return nil
        case .succeeded:
            let urls = report.urls.filter { URLPolicy.problem($0, endpoint: context.endpoint) == nil }
            guard !urls.isEmpty else {
                let problem = report.urls.first.flatMap { URLPolicy.problem($0, endpoint: context.endpoint) } ?? ""
                return await failed(
                    TaskReport(
                        taskID: taskID, status: report.status, phase: .failed, consumedCredits: report.consumedCredits,
                        urls: [], failureReason: "the API's video URL \(problem); it is not fetched"))
            }
            // Staged, not written: what uses this video starts at once, and the change goes to disk
            // with the next write (the download's, or a dependent's intent). Lost in a crash, it
            // costs only a poll: the task is still recorded as running.
            await context.recorder.stage(id) { entry in
                entry?.status = .succeeded
                entry?.urls = urls
                entry?.urlsReceived = AssetClock.stamp(context.now())
                entry?.files = []
                entry?.error = nil
                if let credits = report.consumedCredits { entry?.consumedCredits = credits }
            }
            await context.outputs.set(id, urls)
            context.emit(RenderEvent.rendered(shot: id, urls: urls, credits: report.consumedCredits))
            return .success
        case .failed:
            return await failed(report)
        }
    }

    /// A task that ended FAILED (or whose success cannot be used): recorded, reported.
    private func failed(_ report: TaskReport) async -> StepEnd {
        let reason = Reason.taskFailed(message: report.failureReason ?? report.status)
        try? await context.recorder.record(id) { entry in
            entry?.status = .failed
            entry?.error = report.failureReason ?? report.status
            if let credits = report.consumedCredits { entry?.consumedCredits = credits }
        }
        context.emit(RunEvent.failed(shot: id, reason: reason))
        return .ended(.failed(reason))
    }
}

/// What a poll loop counts.
struct PollTally {
    var polls = 0
    var notFound = 0
    /// Answers in a row that came back and could not be used.
    var unusable = 0
    var unknownWords = Set<String>()
}
