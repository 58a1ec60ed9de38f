import KlingRenderCore

/// When to ask for a task's status: the first poll late (at 90% of the expected render time), then
/// every 6% of the time elapsed since submission, between 1 and 60 seconds. A render that takes
/// T seconds is seen done at most 6% of T after it finishes, with about four status requests when
/// the guess is right, where a client polling every 5 s would send T / 5 (48 for four minutes).
/// (Tuned on the benchmark's film against the simulator's render times: 2.4% of lag on the
/// critical path and 3.6 polls a task, where 80%/9% gave 4.1% and 4.3.)
package struct PollSchedule: Sendable, Equatable {
    package var expected: Double
    package var firstFraction = 0.9
    package var growth = 0.06
    package var minimum = 1.0
    package var maximum = 60.0

    package init(expected: Double) {
        self.expected = expected
    }

    /// Seconds of API time to wait before the next poll, `elapsed` seconds after submission.
    /// A resumed task (its submission time unknown) is polled at once, then at the cap's pace.
    package func delay(elapsed: Double, polls: Int, resumed: Bool = false) -> Double {
        if polls == 0 { return resumed ? 0 : max(minimum, expected * firstFraction - elapsed) }
        let base = resumed ? max(elapsed, expected) : elapsed
        return min(maximum, max(minimum, base * growth))
    }

    /// The poll times, in seconds after submission, of a render that takes `actual` seconds: for
    /// benchmarks and tests, no sleeping.
    package func pollTimes(untilDone actual: Double) -> [Double] {
        var times: [Double] = []
        var t = 0.0
        repeat {
            t += delay(elapsed: t, polls: times.count)
            times.append(t)
        } while t < actual && times.count < 10_000
        return times
    }
}

/// Waits between retries: exponential from `base`, capped, with full jitter (a random point in
/// the window), so that many clients refused at once do not come back at once.
package struct Backoff: Sendable {
    package var base: Double = 1
    package var cap: Double = 60

    package init(base: Double = 1, cap: Double = 60) {
        self.base = base
        self.cap = cap
    }

    /// Seconds to wait before retry number `attempt` (0-based); `unit` is a random number in [0, 1).
    package func delay(attempt: Int, unit: Double) -> Double {
        let window = min(cap, base * pow2(min(attempt, 30)))
        return window / 2 + window / 2 * unit
    }

    private func pow2(_ n: Int) -> Double { Double(1 << n) }
}
