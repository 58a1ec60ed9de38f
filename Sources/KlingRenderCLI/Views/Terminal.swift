import Foundation

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

/// Writes to standard error, unbuffered.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
