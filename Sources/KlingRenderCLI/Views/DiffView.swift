import Foundation
import KlingRenderCore

#if canImport(Glibc)
    import Glibc
#endif

/// A changed field of a shot as `terraform plan` shows one: text whole, wrapped, with the changed
/// words marked (in colour on a terminal, `[-old-]{+new+}` without); a list element by element;
/// a local file by its path and short hash; anything else old → new.
struct DiffView {
    var terminal: Terminal
    /// Columns to wrap text at.
    var width: Int

    init(terminal: Terminal, width: Int? = nil) {
        self.terminal = terminal
        self.width = max(40, width ?? Self.columns(terminal))
    }

    /// The terminal's width; `COLUMNS`; else 100.
    static func columns(_ terminal: Terminal) -> Int {
        var size = winsize()
        if terminal.isInteractive, ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 100
    }

    /// The lines of one change, each indented by `indent`, ending in a newline.
    func render(_ change: Plan.Change, indent: String = "      ") -> String {
        let field = Printable.escaped(change.field)
        switch change.diff ?? FieldDiff.of(change.before, change.after) {
        case .text(let runs):
            // A manifest's side can be anything: a side longer than a screenful is cut short.
            let shown = runs.map { run in
                var cut = run
                if run.text.count > 2_000 { cut.text = String(run.text.prefix(2_000)) + "…" }
                return cut
            }
            let body = wrap(shown, indent: indent + "    ")
            let marked = runs.contains { $0.mark != .same && !$0.text.allSatisfy(\.isWhitespace) }
            return "\(indent)~ \(field):\(marked ? "" : " (only spacing or line breaks changed)")\n" + body
        case .list(let elements):
            var out = "\(indent)~ \(field):\n"
            for element in elements { out += indent + "    " + line(element) + "\n" }
            return out
        case .file(let path, let before, let after):
            let (was, now) = (Printable.escaped(before ?? "?"), Printable.escaped(after ?? "?"))
            return
                "\(indent)~ \(field): \(Printable.escaped(path)) has other bytes (sha256 \(removed(was)) → \(added(now)))\n"
        case .value(let before, let after):
            return "\(indent)~ \(field): \(removed(Self.shown(before))) → \(added(Self.shown(after)))\n"
        }
    }

    /// `~ [2] boards/a.png (sha256 1a2b3c4d) → boards/b.png (sha256 9f8e7d6c)`
    private func line(_ element: FieldDiff.Element) -> String {
        let before = Printable.escaped(element.before ?? "")
        let after = Printable.escaped(element.after ?? "")
        switch element.mark {
        case .added: return "+ [\(element.index)] \(added(after))"
        case .removed: return "- [\(element.index)] \(removed(before))"
        case .changed, .same: return "~ [\(element.index)] \(removed(before)) → \(added(after))"
        }
    }

    static func shown(_ value: JSONValue?) -> String {
        guard let value else { return "(none)" }
        if case .string(let text) = value { return "\"\(Printable.short(text, limit: 2_000))\"" }
        return Printable.escaped(value.summary)
    }

    private func removed(_ text: String) -> String { terminal.color ? terminal.paint(text, .red) : text }
    private func added(_ text: String) -> String { terminal.color ? terminal.paint(text, .green) : text }

    /// One word as shown: its text (painted or marked), its width on screen, and whether a space
    /// comes before it.
    private typealias Word = (shown: String, width: Int, spaced: Bool)

    /// Words of the runs wrapped at the width, each changed run marked.
    private func wrap(_ runs: [FieldDiff.Run], indent: String) -> String {
        var words: [Word] = []
        var spaceBefore = false
        for run in runs {
            let pieces = Self.pieces(of: run.text, spaceBefore: &spaceBefore)
            for (k, piece) in pieces.enumerated() {
                words.append(marked(piece, run.mark, first: k == 0, last: k == pieces.count - 1))
            }
        }
        return fill(words, indent: indent)
    }

    /// A run's words, escaped, each with whether whitespace comes before it (carried across runs).
    private static func pieces(of text: String, spaceBefore: inout Bool) -> [(text: String, spaced: Bool)] {
        var pieces: [(text: String, spaced: Bool)] = []
        var current = ""
        var currentSpaced = false
        for character in text {
            if character.isWhitespace {
                if !current.isEmpty { pieces.append((Printable.escaped(current), currentSpaced)) }
                current = ""
                spaceBefore = true
            } else {
                if current.isEmpty {
                    currentSpaced = spaceBefore
                    spaceBefore = false
                }
                current.append(character)
            }
        }
        if !current.isEmpty { pieces.append((Printable.escaped(current), currentSpaced)) }
        return pieces
    }

    /// A word of a changed run in colour, or between `[-…-]` / `{+…+}` (at the run's ends) without.
    private func marked(_ piece: (text: String, spaced: Bool), _ mark: FieldDiff.Mark, first: Bool, last: Bool)
        -> Word
    {
        let style: (color: Terminal.Style, open: String, close: String)
        switch mark {
        case .same: return (piece.text, piece.text.count, piece.spaced)
        case .removed, .changed: style = (.red, "[-", "-]")
        case .added: style = (.green, "{+", "+}")
        }
        if terminal.color { return (terminal.paint(piece.text, style.color), piece.text.count, piece.spaced) }
        let text = (first ? style.open : "") + piece.text + (last ? style.close : "")
        return (text, text.count, piece.spaced)
    }

    /// The words in lines no wider than the width (a word that follows another with no space
    /// stays on its line).
    private func fill(_ words: [Word], indent: String) -> String {
        var out = ""
        var line = ""
        var used = 0
        let room = width - indent.count
        for word in words {
            if word.spaced, used > 0, used + 1 + word.width > room {
                out += indent + line + "\n"
                line = ""
                used = 0
            }
            if word.spaced, used > 0 {
                line += " "
                used += 1
            }
            line += word.shown
            used += word.width
        }
        if !line.isEmpty { out += indent + line + "\n" }
        return out
    }
}
