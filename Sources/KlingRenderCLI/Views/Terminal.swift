import Foundation
import KlingRenderCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where output goes and whether it may be coloured: only on a terminal, never with `NO_COLOR`.
struct Terminal: Sendable {
    var color: Bool
    var isInteractive: Bool

    static let standardOutput = Terminal(fileDescriptor: 1)
    static let standardError = Terminal(fileDescriptor: 2)

    init(fileDescriptor: Int32) {
        isInteractive = isatty(fileDescriptor) == 1
        let noColor = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        color = isInteractive && !noColor && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    enum Style: String {
        case bold = "1"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case magenta = "35"
        case cyan = "36"
        case dim = "2"
    }

    func paint(_ text: String, _ styles: Style...) -> String {
        guard color, !styles.isEmpty else { return text }
        return "\u{1B}[\(styles.map(\.rawValue).joined(separator: ";"))m\(text)\u{1B}[0m"
    }
}

/// `print` in this module: every line a command prints goes through `Output`, and so past the
/// registry of secrets, in order with what `Output` wrote before it.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Output.write(items.map { "\($0)" }.joined(separator: separator) + terminator)
}

/// Writes to standard error, unbuffered.
func printError(_ text: String) {
    Output.write(text + "\n", to: 2)
}

/// Every write of the CLI to standard output and error. A reader that went away (`apply --json |
/// head -c 1`) is no reason to stop rendering: SIGPIPE is ignored (`KlingRenderCommand.main`), a
/// write that fails marks that stream closed, and the run goes on, recording as it goes.
enum Output {
    nonisolated(unsafe) private static var closed: Set<Int32> = []
    private static let lock = NSLock()

    /// Ignores SIGPIPE for the process: a closed pipe is an error code, not a death.
    static func survivePipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    static func write(_ text: String, to fd: Int32 = 1) {
        write(Data(text.utf8), to: fd)
    }

    /// Every byte passes the registry of secrets on its way out (`Secrets`).
    static func write(_ data: Data, to fd: Int32 = 1) {
        let data = Secrets.shared.redact(data)
        lock.lock()
        defer { lock.unlock() }
        guard !closed.contains(fd) else { return }
        // What `print` buffered goes first, so that lines stay in order.
        fflush(nil)
        data.withUnsafeBytes { buffer in
            guard var base = buffer.baseAddress else { return }
            var left = buffer.count
            while left > 0 {
                let n = POSIX.write(fd, base, left)
                if n < 0, errno == EINTR { continue }
                if n <= 0 {
                    closed.insert(fd)
                    return
                }
                base += n
                left -= n
            }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
