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

    /// Parses `scalar`, reporting malformed references to `sink`; nil if any was malformed.
    package static func parse(_ scalar: YAMLScalar, field: String, into sink: inout DiagnosticSink) -> Template? {
        let text = scalar.text
        guard text.utf8.contains(UInt8(ascii: "$")) else { return Template(segments: [.literal(text)]) }
        var segments: [Segment] = []
        // Unicode scalars, not Characters: `$`, `{` and `}` are ASCII, grapheme breaking is slow,
        // and libyaml's columns count code points.
        let chars = Array(text.unicodeScalars)
        var literal = String.UnicodeScalarView()
        var ok = true
        var i = 0
        /// Where the run of plain text that `literal` has not taken yet starts.
        var run = 0
        while i < chars.count {
            guard chars[i] == "$" else {
                i += 1
                continue
            }
            if i + 2 < chars.count, chars[i + 1] == "$", chars[i + 2] == "{" {
                literal.append(contentsOf: chars[run..<i])
                literal.append(contentsOf: "${".unicodeScalars)
                i += 3
                run = i
                continue
            }
            guard i + 1 < chars.count, chars[i + 1] == "{" else {
                i += 1
                continue
            }
            literal.append(contentsOf: chars[run..<i])
            let start = i
            guard let close = chars[(i + 2)...].firstIndex(of: "}") else {
                sink.error(
                    scalar.location(ofOffset: start), "unterminated `${` in `\(field)`",
                    note: "close it with `}`, or write `$${` for a literal `${`")
                return nil
            }
            let expression = String(String.UnicodeScalarView(chars[(i + 2)..<close])).trimmingSpaces()
            if !literal.isEmpty {
                segments.append(.literal(String(literal)))
                literal = String.UnicodeScalarView()
            }
            if let segment = reference(expression, in: scalar, at: start, field: field, into: &sink) {
                segments.append(segment)
            } else {
                ok = false
            }
            i = close + 1
            run = i
        }
        literal.append(contentsOf: chars[run..<chars.count])
        if !literal.isEmpty { segments.append(.literal(String(literal))) }
        return ok ? Template(segments: segments) : nil
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
