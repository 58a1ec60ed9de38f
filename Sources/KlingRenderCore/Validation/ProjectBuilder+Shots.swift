import Foundation

/// Each shot: its entry, its fields as its type takes them, `after:` and `extra:`.
extension ProjectBuilder {
    mutating func readShot(
        _ key: YAMLScalar, _ node: YAMLNode, ids: Set<String>, defaults: [String: DefaultValue],
        defaultType: (TaskType, SourceLocation)?, defaultExtra: [String: JSONValue]
    ) -> Shot? {
        let id = key.text
        var ok = true
        if !Self.isValidShotID(id) {
            sink.error(
                key.location, "invalid shot id `\(id)`",
                note: "ids are lowercase letters, digits, `-` and `_`, starting with a letter or digit")
            ok = false
        }
        guard case .mapping(let m) = node else {
            sink.error(node.location, "shot `\(id)` must be a mapping of fields, not \(node.kindName)")
            return nil
        }

        var type = defaultType?.0
        if let typeNode = m["type"] {
            type = taskType(typeNode)
            if type == nil { ok = false }
        } else if type == nil {
            sink.error(key.location, "shot `\(id)` has no `type`", note: "add e.g. `type: pro-text-to-video`")
            ok = false
        }

        var draft = ShotDraft(extra: defaultExtra)
        for entry in m.entries { readShotEntry(entry.key, entry.value, shot: id, type: type, ids: ids, into: &draft) }
        guard let type else { return nil }
        for (name, value) in defaults {
            guard let field = ShotField.named(name), !draft.written.contains(field), type.takes(field) else { continue }
            draft.values[field] = value.value
            draft.locations[field] = value.location
        }
        checkComplete(&draft, shot: id, type: type, at: key.location, extraLocation: m["extra"]?.location)
        guard ok, draft.ok else { return nil }
        var shot = Shot(
            id: id, location: key.location, type: type, values: draft.values, locations: draft.locations,
            extra: draft.extra, dependencies: draft.dependencies, notes: draft.notes)
        shot.takes = draft.takes ?? defaultTakes ?? 1
        if let (pick, location) = draft.pick { (shot.pick, shot.pickLocation) = (pick, location) }
        return shot
    }

    /// A shot's fields as they are read, before it is checked whole.
    struct ShotDraft {
        var values: [ShotField: ShotValue] = [:]
        var locations: [ShotField: SourceLocation] = [:]
        var dependencies: [Dependency] = []
        var extra: [String: JSONValue]
        var notes: String?
        var takes: Int?
        var pick: (Int, SourceLocation)?
        /// Fields written on the shot, valid or not: a bad value is not also reported missing.
        var written = Set<ShotField>()
        var ok = true
    }

    /// One `key: value` of a shot.
    mutating func readShotEntry(
        _ key: YAMLScalar, _ value: YAMLNode, shot id: String, type: TaskType?, ids: Set<String>,
        into draft: inout ShotDraft
    ) {
        let name = key.text
        switch name {
        case "type":
            return
        case "notes":
            draft.notes = plainText(value, field: "notes")
        case "takes":
            draft.takes = takeCount(value)
            if draft.takes == nil { draft.ok = false }
        case "pick":
            draft.pick = takeNumber(value).map { ($0, value.location) }
            if draft.pick == nil { draft.ok = false }
        case "extra":
            for (k, v) in readExtra(value) { draft.extra[k] = v }
        case "after":
            draft.dependencies += readAfter(value, shot: id, ids: ids)
        default:
            guard let field = ShotField.named(name) else {
                let suggestion = Suggestion.closest(to: name, in: Self.shotKeys)
                // A misspelled field is not also reported missing.
                if let suggestion, let meant = ShotField.named(suggestion) { draft.written.insert(meant) }
                sink.error(
                    key.location, "unknown field `\(name)` in shot `\(id)`",
                    note: suggestion.map { "did you mean `\($0)`?" })
                draft.ok = false
                return
            }
            draft.written.insert(field)
            if let type, !type.takes(field) {
                sink.error(key.location, Self.forbiddenMessage(field, type))
                draft.ok = false
                return
            }
            let takesOutputs = field.kind == .url || field.kind == .urlList
            guard let converted = convert(value, field: field, shotIDs: ids, allowShotOutput: takesOutputs) else {
                draft.ok = false
                return
            }
            draft.values[field] = converted
            draft.locations[field] = value.location
            for input in converted.mediaInputs {
                guard let upstream = input.upstream else { continue }
                if upstream == id {
                    sink.error(value.location, "shot `\(id)` uses its own output")
                    draft.ok = false
                } else {
                    let kind: Dependency.Kind = if case .frame = input { .frame } else { .video }
                    draft.dependencies.append(
                        Dependency(id: upstream, kind: kind, field: field, location: value.location))
                }
            }
        }
    }

    /// Required fields present, a reference to refer to, no `extra` key that is a known field.
    mutating func checkComplete(
        _ draft: inout ShotDraft, shot id: String, type: TaskType, at location: SourceLocation,
        extraLocation: SourceLocation?
    ) {
        for field in type.required.sorted() where draft.values[field] == nil && !draft.written.contains(field) {
            sink.error(location, "shot `\(id)` (\(type.name)) needs `\(field.fileName)`")
            draft.ok = false
        }
        if type.family == .reference, draft.written.isDisjoint(with: [.images, .video]), draft.values[.images] == nil,
            draft.values[.video] == nil
        {
            sink.error(location, "shot `\(id)` (\(type.name)) needs `images` or `video` to refer to")
            draft.ok = false
        }
        for k in draft.extra.keys.sorted() where k == "type" || ShotField.allCases.contains(where: { $0.wireName == k })
        {
            sink.error(
                extraLocation ?? location, "`extra.\(k)` collides with a known field",
                note: "set `\(k):` on the shot instead")
            draft.ok = false
        }
    }

    static func isValidShotID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, isLowerAlnum(first) else { return false }
        return id.unicodeScalars.allSatisfy { isLowerAlnum($0) || $0 == "-" || $0 == "_" }
    }

    static func isLowerAlnum(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("0"..."9").contains(c)
    }

    static func forbiddenMessage(_ field: ShotField, _ type: TaskType) -> String {
        switch field {
        case .duration where type.family == .edit:
            "`duration` is not taken by \(type.name): an edit's length follows its source video"
        case .cfgScale: "`cfg_scale` applies to Kling 3.0 types only, not \(type.name)"
        case .keepOriginalSound: "`keep_original_sound` applies to video edits only, not \(type.name)"
        case .endImage: "`end_image` applies to image-to-video types only, not \(type.name)"
        case .image: "`image` applies to image-to-video types only, not \(type.name)"
        case .images: "`images` applies to O3 reference-to-video types only, not \(type.name)"
        case .video: "`video` applies to reference-to-video and video-edit types only, not \(type.name)"
        default: "`\(field.fileName)` is not taken by \(type.name)"
        }
    }

    mutating func readAfter(_ node: YAMLNode, shot: String, ids: Set<String>) -> [Dependency] {
        let items: [YAMLNode]
        switch node {
        case .sequence(let s): items = s.items
        case .scalar(let s) where !s.isNull: items = [node]
        default:
            sink.error(node.location, "`after` must be a list of shot ids, not \(node.kindName)")
            return []
        }
        var result: [Dependency] = []
        for item in items {
            guard case .scalar(let s) = item, !s.isNull else {
                sink.error(item.location, "`after` lists shot ids, not \(item.kindName)")
                continue
            }
            if s.text == shot {
                sink.error(s.location, "shot `\(shot)` is listed in its own `after`")
            } else if !ids.contains(s.text) {
                sink.error(
                    s.location, "`after` names unknown shot `\(s.text)`",
                    note: Suggestion.note(for: s.text, in: ids))
            } else {
                result.append(Dependency(id: s.text, kind: .after, field: nil, location: s.location))
            }
        }
        return result
    }

    mutating func readExtra(_ node: YAMLNode) -> [String: JSONValue] {
        guard case .mapping(let m) = node else {
            if !node.isNullScalar {
                sink.error(node.location, "`extra` must be a mapping of wire fields, not \(node.kindName)")
            }
            return [:]
        }
        var result: [String: JSONValue] = [:]
        for entry in m.entries { result[entry.key.text] = Self.json(entry.value) }
        return result
    }

    /// YAML 1.2 core-schema typing, for `extra` values that the tool sends verbatim.
    static func json(_ node: YAMLNode) -> JSONValue {
        switch node {
        case .mapping(let m):
            return .object(Dictionary(m.entries.map { ($0.key.text, json($0.value)) }, uniquingKeysWith: { a, _ in a }))
        case .sequence(let s):
            return .array(s.items.map(json))
        case .scalar(let s):
            guard s.isPlain else { return .string(s.text) }
            if s.isNull { return .null }
            if s.text == "true" || s.text == "True" || s.text == "TRUE" { return .bool(true) }
            if s.text == "false" || s.text == "False" || s.text == "FALSE" { return .bool(false) }
            if NumberSyntax.isInteger(s.text), let i = Int(s.text) { return .int(i) }
            if NumberSyntax.isDecimal(s.text), let d = Double(s.text), d.isFinite { return .double(d) }
            return .string(s.text)
        }
    }
}
