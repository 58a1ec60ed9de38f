import Foundation

/// Every statement kling-render sends waits at most `deadline` seconds for its answer: a server
/// that went away without closing the connection (a pulled cable, a frozen host), or a statement
/// stuck behind someone's lock, must not hold a run, a plan or a status forever.
enum Answer {
    static let deadline = 20.0

    /// `body`'s result, or `DeadlineExceeded` once the deadline passes. Not a task group: a group
    /// waits for a query that may never be answered; here it is left behind, and the caller
    /// closes the connection.
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
            Task {
                try? await Task.sleep(for: .seconds(deadline))
                outcome.finish(.failure(DeadlineExceeded()))
            }
        }
    }
}

/// The first of two racing results resumes the waiter; the other is dropped.
private final class Outcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        lock.withLock { self.continuation = continuation }
    }

    func finish(_ result: Result<T, any Error>) {
        let waiting = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(with: result)
    }
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    var description: String { "no answer in \(Int(Answer.deadline)) s" }
}
