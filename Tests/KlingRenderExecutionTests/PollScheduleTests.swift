import KlingRenderCore
import KlingRenderExecution
import Testing

@Suite("Polling and back-off, computed without sleeping")
struct PollScheduleTests {
    @Test(
        "a render is seen done within 10% of its time, with a tenth of a 5-second poller's requests",
        arguments: [60.0, 150, 240, 400, 900])
    func detectionAndCost(actual: Double) {
        // The client's guess is off by up to a factor 1.5 either way; the bound must hold.
        for expected in [actual / 1.2, actual, actual * 1.2] {
            let times = PollSchedule(expected: expected).pollTimes(untilDone: actual)
            let last = times.last ?? 0
            #expect(last >= actual)
            #expect(
                last - actual <= max(0.1 * actual, PollSchedule(expected: expected).expected * 0.8 - actual, 1),
                "expected \(expected), actual \(actual): seen \(last - actual) s late")
            let naive = (actual / 5).rounded(.up)
            if expected <= actual {
                #expect(Double(times.count) <= max(8, naive / 5), "\(times.count) polls against \(naive)")
            }
        }
    }

    @Test("a four-minute render guessed right takes about four polls, where a 5-second poller sends 48")
    func fourMinutes() {
        let times = PollSchedule(expected: 240).pollTimes(untilDone: 240)
        #expect(times.count <= 6)
        #expect(times.first == 216)
        #expect((times.last ?? 0) - 240 < 24)
    }

    @Test("the interval is capped, and a resumed task is polled at once")
    func capAndResume() {
        let schedule = PollSchedule(expected: 240)
        #expect(schedule.delay(elapsed: 100_000, polls: 50) == 60)
        #expect(schedule.delay(elapsed: 0, polls: 0, resumed: true) == 0)
        #expect(schedule.delay(elapsed: 0, polls: 1, resumed: true) > 1)
    }

    @Test("back-off doubles to its cap, with jitter inside the window")
    func backoff() {
        let backoff = Backoff(base: 1, cap: 60)
        #expect(backoff.delay(attempt: 0, unit: 0) == 0.5)
        #expect(backoff.delay(attempt: 0, unit: 0.999) < 1)
        #expect(backoff.delay(attempt: 3, unit: 0) == 4)
        #expect(backoff.delay(attempt: 20, unit: 0.5) <= 60)
        #expect(backoff.delay(attempt: 20, unit: 0) == 30)
    }

    @Test("longer and pricier renders are expected to take longer")
    func estimates() throws {
        let pro = try #require(TaskType.named("pro-text-to-video"))
        let std = try #require(TaskType.named("std-text-to-video"))
        #expect(pro.expectedRenderSeconds(videoSeconds: 10) > pro.expectedRenderSeconds(videoSeconds: 5))
        #expect(pro.expectedRenderSeconds(videoSeconds: 5) > std.expectedRenderSeconds(videoSeconds: 5))
        #expect(pro.expectedRenderSeconds(videoSeconds: 5) == 235, "the table's value: 110 + 25 × 5")
    }
}
