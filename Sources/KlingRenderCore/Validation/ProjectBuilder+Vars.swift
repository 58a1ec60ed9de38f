import Foundation

/// `vars:` and `defaults:`.
extension ProjectBuilder {
    mutating func readVars(_ node: YAMLNode) {
        guard case .mapping(let m) = node else {
            if !node.isNullScalar {
                sink.error(node.location, "`vars` must be a mapping of names to text, not \(node.kindName)")
            }
            return
        }
        for entry in m.entries {
            let name = entry.key.text
            if name.isEmpty
                || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            {
                sink.error(
                    entry.key.location, "invalid variable name `\(name)`",
                    note: "use letters, digits, `_` and `-`")
                continue
            }
            guard let text = plainText(entry.value, field: "vars.\(name)") else { continue }
            vars[name] = text
            varLocations[name] = entry.key.location
        }
    }

    mutating func readDefaults(
        _ node: YAMLNode, into defaults: inout [String: DefaultValue], type: inout (TaskType, SourceLocation)?,
        extra: inout [String: JSONValue]
    ) {
        guard case .mapping(let m) = node else {
            if !node.isNullScalar {
                sink.error(node.location, "`defaults` must be a mapping of shot fields, not \(node.kindName)")
            }
            return
        }
        for entry in m.entries {
            let key = entry.key.text
            switch key {
            case "type":
                if let t = taskType(entry.value) { type = (t, entry.value.location) }
            case "extra":
                extra = readExtra(entry.value)
            case "takes":
                defaultTakes = takeCount(entry.value)
            case "after", "notes", "pick":
                sink.error(entry.key.location, "`\(key)` belongs to a shot; it cannot be a default")
            default:
                guard let field = ShotField.named(key) else {
                    sink.error(
                        entry.key.location, "unknown field `\(key)` in `defaults`",
                        note: Suggestion.note(for: key, in: Self.defaultKeys))
                    continue
                }
                if let value = convert(entry.value, field: field, shotIDs: [], allowShotOutput: false) {
                    defaults[key] = DefaultValue(value: value, location: entry.value.location)
                }
            }
        }
    }
}
