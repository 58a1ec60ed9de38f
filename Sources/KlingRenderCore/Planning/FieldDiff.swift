/// How one field of a shot changed, as `terraform plan` shows it: text word by word, a list
/// element by element, a local file by its path and short hash, anything else old → new. `plan`
/// draws it; `plan --json` carries it as it is.
package enum FieldDiff: Sendable, Equatable {
    /// Text: its runs of words, each kept, removed or added, in reading order.
    case text([Run])
    /// A list: each element added, removed or changed (unchanged ones are left out).
    case list([Element])
    /// A local file whose bytes changed: its path, and the first hex digits of each SHA-256.
    case file(path: String, before: String?, after: String?)
    /// A number, a boolean, a value added or removed: old → new, as JSON.
    case value(before: JSONValue?, after: JSONValue?)

    package enum Mark: String, Codable, Sendable {
        case same, removed, added, changed
    }

    /// A run of text with one mark.
    package struct Run: Codable, Sendable, Equatable {
        package var mark: Mark
        package var text: String
    }

    /// One element of a list that changed, at its place (1-based) in the new list, or in the old
    /// one for a removal. A file is shown by its path and short hash.
    package struct Element: Codable, Sendable, Equatable {
        package var mark: Mark
        package var index: Int
        package var before: String?
        package var after: String?
    }

    /// Texts whose differing middles are longer than this many words each way are not aligned
    /// word by word (the table would be too large): they are shown whole, removed then added.
    static let maxWords = 1_500

    /// The diff of `before` and `after`. `files` names the local file behind each element of the
    /// new value (one for a single file), where it is one.
    package static func of(_ before: JSONValue?, _ after: JSONValue?, files: [String?] = []) -> FieldDiff {
        switch (before, after) {
        case (.string(let was)?, .string(let now)?):
            if let path = files.first ?? nil, let a = hash(was), let b = hash(now) {
                return .file(path: path, before: a, after: b)
            }
            if hash(was) != nil || hash(now) != nil { return .value(before: before, after: after) }
            return .text(words(was, now))
        case (.array(let was)?, .array(let now)?) where was.count <= maxElements && now.count <= maxElements:
            return .list(elements(was, now, files: files))
        default:
            return .value(before: before, after: after)
        }
    }

    /// `sha256:9f86d081…` → `9f86d081`; nil for any other text.
    static func hash(_ text: String) -> String? {
        guard text.hasPrefix("sha256:") else { return nil }
        let digits = text.dropFirst(7).prefix(8)
        guard digits.count == 8, digits.allSatisfy(\.isHexDigit) else { return nil }
        return String(digits)
    }

    /// Lists longer than this either way are shown old → new, not element by element.
    static let maxElements = 256
    /// Texts longer than this many characters either way are not split into words at all.
    static let maxCharacters = 20_000

    // MARK: Words

    /// Splits text into words, runs of spaces and single other characters, so that a changed word
    /// is marked and the spaces around it are not.
    static func tokens(_ text: String) -> [Substring] {
        var out: [Substring] = []
        var start = text.startIndex
        var kind: Int?
        for index in text.indices {
            let c = text[index]
            let k = c.isLetter || c.isNumber ? 0 : c.isWhitespace ? 1 : 2
            if let current = kind, current != k || k == 2 {
                out.append(text[start..<index])
                start = index
            }
            kind = k
        }
        if start < text.endIndex { out.append(text[start...]) }
        return out
    }

    static func words(_ was: String, _ now: String) -> [Run] {
        guard was.utf8.count <= maxCharacters, now.utf8.count <= maxCharacters else {
            return [Run(mark: .removed, text: was), Run(mark: .added, text: now)]
        }
        let a = tokens(was)
        let b = tokens(now)
        guard let steps = align(a, b, limit: maxWords) else {
            return [Run(mark: .removed, text: was), Run(mark: .added, text: now)]
        }
        var runs: [Run] = []
        func add(_ mark: Mark, _ text: Substring) {
            if let last = runs.last, last.mark == mark {
                runs[runs.count - 1].text += text
            } else {
                runs.append(Run(mark: mark, text: String(text)))
            }
        }
        for step in steps {
            switch step {
            case .both(let i, _): add(.same, a[i])
            case .removed(let i): add(.removed, a[i])
            case .added(let j): add(.added, b[j])
            }
        }
        return runs
    }

    // MARK: Lists

    static func elements(_ was: [JSONValue], _ now: [JSONValue], files: [String?]) -> [Element] {
        func shown(_ value: JSONValue, file: String?) -> String {
            if case .string(let text) = value {
                if let short = hash(text) { return file.map { "\($0) (sha256 \(short))" } ?? "sha256 \(short)" }
                return text
            }
            return value.summary
        }
        var out: [Element] = []
        var removed: [Int] = []
        var added: [Int] = []
        /// Removals and additions at one place pair up as changes.
        func flush() {
            for (k, i) in removed.enumerated() {
                if k < added.count {
                    let j = added[k]
                    out.append(
                        Element(
                            mark: .changed, index: j + 1, before: shown(was[i], file: nil),
                            after: shown(now[j], file: j < files.count ? files[j] : nil)))
                } else {
                    out.append(Element(mark: .removed, index: i + 1, before: shown(was[i], file: nil), after: nil))
                }
            }
            for j in added.dropFirst(removed.count) {
                out.append(
                    Element(
                        mark: .added, index: j + 1, before: nil,
                        after: shown(now[j], file: j < files.count ? files[j] : nil)))
            }
            removed = []
            added = []
        }
        for step in align(was, now, limit: .max) ?? [] {
            switch step {
            case .both: flush()
            case .removed(let i): removed.append(i)
            case .added(let j): added.append(j)
            }
        }
        flush()
        return out
    }

    // MARK: Alignment

    enum Step: Equatable {
        case both(Int, Int)
        case removed(Int)
        case added(Int)
    }

    /// A longest common subsequence of `a` and `b`, as the steps that walk both: the same
    /// prefix and suffix are taken first, so a small edit in a long text costs little. Nil when
    /// what differs between them is longer than `limit` either way.
    static func align<T: Equatable>(_ a: [T], _ b: [T], limit: Int) -> [Step]? {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] {
            suffix += 1
        }
        let n = a.count - prefix - suffix
        let m = b.count - prefix - suffix
        guard n <= limit, m <= limit else { return nil }
        // lengths[i][j]: the LCS of a[prefix+i...] and b[prefix+j...] (the middle parts).
        var lengths = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        if n > 0, m > 0 {
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lengths[i][j] =
                        a[prefix + i] == b[prefix + j]
                        ? lengths[i + 1][j + 1] + 1 : max(lengths[i + 1][j], lengths[i][j + 1])
                }
            }
        }
        var steps: [Step] = (0..<prefix).map { .both($0, $0) }
        var i = 0
        var j = 0
        while i < n || j < m {
            if i < n, j < m, a[prefix + i] == b[prefix + j] {
                steps.append(.both(prefix + i, prefix + j))
                i += 1
                j += 1
            } else if i < n, j == m || lengths[i + 1][j] >= lengths[i][j + 1] {
                // What goes comes before what comes: `[-old-]{+new+}`.
                steps.append(.removed(prefix + i))
                i += 1
            } else {
                steps.append(.added(prefix + j))
                j += 1
            }
        }
        for k in 0..<suffix { steps.append(.both(a.count - suffix + k, b.count - suffix + k)) }
        return steps
    }
}

extension FieldDiff: Codable {
    private enum Key: String, CodingKey {
        case kind, runs, elements, path, before, after
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .text(let runs):
            try c.encode("text", forKey: .kind)
            try c.encode(runs, forKey: .runs)
        case .list(let elements):
            try c.encode("list", forKey: .kind)
            try c.encode(elements, forKey: .elements)
        case .file(let path, let before, let after):
            try c.encode("file", forKey: .kind)
            try c.encode(path, forKey: .path)
            try c.encodeIfPresent(before, forKey: .before)
            try c.encodeIfPresent(after, forKey: .after)
        case .value(let before, let after):
            try c.encode("value", forKey: .kind)
            try c.encodeIfPresent(before, forKey: .before)
            try c.encodeIfPresent(after, forKey: .after)
        }
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "text": self = .text(try c.decode([Run].self, forKey: .runs))
        case "list": self = .list(try c.decode([Element].self, forKey: .elements))
        case "file":
            self = .file(
                path: try c.decode(String.self, forKey: .path),
                before: try c.decodeIfPresent(String.self, forKey: .before),
                after: try c.decodeIfPresent(String.self, forKey: .after))
        case "value":
            self = .value(
                before: try c.decodeIfPresent(JSONValue.self, forKey: .before),
                after: try c.decodeIfPresent(JSONValue.self, forKey: .after))
        case let kind:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "no diff of kind \(kind)")
        }
    }
}
