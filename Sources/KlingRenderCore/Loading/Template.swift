/// A text with `${vars.NAME}`, `${shots.ID.video}` and `${shots.ID.last_frame}` references;
/// `$${` is a literal `${`.
package struct Template: Sendable {
    package enum Segment: Sendable, Equatable {
        case literal(String)
        case variable(String, offset: Int)
        case shotVideo(String, offset: Int)
        case shotFrame(String, FrameEdge, offset: Int)
    }

    package var segments: [Segment]

    /// The single shot output this template is, when it is nothing else.
    package var wholeShotVideo: String? {
        if segments.count == 1, case .shotVideo(let id, _) = segments[0] { return id }
        return nil
    }

    /// The single shot frame this template is, when it is nothing else.
    package var wholeShotFrame: (String, FrameEdge)? {
        if segments.count == 1, case .shotFrame(let id, let edge, _) = segments[0] { return (id, edge) }
        return nil
    }

    /// What `${expression}` refers to, or nil after reporting why it refers to nothing.
    private static func reference(
        _ expression: String, in scalar: YAMLScalar, at start: Int, field: String, into sink: inout DiagnosticSink
    ) -> Segment? {
        let parts = expression.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, parts[0] == "vars", !parts[1].isEmpty { return .variable(parts[1], offset: start) }
        if parts.count == 3, parts[0] == "shots", !parts[1].isEmpty, parts[2] == "video" {
            return .shotVideo(parts[1], offset: start)
        }
        if parts.count == 3, parts[0] == "shots", !parts[1].isEmpty,
            let edge = FrameEdge.allCases.first(where: { $0.reference == parts[2] })
        {
            return .shotFrame(parts[1], edge, offset: start)
        }
        if parts.count == 3, parts[0] == "shots" {
            sink.error(
                scalar.location(ofOffset: start),
                "`${\(expression)}`: a shot exposes `.video`, `.last_frame` and `.first_frame`",
                note: Suggestion.note(for: parts[2], in: ["video", "last_frame", "first_frame"])
                    ?? "write `${shots.\(parts[1]).video}`")
        } else {
            sink.error(
                scalar.location(ofOffset: start), "unknown reference `${\(expression)}` in `\(field)`",
                note:
                    "use `${vars.NAME}`, `${shots.ID.video}` or `${shots.ID.last_frame}`; write `$${` for a literal `${`"
            )
        }
        return nil
    }

    /// Where the text goes on after a `$${` (a literal `${`) that starts at `i`; nil for none.
    private static func afterEscapedOpening(_ utf8: String.UTF8View, at i: String.Index) -> String.Index? {
        var index = i
        for byte in "$${".utf8 {
            guard index < utf8.endIndex, utf8[index] == byte else { return nil }
            utf8.formIndex(after: &index)
        }
        return index
    }

    /// Parses `scalar`, reporting malformed references to `sink`; nil if any was malformed.
    package static func parse(_ scalar: YAMLScalar, field: String, into sink: inout DiagnosticSink) -> Template? {
        let text = scalar.text
        let dollar = UInt8(ascii: "$")
        guard text.utf8.contains(dollar) else { return Template(segments: [.literal(text)]) }
        // UTF-8 bytes, not Characters: `$`, `{` and `}` are ASCII, so their indices fall between
        // code points, and grapheme breaking is slow. Offsets (libyaml's columns count code points)
        // are counted only for the references found.
        let utf8 = text.utf8
        let (open, close) = (UInt8(ascii: "{"), UInt8(ascii: "}"))
        var offsets = ScalarOffsets(text)
        var segments: [Segment] = []
        var literal = ""
        var ok = true
        var i = utf8.startIndex
        /// Where the run of plain text that `literal` has not taken yet starts.
        var run = i
        while i < utf8.endIndex {
            guard utf8[i] == dollar else {
                utf8.formIndex(after: &i)
                continue
            }
            if let after = Self.afterEscapedOpening(utf8, at: i) {
                literal += text[run..<i]
                literal += "${"
                i = after
                run = i
                continue
            }
            let next = utf8.index(after: i)
            guard next < utf8.endIndex, utf8[next] == open else {
                i = next
                continue
            }
            literal += text[run..<i]
            let start = offsets.offset(of: i)
            let body = utf8.index(after: next)
            guard let end = utf8[body...].firstIndex(of: close) else {
                sink.error(
                    scalar.location(ofOffset: start), "unterminated `${` in `\(field)`",
                    note: "close it with `}`, or write `$${` for a literal `${`")
                return nil
            }
            let expression = String(text[body..<end]).trimmingSpaces()
            if !literal.isEmpty {
                segments.append(.literal(literal))
                literal = ""
            }
            if let segment = reference(expression, in: scalar, at: start, field: field, into: &sink) {
                segments.append(segment)
            } else {
                ok = false
            }
            i = utf8.index(after: end)
            run = i
        }
        literal += text[run...]
        if !literal.isEmpty { segments.append(.literal(literal)) }
        return ok ? Template(segments: segments) : nil
    }
}

/// Code-point offsets of indices in a text, counted on from the last one asked, so that many
/// references in one text cost one pass over it.
private struct ScalarOffsets {
    let text: String
    var counted: (index: String.Index, offset: Int)

    init(_ text: String) {
        self.text = text
        counted = (text.startIndex, 0)
    }

    mutating func offset(of index: String.Index) -> Int {
        counted = (index, counted.offset + text.unicodeScalars.distance(from: counted.index, to: index))
        return counted.offset
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
