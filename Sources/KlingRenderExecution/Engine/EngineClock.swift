import Foundation

/// Where the engine reads time and sleeps: every wait (polling, back-off, `Retry-After`,
/// `--timeout`) goes through one of these, never through `Task.sleep` or `ContinuousClock`.
///
/// Our own protocol rather than swift-clocks' `TestClock`: a test clock must know when to move
/// time forward, and swift-clocks guesses it (it yields a number of times and hopes every task has
/// reached its sleep), which on two loaded cores is a race. The walker knows exactly which steps
/// are running: it `join`s each before it starts and `leave`s it once its result is taken in, so
/// `VirtualClock` moves time only when every participant is asleep — exact and deterministic.
package protocol EngineClock: Sendable {
    /// Seconds since the clock's origin.
    func now() -> Double
    /// Sleeps `seconds` (none when not above 0); throws `CancellationError` when the task is cancelled.
    func sleep(seconds: Double) async throws
    /// A participant starts: time does not move while it works.
    func join()
    /// A participant ends.
    func leave()
}

/// Real time, for the command line: `ContinuousClock`, and joins that cost nothing.
package struct SystemClock: EngineClock {
    private let origin = ContinuousClock.now

    package init() {}

    package func now() -> Double {
        (ContinuousClock.now - origin).inSeconds
    }

    package func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return try Task.checkCancellation() }
        try await Task.sleep(for: .clamped(seconds: seconds))
    }

    package func join() {}
    package func leave() {}
}

/// Virtual time for tests: it stands still while any participant works, and jumps to the
/// earliest wake-up once all of them sleep. A 200-shot schedule of hours runs in milliseconds,
/// and its times are exact.
package final class VirtualClock: EngineClock, @unchecked Sendable {
    private struct Sleeper {
        var deadline: Double
        var id: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NSLock()
    private var time = 0.0
    private var active = 0
    private var sleepers: [Sleeper] = []
    private var nextID = 0
    /// Sleeps cancelled before their continuation was stored.
    private var cancelledEarly = Set<Int>()

    package init() {}

    package func now() -> Double { lock.withLock { time } }

    /// Participants awake now (for tests of the clock itself).
    package var awake: Int { lock.withLock { active } }

    package func join() { lock.withLock { active += 1 } }

    package func leave() {
        let woken = lock.withLock { () -> [Sleeper] in
            active -= 1
            return advanceIfIdle()
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    package func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return try Task.checkCancellation() }
        let id = lock.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let woken = lock.withLock { () -> [Sleeper]? in
                    if cancelledEarly.remove(id) != nil { return nil }
                    sleepers.append(Sleeper(deadline: time + seconds, id: id, continuation: continuation))
                    active -= 1
                    return advanceIfIdle()
                }
                guard let woken else { return continuation.resume(throwing: CancellationError()) }
                for sleeper in woken { sleeper.continuation.resume() }
            }
        } onCancel: {
            let cancelled = lock.withLock { () -> Sleeper? in
                guard let index = sleepers.firstIndex(where: { $0.id == id }) else {
                    cancelledEarly.insert(id)
                    return nil
                }
                active += 1
                return sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// With every participant asleep, moves time to the earliest deadline and wakes its sleepers.
    private func advanceIfIdle() -> [Sleeper] {
        guard active == 0, let earliest = sleepers.map(\.deadline).min() else { return [] }
        time = max(time, earliest)
        let woken = sleepers.filter { $0.deadline <= earliest }
        sleepers.removeAll { $0.deadline <= earliest }
        active += woken.count
        return woken.sorted { $0.id < $1.id }
    }
}

extension Duration {
    /// A wait of `seconds`, whatever number came in: NaN and negatives are no wait, and anything
    /// above 30 days is 30 days (`Duration` traps where a number from outside can reach).
    package static func clamped(seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .milliseconds(Int64((min(seconds, 30 * 86_400) * 1000).rounded(.up)))
    }
}
