import Foundation

/// Typed values: task types, text, numbers, booleans, aspect ratios, URLs, media inputs,
/// local files and interpolation, each read with its located diagnostic.
extension ProjectBuilder {
    mutating func taskType(_ node: YAMLNode) -> TaskType? {
        guard case .scalar(let s) = node, !s.isNull else {
            sink.error(node.location, "`type` must be one of the 12 task types, not \(node.kindName)")
            return nil
        }
        if let t = TaskType.named(s.text) { return t }
        sink.error(
            s.location, "unknown type `\(s.text)`",
            note: Suggestion.note(for: s.text, in: TaskType.all.map(\.name))
                ?? "types are \(TaskType.all.map(\.name).joined(separator: ", "))")
        return nil
    }

    /// A scalar's text, or an error naming `field` when it is a list or mapping.
    mutating func plainText(_ node: YAMLNode, field: String) -> String? {
        guard case .scalar(let s) = node else {
            sink.error(node.location, "`\(field)` must be text, not \(node.kindName)")
            return nil
        }
        return s.isNull ? "" : s.text
    }

    /// One rule for whole numbers: an untagged, unquoted run of decimal digits (`-` allowed),
    /// within Int's range. `range` words the values the field takes, for the message.
    mutating func integer(_ node: YAMLNode, field: String, range: String = "") -> Int? {
        guard case .scalar(let s) = node, s.isPlain, !s.isNull, NumberSyntax.isInteger(s.text), let value = Int(s.text)
        else {
            sink.error(node.location, "`\(field)` must be a whole number\(range), not \(Self.describe(node))")
            return nil
        }
        return value
    }

    static func describe(_ node: YAMLNode) -> String {
        guard case .scalar(let s) = node else { return node.kindName }
        let text = Printable.short(s.text, limit: 40)
        if let tag = s.tag {
            let shown = tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst(18) : Substring(tag)
            return "`\(Printable.short(String(shown), limit: 40)) \(text)` (a tagged value; write the number alone)"
        }
        if s.isNull { return "empty" }
        return s.isPlain ? "`\(text)`" : "the string \"\(text)\""
    }

    /// Converts one request field, typed by the schema: never by YAML 1.1's guessing.
    mutating func convert(_ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool)
        -> ShotValue?
    {
        switch field.kind {
        case .integer: convertInteger(node, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        case .number: convertNumber(node, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        case .boolean: convertBoolean(node, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        case .text: convertText(node, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        case .aspectRatio: convertAspectRatio(node, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        case .url: convertURL(node, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        case .urlList: convertURLList(node, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        }
    }

    mutating func convertInteger(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        let name = field.fileName
        let range =
            field == .duration ? " from \(APILimits.durations.lowerBound) to \(APILimits.durations.upperBound)" : ""
        guard let d = integer(node, field: name, range: range) else { return nil }
        if field == .duration, !APILimits.durations.contains(d) {
            sink.error(
                node.location,
                "`duration` must be from \(APILimits.durations.lowerBound) to \(APILimits.durations.upperBound) seconds, not \(d)"
            )
            return nil
        }
        return .integer(d)
    }

    mutating func convertNumber(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        let name = field.fileName
        guard case .scalar(let s) = node, s.isPlain, NumberSyntax.isDecimal(s.text), let v = Double(s.text),
            v.isFinite
        else {
            sink.error(node.location, "`\(name)` must be a number from 0 to 1, not \(Self.describe(node))")
            return nil
        }
        if !APILimits.cfgScale.contains(v) {
            sink.error(node.location, "`\(name)` must be from 0 to 1, not \(s.text)")
            return nil
        }
        return .number(v)
    }

    mutating func convertBoolean(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        boolean(node, field: field.fileName).map { .boolean($0) }
    }

    /// `true` or `false` (any case YAML 1.2 allows), never YAML 1.1's yes/no/on/off; else located.
    mutating func boolean(_ node: YAMLNode, field name: String) -> Bool? {
        guard case .scalar(let s) = node, s.isPlain,
            ["true", "false", "True", "False", "TRUE", "FALSE"].contains(s.text)
        else {
            sink.error(
                node.location, "`\(name)` takes true or false, not \(Self.describe(node))",
                note: "YAML 1.1's yes/no/on/off are not booleans here; write `\(name): true` or `\(name): false`")
            return nil
        }
        return s.text.lowercased() == "true"
    }

    mutating func convertText(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        let name = field.fileName
        guard let text = interpolated(node, field: name, shotIDs: shotIDs, allowShotOutput: false) else {
            return nil
        }
        if field == .prompt {
            if text.allSatisfy(\.isWhitespace) {
                sink.error(node.location, "`prompt` is empty", note: "describe the shot in at most 2000 characters")
                return nil
            }
            let length = text.unicodeScalars.count
            if length > APILimits.promptLength {
                sink.error(
                    node.location,
                    "`prompt` is \(length.formatted) characters after interpolation; the API takes at most \(APILimits.promptLength)"
                )
                return nil
            }
        }
        return .text(text)
    }

    mutating func convertAspectRatio(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        let name = field.fileName
        guard let text = interpolated(node, field: name, shotIDs: shotIDs, allowShotOutput: false) else {
            return nil
        }
        guard APILimits.aspectRatios.contains(text) else {
            sink.error(
                node.location, "`aspect_ratio` must be 16:9, 9:16 or 1:1, not `\(text)`",
                note: Suggestion.note(for: text, in: APILimits.aspectRatios))
            return nil
        }
        return .text(text)
    }

    mutating func convertURL(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        guard case .scalar(let s) = node, !s.isNull else {
            sink.error(node.location, "`\(field.fileName)` must be a URL or a file, not \(Self.describe(node))")
            return nil
        }
        return mediaInput(s, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput).map(ShotValue.input)
    }

    mutating func convertURLList(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        let name = field.fileName
        guard case .sequence(let list) = node else {
            sink.error(node.location, "`\(name)` must be a list of images (URLs or files), not \(Self.describe(node))")
            return nil
        }
        if list.items.isEmpty {
            sink.error(node.location, "`\(name)` is empty; list at least one image or remove it")
            return nil
        }
        if list.items.count > APILimits.maxReferenceImages {
            sink.error(
                node.location,
                "`\(name)` lists \(list.items.count) images; the API takes at most \(APILimits.maxReferenceImages)")
            return nil
        }
        var inputs: [MediaInput] = []
        var ok = true
        for item in list.items {
            guard case .scalar(let s) = item, !s.isNull else {
                sink.error(item.location, "`\(name)` lists images (URLs or files), not \(item.kindName)")
                ok = false
                continue
            }
            if let input = mediaInput(s, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput) {
                inputs.append(input)
            } else {
                ok = false
            }
        }
        return ok ? .inputs(inputs) : nil
    }

    /// One media value: another shot's video (`video`) or frame (image fields) when it is only
    /// that reference; else, after `${vars.…}`, an http(s) URL or a file beside the project.
    mutating func mediaInput(
        _ s: YAMLScalar, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> MediaInput? {
        let name = field.fileName
        var local = sink
        if allowShotOutput, let template = Template.parse(s, field: name, into: &local) {
            let reference: (id: String, input: MediaInput)? =
                if field == .video, let id = template.wholeShotVideo {
                    (id, .shotVideo(id))
                } else if field != .video, let (id, edge) = template.wholeShotFrame {
                    (id, .frame(id, edge))
                } else { nil }
            if let reference {
                sink = local
                guard shotIDs.contains(reference.id) else {
                    sink.error(
                        s.location, "`\(reference.input.written)` names unknown shot `\(reference.id)`",
                        note: Suggestion.note(for: reference.id, in: shotIDs))
                    return nil
                }
                return reference.input
            }
        }
        guard let text = interpolated(.scalar(s), field: name, shotIDs: shotIDs, allowShotOutput: allowShotOutput)
        else { return nil }
        if Self.hasScheme(text) {
            return checkURL(text, field: name, at: s.location) ? .url(text) : nil
        }
        return localFile(text, field: field, at: s.location).map(MediaInput.file)
    }

    /// `ftp://…`, `file:…`, `data:…`: a scheme, which only http(s) may be.
    static func hasScheme(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return false }
        let scheme = text[..<colon]
        guard scheme.count > 1, let first = scheme.unicodeScalars.first, first.isASCIILetter else { return false }
        return scheme.unicodeScalars.allSatisfy {
            $0.isASCIILetter || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0)
        }
    }

    /// A file input: its path as the project keeps it (`./boards/x.png` is `boards/x.png`), and a
    /// check of the file itself for the file pass (`checkFiles`), which reads the disk.
    mutating func localFile(_ text: String, field: ShotField, at location: SourceLocation) -> String? {
        let expect: InputFile.Expect = field == .video ? .video : .image
        let normalized = text.hasPrefix("./") ? ((try? ProjectFolder.normalize(text)) ?? text) : text
        fileChecks.append(
            FileCheck(written: text, path: normalized, expect: expect, location: location, field: field.fileName))
        return normalized
    }

    mutating func checkURL(_ text: String, field: String, at location: SourceLocation) -> Bool {
        let lower = text.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://"),
            !text.unicodeScalars.contains(where: \.properties.isWhitespace),
            let url = URL(string: text), let host = url.host, !host.isEmpty
        {
            return true
        }
        let either = field.hasPrefix("assets.") ? "" : " or a file inside the project"
        sink.error(location, "`\(field)` must be an absolute http(s) URL\(either), not `\(text)`")
        return false
    }

    /// The text of a scalar with `${vars.…}` substituted. `${shots.…}` is rejected here:
    /// an output is a video URL, allowed only as the whole value of `video`.
    mutating func interpolated(_ node: YAMLNode, field: String, shotIDs: Set<String>, allowShotOutput: Bool) -> String?
    {
        guard case .scalar(let s) = node else {
            sink.error(node.location, "`\(field)` must be text, not \(node.kindName)")
            return nil
        }
        if s.isNull { return "" }
        guard let template = Template.parse(s, field: field, into: &sink) else { return nil }
        var text = ""
        var ok = true
        for segment in template.segments {
            switch segment {
            case .literal(let l):
                text += l
            case .variable(let name, let offset):
                if let value = vars[name] {
                    usedVars.insert(name)
                    text += value
                } else {
                    sink.error(
                        s.location(ofOffset: offset), "unknown variable `${vars.\(name)}` in `\(field)`",
                        note: Suggestion.note(for: name, in: vars.keys) ?? "define it under `vars:`")
                    ok = false
                }
            case .shotFrame(let id, let edge, let offset):
                let written = "${shots.\(id).\(edge.reference)}"
                let message =
                    field == "video"
                    ? "`\(written)` is an image; `video` takes a video (`${shots.\(id).video}`)"
                    : field == "image" || field == "end_image" || field == "images"
                        ? "`\(written)` must be the whole value of `\(field)`"
                        : "`\(written)` is allowed only where an image is expected, not in `\(field)`"
                sink.error(s.location(ofOffset: offset), message)
                ok = false
            case .shotVideo(let id, let offset):
                let message =
                    field == "image" || field == "end_image" || field == "images"
                    ? "`${shots.\(id).video}` is a video; `\(field)` takes an image (`${shots.\(id).last_frame}`?)"
                    : allowShotOutput
                        ? "`${shots.\(id).video}` must be the whole value of `\(field)`"
                        : "`${shots.\(id).video}` is allowed only where a video URL is expected, not in `\(field)`"
                sink.error(s.location(ofOffset: offset), message)
                ok = false
            }
        }
        return ok ? text : nil
    }
}
