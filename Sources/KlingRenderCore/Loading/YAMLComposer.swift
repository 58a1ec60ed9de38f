import CYAML

/// Turns libyaml's event stream into located `YAMLNode`s.
///
/// libyaml parses; this composes. It keeps the line and column of every key and value,
/// applies merge keys (`<<: *a`, `<<: [*a, *b]`, explicit keys winning), reports duplicate keys,
/// and counts every alias expansion against a budget so that a "billion laughs" file is refused
/// in microseconds: aliased nodes are shared, never copied, and their expanded size is summed.
package struct YAMLComposer {
    /// A problem that stops composition: a syntax error, a bomb, nesting too deep.
    package struct Failure: Error, Sendable {
        package var location: SourceLocation?
        package var message: String
    }

    package struct Limits: Sendable {
        /// Nodes that aliases may add once expanded, over the whole document.
        package var aliasExpansion = 1_000_000
        /// Nesting depth of mappings and sequences.
        package var depth = 200
    }

    package var limits = Limits()

    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Composes the single document of `text`; `nil` for an empty stream.
    /// Non-fatal problems (duplicate keys, bad merges) go to `sink`.
    package func compose(_ text: String, into sink: inout DiagnosticSink) throws(Failure) -> YAMLNode? {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(Failure) -> YAMLNode? in
            // libyaml keeps a pointer to the parser itself: it must not move.
            let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
            defer { parser.deallocate() }
            guard yaml_parser_initialize(parser) == 1 else {
                throw Failure(location: nil, message: "the YAML parser could not start (out of memory)")
            }
            defer { yaml_parser_delete(parser) }
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            var state = State(parser: parser, limits: limits, input: UnsafeBufferPointer(buffer))
            return try state.composeStream(&sink)
        }
    }
}

private struct State {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    let limits: YAMLComposer.Limits
    /// The bytes being parsed, to look at what libyaml read past (a `?` glued to a key).
    let input: UnsafeBufferPointer<UInt8>
    var anchors: [String: YAMLNode] = [:]
    var aliasExpansion = 0

    init(parser: UnsafeMutablePointer<yaml_parser_t>, limits: YAMLComposer.Limits, input: UnsafeBufferPointer<UInt8>) {
        self.parser = parser
        self.limits = limits
        self.input = input
    }

    /// An owned copy of one event's data, so that libyaml's memory is freed at once.
    enum Event {
        case streamStart, streamEnd, documentStart, documentEnd
        /// `gluedQuestion`: a `?` stands right before the scalar (`{?a: 1}`): libyaml reads the key
        /// `a`, YAML 1.2 the text `?a`.
        case scalar(
            text: String, plain: Bool, quoted: Bool, tag: String?, anchor: String?, location: SourceLocation,
            gluedQuestion: Bool)
        case sequenceStart(anchor: String?, location: SourceLocation)
        case sequenceEnd
        case mappingStart(anchor: String?, location: SourceLocation)
        case mappingEnd
        case alias(anchor: String, location: SourceLocation)
    }

    mutating func next() throws(YAMLComposer.Failure) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else {
            throw syntaxFailure()
        }
        defer { yaml_event_delete(&event) }
        let location = SourceLocation(
            line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_START_EVENT: return .streamStart
        case YAML_STREAM_END_EVENT: return .streamEnd
        case YAML_DOCUMENT_START_EVENT: return .documentStart
        case YAML_DOCUMENT_END_EVENT: return .documentEnd
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = string(s.value, length: Int(s.length))
            let tag = s.tag.map { String(cString: $0) }
            // One rule for every typed field: a tagged scalar (`!!float 5`, `!custom 5`) is never a
            // number or a boolean, whatever the tag says.
            let plain = s.style == YAML_PLAIN_SCALAR_STYLE && tag == nil
            let quoted = s.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || s.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
            return .scalar(
                text: text, plain: plain, quoted: quoted, tag: tag, anchor: s.anchor.map { String(cString: $0) },
                location: location, gluedQuestion: plain && glued(at: Int(event.start_mark.index)))
        case YAML_SEQUENCE_START_EVENT:
            return .sequenceStart(
                anchor: event.data.sequence_start.anchor.map { String(cString: $0) }, location: location)
        case YAML_SEQUENCE_END_EVENT: return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            return .mappingStart(
                anchor: event.data.mapping_start.anchor.map { String(cString: $0) }, location: location)
        case YAML_MAPPING_END_EVENT: return .mappingEnd
        case YAML_ALIAS_EVENT:
            return .alias(anchor: String(cString: event.data.alias.anchor), location: location)
        default:
            throw YAMLComposer.Failure(location: location, message: "unexpected YAML event")
        }
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    func syntaxFailure() -> YAMLComposer.Failure {
        let parser = self.parser.pointee
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let mark = parser.problem_mark
        var message = "YAML syntax error: \(problem)"
        if let context = parser.context.map({ String(cString: $0) }) {
            message += " \(context)"
            let c = parser.context_mark
            message += " (line \(c.line + 1))"
        }
        return YAMLComposer.Failure(
            location: SourceLocation(line: Int(mark.line) + 1, column: Int(mark.column) + 1), message: message)
    }

    mutating func composeStream(_ sink: inout DiagnosticSink) throws(YAMLComposer.Failure) -> YAMLNode? {
        guard case .streamStart = try next() else {
            throw YAMLComposer.Failure(location: nil, message: "invalid YAML stream")
        }
        var root: YAMLNode?
        while true {
            switch try next() {
            case .streamEnd:
                return root
            case .documentStart:
                let event = try next()
                if root != nil {
                    throw YAMLComposer.Failure(
                        location: eventLocation(event) ?? nil,
                        message: "a project file holds one YAML document; remove the second `---`")
                }
                root = try composeNode(event, depth: 0, &sink)
                guard case .documentEnd = try next() else {
                    throw YAMLComposer.Failure(location: nil, message: "invalid YAML document end")
                }
            default:
                throw YAMLComposer.Failure(location: nil, message: "invalid YAML stream")
            }
        }
    }

    func eventLocation(_ event: Event) -> SourceLocation? {
        switch event {
        case .scalar(_, _, _, _, _, let l, _), .sequenceStart(_, let l), .mappingStart(_, let l), .alias(_, let l): l
        default: nil
        }
    }

    mutating func composeNode(_ event: Event, depth: Int, _ sink: inout DiagnosticSink) throws(YAMLComposer.Failure)
        -> YAMLNode
    {
        switch event {
        case .scalar(let text, let plain, let quoted, let tag, let anchor, let location, _):
            if text.unicodeScalars.contains("\u{0}") {
                // JSON can escape it, PostgreSQL's jsonb cannot, and no prompt means it.
                sink.error(
                    location,
                    "this holds U+0000 (a NUL, written `\\0`, `\\x00` or `\\u0000`): no request or state can carry it",
                    note: "remove it")
            }
            let node = YAMLNode.scalar(
                YAMLScalar(text: text, isPlain: plain, isQuoted: quoted, tag: tag, location: location))
            if let anchor { anchors[anchor] = node }
            return node
        case .alias(let anchor, let location):
            guard let node = anchors[anchor] else {
                throw YAMLComposer.Failure(location: location, message: "unknown alias *\(anchor)")
            }
            aliasExpansion += node.expandedSize
            if aliasExpansion > limits.aliasExpansion {
                throw YAMLComposer.Failure(
                    location: location,
                    message:
                        "aliases expand to more than \(limits.aliasExpansion) nodes (an alias bomb?); refusing to load")
            }
            return node
        case .sequenceStart(let anchor, let location):
            try checkDepth(depth, location)
            var items: [YAMLNode] = []
            var size = 1
            while true {
                let e = try next()
                if case .sequenceEnd = e { break }
                let item = try composeNode(e, depth: depth + 1, &sink)
                size += item.expandedSize
                items.append(item)
            }
            let node = YAMLNode.sequence(YAMLSequence(items: items, location: location, expandedSize: size))
            if let anchor { anchors[anchor] = node }
            return node
        case .mappingStart(let anchor, let location):
            try checkDepth(depth, location)
            let node = YAMLNode.mapping(try composeMapping(location, depth: depth, &sink))
            if let anchor { anchors[anchor] = node }
            return node
        default:
            throw YAMLComposer.Failure(location: nil, message: "unexpected YAML structure")
        }
    }

    /// Whether the byte before `index` is a `?` that libyaml took for the explicit-key indicator.
    func glued(at index: Int) -> Bool {
        index > 0 && index <= input.count && input[index - 1] == UInt8(ascii: "?")
    }

    func checkDepth(_ depth: Int, _ location: SourceLocation) throws(YAMLComposer.Failure) {
        if depth >= limits.depth {
            throw YAMLComposer.Failure(
                location: location, message: "nesting deeper than \(limits.depth) levels; refusing to load")
        }
    }

    mutating func composeMapping(_ location: SourceLocation, depth: Int, _ sink: inout DiagnosticSink)
        throws(YAMLComposer.Failure) -> YAMLMapping
    {
        var entries: [YAMLMapping.Entry] = []
        // Keys are compared code point by code point, as YAML does: `café` written NFC and NFD are two keys.
        var seen: [[Unicode.Scalar]: SourceLocation] = [:]
        var merged: [YAMLMapping.Entry] = []
        var mergeKey: SourceLocation?
        var size = 1
        while true {
            let keyEvent = try next()
            if case .mappingEnd = keyEvent { break }
            if case .scalar(let text, _, _, _, _, let location, true) = keyEvent {
                sink.error(
                    location,
                    "`?\(text)` is read as the key `\(text)` by this parser and as the text `?\(text)` by YAML 1.2",
                    note: "write `\(text):`, or quote the key if it starts with `?`")
            }
            let keyNode = try composeNode(keyEvent, depth: depth + 1, &sink)
            let valueNode = try composeNode(try next(), depth: depth + 1, &sink)
            guard case .scalar(let key) = keyNode else {
                sink.error(keyNode.location, "a key must be a plain name, not \(keyNode.kindName)")
                continue
            }
            if key.isPlain && key.text == "<<" {
                if let first = mergeKey {
                    sink.error(
                        key.location, "duplicate merge key `<<` (first at line \(first.line))",
                        note: "merge several mappings with one key: `<<: [*a, *b]`")
                    continue
                }
                mergeKey = key.location
                merged.append(contentsOf: mergeSources(valueNode, &sink))
                continue
            }
            let scalars = Array(key.text.unicodeScalars)
            if let first = seen[scalars] {
                sink.error(
                    key.location, "duplicate key `\(key.text)` (first at line \(first.line))",
                    note: "remove one of them; YAML keeps only one")
                continue
            }
            seen[scalars] = key.location
            size += 1 + valueNode.expandedSize
            entries.append(YAMLMapping.Entry(key: key, value: valueNode))
        }
        for entry in merged where seen[Array(entry.key.text.unicodeScalars)] == nil {
            seen[Array(entry.key.text.unicodeScalars)] = entry.key.location
            size += 1 + entry.value.expandedSize
            entries.append(entry)
        }
        return YAMLMapping(entries: entries, location: location, expandedSize: size)
    }

    /// The entries a merge key brings, earlier sources first (they win over later ones).
    func mergeSources(_ value: YAMLNode, _ sink: inout DiagnosticSink) -> [YAMLMapping.Entry] {
        switch value {
        case .mapping(let m):
            return m.entries
        case .sequence(let s):
            var result: [YAMLMapping.Entry] = []
            var keys = Set<[Unicode.Scalar]>()
            for item in s.items {
                guard case .mapping(let m) = item else {
                    sink.error(item.location, "a merge key `<<` takes mappings, not \(item.kindName)")
                    continue
                }
                for entry in m.entries where keys.insert(Array(entry.key.text.unicodeScalars)).inserted {
                    result.append(entry)
                }
            }
            return result
        case .scalar:
            sink.error(value.location, "a merge key `<<` takes a mapping or a list of mappings, not a scalar")
            return []
        }
    }
}
