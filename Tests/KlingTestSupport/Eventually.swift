import Foundation

/// `body` on a thread of its own: a test that blocks (reads a pipe, waits for a process or a
/// state) must not hold one of the cooperative pool's two threads, which the in-process
/// simulators of the tests running beside it need to answer at all. Throws what `body` throws.
public func offPool<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: Result { () throws(E) -> T in try body() }) }.start()
    }
    return try result.get()
}

/// The one way the tests wait for something to happen: `condition` asked every `interval` until it
/// holds (true) or `timeout` passes (false), on a thread of its own, so that a busy pool cannot
/// make it miss its moment; `then` runs on that thread at once when it holds.
public func eventually(
    within timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(10),
    _ condition: @escaping @Sendable () -> Bool, then action: @escaping @Sendable () -> Void = {}
) async -> Bool {
    await offPool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if condition() {
                action()
                return true
            }
            Thread.sleep(
                forTimeInterval: Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds))
        }
        return false
    }
}

/// `eventually` for a condition that is itself asynchronous (an HTTP request): the answer once it
/// is not nil, or nil when `timeout` passes.
public func eventually<T: Sendable>(
    within timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(10),
    _ answer: @Sendable () async throws -> T?
) async throws -> T? {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if let value = try await answer() { return value }
        try await Task.sleep(for: interval)
    }
    return nil
}
