import Foundation
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
        let message = Printable.short(diagnostic.message, limit: 400)
        var out =
            "\(terminal.paint(Printable.escaped(position) + ":", .bold)) \(severity) \(terminal.paint(message, .bold))"
        if let location = diagnostic.location, diagnostic.hidesLine != true,
            let line = Self.line(location.line, of: source)
        {
            let (shown, caret) = Self.excerpt(Self.withoutCredentials(line), column: location.column)
            out +=
                "\n    \(shown)\n    \(String(repeating: " ", count: caret))\(terminal.paint("^", .green, .bold))"
        }
        if let note = diagnostic.note {
            out += "\n    \(terminal.paint("note:", .bold, .cyan)) \(Printable.short(note, limit: 400))"
        }
        return out
    }

    /// A source line with the user name and password of any URL in it masked: the line of an
    /// endpoint refused for holding them must not print them. (A `state:` line is not shown at
    /// all: a password there can be spelled and escaped in more ways than a pattern can know.)
    static func withoutCredentials(_ line: Substring) -> Substring {
        guard line.contains("@"), line.contains("://") else { return line }
        return Substring(
            String(line).replacingOccurrences(
                of: #"://[^/@\s]+@"#, with: "://[redacted]@", options: .regularExpression))
    }

    /// At most `width` characters of a source line around `column`, escaped, and the caret's offset in them.
    static func excerpt(_ line: Substring, column: Int, width: Int = 120) -> (String, Int) {
        let characters = Array(line.replacingTabs())
        let at = min(max(0, column - 1), characters.count)
        let start = max(0, min(at - width / 2, characters.count - width))
        let end = min(characters.count, start + width)
        let head = start > 0 ? "…" : ""
        let tail = end < characters.count ? "…" : ""
        let before = Printable.escaped(String(characters[start..<at]))
        let shown = head + before + Printable.escaped(String(characters[at..<end])) + tail
        return (shown, head.count + before.count)
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

extension DiagnosticView {
    /// A plan's error as `validate` prints its own: located, with the source line and a caret,
    /// when it is about something written in the project file.
    func render(_ error: PlanError) -> String {
        guard let file = error.file, let location = error.location else {
            return "\(terminal.paint("error:", .bold, .red)) \(Printable.escaped(error.message))"
                + (error.note.map { "; \(Printable.escaped($0))" } ?? "")
        }
        let source = try? String(contentsOfFile: file, encoding: .utf8)
        return render(Diagnostic(.error, file: file, at: location, error.message, note: error.note), source: source)
    }
}
