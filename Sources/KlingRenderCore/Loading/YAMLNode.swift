/// A position in a source file, 1-based, as editors count them. Kept in 32 bits each: a large
/// project has millions of located nodes, and a project file is at most 64 MB.
package struct SourceLocation: Hashable, Comparable, Sendable, Codable {
    private var storedLine: Int32
    private var storedColumn: Int32

    package var line: Int {
        get { Int(storedLine) }
        set { storedLine = Int32(clamping: newValue) }
    }

    package var column: Int {
        get { Int(storedColumn) }
        set { storedColumn = Int32(clamping: newValue) }
    }

    enum CodingKeys: String, CodingKey {
        case storedLine = "line"
        case storedColumn = "column"
    }

    package init(line: Int, column: Int) {
        storedLine = Int32(clamping: line)
        storedColumn = Int32(clamping: column)
    }

    package static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}

/// A scalar as written: its text, whether it was quoted, and where it stands.
///
/// Scalars stay untyped until the project schema reads them, so that `16:9`, `no` and `on`
/// are never guessed into numbers or booleans the way YAML 1.1 would.
package struct YAMLScalar: Sendable, Hashable {
    package var text: String
    /// Plain (unquoted, not a block scalar) and with no explicit `!!str` tag.
    package var isPlain: Bool
    /// Single- or double-quoted: the text starts one column after `location`.
    package var isQuoted: Bool = false
    /// An explicit tag (`!!float`, `!custom`), as libyaml resolved it; nil for none.
    package var tag: String? = nil
    package var location: SourceLocation

    /// Where the character at `offset` (in Characters) of `text` stands, when the scalar
    /// sits on one line; otherwise the scalar's own location.
    package func location(ofOffset offset: Int) -> SourceLocation {
        guard isPlain || isQuoted, !text.contains("\n") else { return location }
        return SourceLocation(line: location.line, column: location.column + offset + (isQuoted ? 1 : 0))
    }

    /// A plain `~`, `null` or empty scalar: YAML's null.
    package var isNull: Bool {
        isPlain && (text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }
}

/// A composed YAML node: aliases resolved, merge keys applied, every node located.
package indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case mapping(YAMLMapping)
    case sequence(YAMLSequence)

    package var location: SourceLocation {
        switch self {
        case .scalar(let s): s.location
        case .mapping(let m): m.location
        case .sequence(let s): s.location
        }
    }

    /// How many nodes this node stands for once every alias is expanded.
    package var expandedSize: Int {
        switch self {
        case .scalar: 1
        case .mapping(let m): m.expandedSize
        case .sequence(let s): s.expandedSize
        }
    }

    package var kindName: String {
        switch self {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}

package struct YAMLMapping: Sendable {
    package struct Entry: Sendable {
        package var key: YAMLScalar
        package var value: YAMLNode
    }

    package var entries: [Entry]
    package var location: SourceLocation
    package var expandedSize: Int

    package subscript(key: String) -> YAMLNode? {
        entries.first { $0.key.text == key }?.value
    }

    package func entry(_ key: String) -> Entry? {
        entries.first { $0.key.text == key }
    }
}

package struct YAMLSequence: Sendable {
    package var items: [YAMLNode]
    package var location: SourceLocation
    package var expandedSize: Int
}
