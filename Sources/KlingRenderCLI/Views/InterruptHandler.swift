import Foundation
import KlingRenderCore

#if canImport(Glibc)
    import Glibc
#endif

/// The write end of the interrupt pipe, for the signal handler: a C function cannot capture.
nonisolated(unsafe) private var interruptPipe: Int32 = -1

/// SIGINT and SIGTERM: the first stops the run gracefully, the second exits at once (the manifest
/// is whole at every moment, so nothing is lost either way).
///
/// A process-wide handler that writes a byte to a pipe (the one async-signal-safe thing to do),
/// read by a thread of its own. Not a dispatch signal source over `SIG_IGN`: that receives only
/// signals the kernel hands to a thread that blocks them, and a signal given to one of the many
/// threads started before it (the HTTP client's, the concurrency pool's) was silently ignored.
final class InterruptHandler: @unchecked Sendable {
    init(_ onFirst: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        interruptPipe = fds[1]
        let reader = fds[0]
        Thread {
            InterruptHandler.unblock()
            var count = 0
            var byte: UInt8 = 0
            while POSIX.read(reader, &byte, 1) == 1 {
                count += 1
                if count == 1 { onFirst() } else { exit(130) }
            }
        }.start()
        // A process may start with these blocked (its parent's mask is inherited): unblocked here
        // and on the reader's thread, some thread always takes them.
        Self.unblock()
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { _ in
                var byte: UInt8 = 1
                _ = POSIX.write(interruptPipe, &byte, 1)
            }
        }
    }

    static func unblock() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    func stop() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        let write = interruptPipe
        interruptPipe = -1
        if write >= 0 { close(write) }
    }
}
