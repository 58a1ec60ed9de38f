import KlingRenderCore

/// Prints diagnostics as compilers do: `FILE:LINE:COL: error: MESSAGE`, the source line, a caret.
struct DiagnosticView {
    var terminal: Terminal

    func render(_ diagnostic: Diagnostic, source: String?) -> String {
        let severity =
            diagnostic.severity == .error
            ? terminal.paint("error:", .bold, .red) : terminal.paint("warning:", .bold, .magenta)
        var position = diagnostic.file
        if let location = diagnostic.location { position += ":\(location.line):\(location.column)" }
        var out = "\(terminal.paint(position + ":", .bold)) \(severity) \(terminal.paint(diagnostic.message, .bold))"
        if let location = diagnostic.location, let line = Self.line(location.line, of: source) {
            let shown = line.replacingTabs()
            let prefix = line.prefix(max(0, location.column - 1)).replacingTabs()
            out +=
                "\n    \(shown)\n    \(String(repeating: " ", count: prefix.count))\(terminal.paint("^", .green, .bold))"
        }
        if let note = diagnostic.note {
            out += "\n    \(terminal.paint("note:", .bold, .cyan)) \(note)"
        }
        return out
    }

    static func line(_ number: Int, of source: String?) -> Substring? {
        guard let source, number >= 1 else { return nil }
        var current = 1
        var start = source.startIndex
        var index = source.startIndex
        while index < source.endIndex {
            if source[index] == "\n" {
                if current == number { return source[start..<index].trimmingCR() }
                current += 1
                start = source.index(after: index)
            }
            index = source.index(after: index)
        }
        return current == number ? source[start...].trimmingCR() : nil
    }
}

extension Substring {
    func trimmingCR() -> Substring { hasSuffix("\r") ? dropLast() : self }
    func replacingTabs() -> String { String(map { $0 == "\t" ? " " : $0 }) }
}
