/// Runs an operation against a deadline on the engine's clock: the first to finish wins, and the
/// loser is cancelled. `--timeout` cuts polls and downloads off with it, whatever a server does.
enum Deadline {
    /// The operation's result, or nil when `seconds` passed first.
    static func race<T: Sendable>(
        after seconds: Double, on clock: any EngineClock, _ operation: @escaping @Sendable () async -> T
    ) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await operation() }
            // The timer is a participant of the clock of its own while it waits.
            clock.join()
            group.addTask {
                defer { clock.leave() }
                try? await clock.sleep(seconds: seconds)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
