import Foundation

/// Every statement kling-render sends waits at most `deadline` seconds for its answer: a server
/// that went away without closing the connection (a pulled cable, a frozen host) must not hold a
/// run, a plan or a status forever. The server is told the same (`statement_timeout`, a second
/// less), so a statement stuck behind someone's lock is cancelled there, not left to finish
/// after the run gave up on it.
enum Answer {
    static let deadline = 20.0

    /// The server's `statement_timeout`, in milliseconds: it cancels first, with its own words.
    static let serverTimeout = Int(deadline * 1000) - 1000

    /// `body`'s result, or `DeadlineExceeded` once the deadline passes. Not a task group: a group
    /// waits for a query that may never be answered; here it is left behind, and the caller
    /// closes the connection. Not cut short by Ctrl-C: a task id on its way to the table must
    /// get there (and a read or a lock is over within the deadline anyway).
    static func within<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.set(continuation)
            Task {
                do {
                    outcome.finish(.success(try await body()))
                } catch {
                    outcome.finish(.failure(error))
                }
            }
            outcome.timer = Task {
                guard (try? await Task.sleep(for: .seconds(deadline))) != nil else { return }
                outcome.finish(.failure(DeadlineExceeded()))
            }
        }
    }
}

/// The first result resumes the waiter and stops the timer; later ones are dropped.
private final class Outcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var finished = false
    private var timerTask: Task<Void, Never>?

    var timer: Task<Void, Never>? {
        get { lock.withLock { timerTask } }
        set {
            let over = lock.withLock {
                timerTask = newValue
                return finished
            }
            if over { newValue?.cancel() }
        }
    }

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        lock.withLock { self.continuation = continuation }
    }

    func finish(_ result: Result<T, any Error>) {
        let (waiting, timer) = lock.withLock { () -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?) in
            guard !finished else { return (nil, nil) }
            finished = true
            defer { continuation = nil }
            return (continuation, timerTask)
        }
        timer?.cancel()
        waiting?.resume(with: result)
    }
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    var description: String { "no answer in \(Int(Answer.deadline)) s" }
}
