import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// A server the tests start as a process of its own (the simulator, moto's S3 server), through
/// swift-subprocess as every program kling-render runs: the child inherits no descriptor of the
/// test process but its own three, so a server never keeps another test's pipe open. Its first
/// line on stdout is its announcement (`listening on …`); the rest is read and dropped so that it
/// never blocks. Its stdin stays open until `stop`, for a server that ends at end of file.
public final class TestServer: @unchecked Sendable {
    /// What the server said first.
    public let announcement: String
    private let stopper: AsyncStream<Void>.Continuation
    private let running: Task<Void, Never>

    private init(announcement: String, stopper: AsyncStream<Void>.Continuation, running: Task<Void, Never>) {
        self.announcement = announcement
        self.stopper = stopper
        self.running = running
    }

    /// Starts `program` and waits for its first line; throws what it said when it ends first.
    public static func start(_ program: String, _ arguments: [String]) async throws -> TestServer {
        let (stops, stopper) = AsyncStream<Void>.makeStream()
        let (lines, announcer) = AsyncStream<String?>.makeStream()
        let running = Task {
            _ = try? await Subprocess.run(
                .path(FilePath(program)), arguments: Arguments(arguments), input: .inputWriter, output: .sequence,
                error: .discarded
            ) { execution in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var said = Data()
                        var announced = false
                        for try await chunk in execution.standardOutput where !announced {
                            chunk.withUnsafeBytes { said.append(contentsOf: $0) }
                            if let end = said.firstIndex(of: 0x0A) {
                                announced = true
                                announcer.yield(String(decoding: said[..<end], as: UTF8.self))
                            }
                        }
                        if !announced { announcer.yield(nil) }
                        announcer.finish()
                    }
                    for await _ in stops { break }
                    try? await execution.standardInputWriter.finish()
                    try? execution.send(signal: .terminate)
                    try await group.waitForAll()
                }
            }
            announcer.finish()
        }
        var first: String?? = .none
        for await line in lines {
            first = line
            break
        }
        guard case .some(.some(let line)) = first else {
            stopper.yield()
            await running.value
            throw CocoaError(
                .featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "\(program) ended before it said anything"])
        }
        return TestServer(announcement: line, stopper: stopper, running: running)
    }

    /// Ends the server (SIGTERM, and its stdin closed) and waits for it.
    public func stop() async {
        stopper.yield()
        stopper.finish()
        await running.value
    }

    deinit {
        stopper.yield()
        stopper.finish()
    }
}
