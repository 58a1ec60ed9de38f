import Foundation

/// `kling-render pick`: a shot's `pick:` set by editing the storyboard's text where the composer
/// says it is written. Exactly one value changes, or one line is added after `takes:` (or
/// `type:`); comments, order, quoting, anchors and line endings are kept, nothing is serialized
/// again. A pick that comes from somewhere other shots share (an anchor, a merge key) is refused
/// with where to change it.
package enum PickEdit {
    /// The text of the file after the edit, and what changed.
    package struct Edit: Sendable, Equatable {
        package var text: String
        /// The line changed or added (1-based).
        package var line: Int
        /// The pick written before, when there was one.
        package var before: Int?
        package var after: Int
        package var added: Bool
    }

    package enum Failure: Error, Sendable, Equatable {
        case noShot(String, suggestion: String?)
        /// Not a take of the shot: those it has are listed.
        case noTake(shot: String, take: Int, takes: [Int])
        /// The pick is written where other shots share it.
        case shared(shot: String, at: SourceLocation)
        /// The shot is written so that one line cannot say it (flow style, a block scalar first),
        /// or the edit would change anything but the pick.
        case cannotPlace(shot: String, at: SourceLocation)
        /// The file breaks lines with something other than `\n` or `\r\n`.
        case lineBreaks
    }

    /// The edit of `text` (the bytes `project` was loaded from) that makes `take` the pick of `id`.
    /// `rendered`: the takes the manifest records.
    package static func edit(
        _ text: String, project: Project, shot id: String, take: Int, rendered: [Int]
    ) -> Result<Edit, Failure> {
        guard Self.breaksLinesPlainly(text) else { return .failure(.lineBreaks) }
        switch unchecked(text, project: project, shot: id, take: take, rendered: rendered) {
        case .failure(let failure): return .failure(failure)
        case .success(let edit):
            // Read back: the edit must change this shot's pick and nothing else.
            guard let edited = ProjectLoader().load(text: edit.text, file: project.file).project,
                Self.sameButPick(project, edited, shot: id, take: take)
            else {
                let at = project.shot(id)?.location ?? SourceLocation(line: 1, column: 1)
                return .failure(.cannotPlace(shot: id, at: at))
            }
            return .success(edit)
        }
    }

    /// Only `\n` and `\r\n`: libyaml also breaks lines at a lone `\r`, U+0085, U+2028 and U+2029,
    /// which would put the composer's line numbers and this edit's apart.
    static func breaksLinesPlainly(_ text: String) -> Bool {
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            if scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}" { return false }
            if previous == "\r", scalar != "\n" { return false }
            previous = scalar
        }
        return previous != "\r"
    }

    /// Every shot as it was but `id`'s pick, which is `take`; the cut's clips as they were.
    static func sameButPick(_ a: Project, _ b: Project, shot id: String, take: Int) -> Bool {
        guard a.shots.count == b.shots.count, a.cut?.clips.count == b.cut?.clips.count, a.cut?.output == b.cut?.output
        else { return false }
        for (x, y) in zip(a.shots, b.shots) {
            guard x.id == y.id, x.type.name == y.type.name, x.values == y.values, x.extra == y.extra,
                x.takes == y.takes, x.notes == y.notes, x.dependencies.map(\.id) == y.dependencies.map(\.id),
                y.pick == (x.id == id ? take : x.pick)
            else { return false }
        }
        for (x, y) in zip(a.cut?.clips ?? [], b.cut?.clips ?? []) {
            guard x.shot == y.shot, x.take == y.take, x.inPoint == y.inPoint, x.outPoint == y.outPoint,
                x.transition == y.transition
            else { return false }
        }
        return true
    }

    private static func unchecked(
        _ text: String, project: Project, shot id: String, take: Int, rendered: [Int]
    ) -> Result<Edit, Failure> {
        guard let index = project.shots.firstIndex(where: { $0.id == id }) else {
            return .failure(.noShot(id, suggestion: Suggestion.note(for: id, in: project.shots.map(\.id))))
        }
        let shot = project.shots[index]
        let takes = Set(1...shot.takes).union(rendered).sorted()
        guard takes.contains(take) else { return .failure(.noTake(shot: id, take: take, takes: takes)) }
        var lines = Self.lines(text)
        // The shot's own lines: from its key to the next shot's key (shots are in file order).
        let first = shot.location.line
        let end = index + 1 < project.shots.count ? project.shots[index + 1].location.line : lines.count + 1
        if let written = shot.pickLocation {
            let line = written.line
            guard line > first, line < end, line <= lines.count, let range = valueRange(lines[line - 1], at: written),
                Self.isPickLine(lines[line - 1])
            else { return .failure(.shared(shot: id, at: written)) }
            let before = Int(lines[line - 1][range])
            lines[line - 1].replaceSubrange(range, with: String(take))
            return .success(
                Edit(text: lines.joined(separator: "\n"), line: line, before: before, after: take, added: false))
        }
        // No pick written: a line after `takes:`, else after `type:`, at their indentation.
        guard first < min(end, lines.count + 1) else { return .failure(.cannotPlace(shot: id, at: shot.location)) }
        let own = (first..<min(end, lines.count + 1)).dropFirst()
        // The shot's own keys sit at the indentation of its first line of content: never a line
        // of a block scalar or of a nested mapping that happens to read `takes:`.
        let content = own.first {
            let trimmed = lines[$0 - 1].trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        let indent = content.map { lines[$0 - 1].prefix { $0 == " " }.count }
        func ownKey(_ line: Int, _ key: String) -> Bool {
            lines[line - 1].prefix { $0 == " " }.count == indent && Self.isKeyLine(lines[line - 1], key: key)
        }
        let anchor = own.first { ownKey($0, "takes") } ?? own.first { ownKey($0, "type") }
        guard let after = anchor else { return .failure(.cannotPlace(shot: id, at: shot.location)) }
        let reference = lines[after - 1]
        let ending = reference.hasSuffix("\r") ? "\r" : ""
        lines.insert("\(reference.prefix { $0 == " " })pick: \(take)\(ending)", at: after)
        return .success(
            Edit(text: lines.joined(separator: "\n"), line: after + 1, before: nil, after: take, added: true))
    }

    /// The text's lines, split at each line feed (a `\r` before it stays with its line: in a
    /// String, `\r\n` is one Character, which a split on `\n` would never find).
    static func lines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    /// `    pick: 2   # the good one`: the key and a plain number, nothing else but a comment.
    static func isPickLine(_ line: String) -> Bool {
        let body = line.drop { $0 == " " }
        guard body.hasPrefix("pick:") else { return false }
        let rest = body.dropFirst(5).drop { $0 == " " }
        let value = rest.prefix { $0.isNumber }
        let after = rest.dropFirst(value.count).drop { $0 == " " || $0 == "\r" }
        return !value.isEmpty && (after.isEmpty || after.hasPrefix("#"))
    }

    /// `  takes: 3` or `  type: std-text-to-video`: the key, then a one-line plain value.
    static func isKeyLine(_ line: String, key: String) -> Bool {
        let body = line.drop { $0 == " " }
        guard body.count < line.count, body.hasPrefix(key + ":") else { return false }
        let rest = body.dropFirst(key.count + 1).drop { $0 == " " }
        return !rest.isEmpty && !rest.hasPrefix("|") && !rest.hasPrefix(">") && !rest.hasPrefix("&")
            && !rest.hasPrefix("*")
    }

    /// The digits of the value that starts at `location`'s column (code points, as libyaml counts).
    static func valueRange(_ line: String, at location: SourceLocation) -> Range<String.Index>? {
        let scalars = line.unicodeScalars
        guard location.column >= 1,
            let start = scalars.index(scalars.startIndex, offsetBy: location.column - 1, limitedBy: scalars.endIndex)
        else { return nil }
        var end = start
        while end < scalars.endIndex, ("0"..."9").contains(scalars[end]) { scalars.formIndex(after: &end) }
        return start < end ? start..<end : nil
    }
}
