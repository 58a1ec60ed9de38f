import Foundation

/// Reads composed YAML into a `Project`, checking every offline rule of SPEC §1–§2.
///
/// It never stops at the first problem: every one is collected in `sink`, so the user fixes
/// their file in one pass.
struct ProjectBuilder {
    static let topLevelKeys = [
        "version", "name", "output", "budget", "parallelism", "defaults", "vars", "shots", "assets", "outputs_lifetime",
        "cut", "state",
    ]
    static let assetKeys = ["store", "endpoint", "region", "public_url", "url_lifetime", "keep_outputs"]
    static let shotKeys = ["type", "after", "notes", "extra", "takes", "pick"] + ShotField.allCases.map(\.fileName)
    static let defaultKeys = ["type", "extra", "takes"] + ShotField.allCases.map(\.fileName)

    let file: String
    var sink: DiagnosticSink
    var vars: [String: String] = [:]
    var varLocations: [String: SourceLocation] = [:]
    var usedVars = Set<String>()
    /// The project file's folder: where local inputs are looked for.
    let folder: URL
    var checkedFiles: [String: Result<InputFile, InputProblem>] = [:]
    var inputFiles: [String: InputFile] = [:]
    /// `takes:` in `defaults`.
    var defaultTakes: Int?

    init(file: String, sink: DiagnosticSink) {
        self.file = file
        self.sink = sink
        folder = URL(fileURLWithPath: file).deletingLastPathComponent()
    }

    /// A value given in `defaults`, converted once.
    struct DefaultValue {
        var value: ShotValue
        var location: SourceLocation
    }

    mutating func build(_ root: YAMLNode) -> Project? {
        guard case .mapping(let top) = root else {
            sink.error(root.location, "a project file is a mapping of keys (version, shots, …), not \(root.kindName)")
            return nil
        }
        checkTopLevelKeys(top)
        let settings = readSettings(top)
        if let node = top["vars"] { readVars(node) }
        var defaults: [String: DefaultValue] = [:]
        var defaultType: (TaskType, SourceLocation)?
        var defaultExtra: [String: JSONValue] = [:]
        if let node = top["defaults"] {
            readDefaults(node, into: &defaults, type: &defaultType, extra: &defaultExtra)
        }
        let shotNodes = readShotNodes(top)
        let ids = Set(shotNodes.map(\.id.text))
        let shots = shotNodes.compactMap { key, node in
            readShot(key, node, ids: ids, defaults: defaults, defaultType: defaultType, defaultExtra: defaultExtra)
        }
        for (name, location) in varLocations where !usedVars.contains(name) {
            sink.warning(location, "variable `\(name)` is never used")
        }
        checkDependencies(shots)
        var project = Project(
            file: file, version: settings.version, name: settings.name, output: settings.output,
            budget: settings.budget, parallelism: settings.parallelism, shots: shots, inputFiles: inputFiles)
        if let node = top["assets"] { project.assets = readAssets(node) }
        if let node = top["outputs_lifetime"], let seconds = timeSpan(node, field: "outputs_lifetime") {
            project.outputsLifetime = seconds
        }
        if let node = top["cut"] { project.cut = readCut(node, shots: shots, ids: ids, name: settings.name) }
        if let node = top["state"] { project.state = readState(node) }
        return project
    }

    /// `state: postgres://HOST:PORT/DATABASE?schema=NAME`, with no password: the file is committed.
    private mutating func readState(_ node: YAMLNode) -> StateURL? {
        guard let text = plainText(node, field: "state") else { return nil }
        switch StateURL.parse(text) {
        case .failure(let problem):
            // A state address may hold a password, however spelled or escaped: never echoed.
            sink.errorHidingLine(
                node.location, "`state`: \(problem)",
                note: "leave `state` out to keep the manifest in the file beside the project")
            return nil
        case .success(let url):
            if url.password != nil {
                sink.errorHidingLine(
                    node.location, "`state` holds a password, and this file is committed",
                    note: "write `postgres://HOST/DATABASE?schema=NAME`; the password goes in PGPASSWORD or ~/.pgpass")
                return nil
            }
            return url
        }
    }

    private mutating func checkTopLevelKeys(_ top: YAMLMapping) {
        for entry in top.entries where !entry.key.text.hasPrefix("x-") && !Self.topLevelKeys.contains(entry.key.text) {
            sink.error(
                entry.key.location, "unknown top-level key `\(entry.key.text)`",
                note: Suggestion.note(for: entry.key.text, in: Self.topLevelKeys)
                    ?? "top-level keys are \(Self.topLevelKeys.joined(separator: ", ")); prefix extensions with `x-`")
        }
    }

    /// The project-wide settings: version, name, output folder, budget, parallelism.
    struct Settings {
        var version = 1
        var name: String
        var output = "renders"
        var budget: Int?
        var parallelism: Int?
    }

    private mutating func readSettings(_ top: YAMLMapping) -> Settings {
        var settings = Settings(name: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent)
        if let node = top["version"] {
            if let v = integer(node, field: "version") {
                if v != 1 { sink.error(node.location, "unsupported version \(v); this kling-render reads version 1") }
                settings.version = v
            }
        } else {
            sink.error(top.location, "missing `version: 1` at the top of the file")
        }
        if let node = top["name"], let text = plainText(node, field: "name") {
            if text.trimmingCharacters(in: .whitespaces).isEmpty {
                sink.error(node.location, "`name` is empty")
            } else {
                settings.name = text
            }
        }
        if let node = top["output"], let text = plainText(node, field: "output") {
            // The same rule as every path the tool touches (`ProjectFolder`).
            if (try? ProjectFolder.normalize(text)) == nil {
                sink.error(
                    node.location,
                    "`output` must be a folder inside the project's folder, not `\(Printable.short(text, limit: 80))`",
                    note: "write a relative path such as `renders`")
            } else {
                settings.output = text
            }
        }
        if let node = top["budget"], let b = integer(node, field: "budget", range: " of credits, 0 or more") {
            if b < 0 {
                sink.error(node.location, "`budget` must be zero or more credits, not \(b)")
            } else {
                settings.budget = b
            }
        }
        if let node = top["parallelism"], let p = integer(node, field: "parallelism", range: " from 1 to 256") {
            if !(1...256).contains(p) {
                sink.error(node.location, "`parallelism` must be from 1 to 256, not \(p)")
            } else {
                settings.parallelism = p
            }
        }
        return settings
    }

    /// The `shots:` mapping's entries, in file order.
    private mutating func readShotNodes(_ top: YAMLMapping) -> [(id: YAMLScalar, node: YAMLNode)] {
        guard let node = top["shots"] else {
            sink.error(top.location, "missing `shots:`, the mapping of shots to render")
            return []
        }
        guard case .mapping(let m) = node else {
            if node.isNullScalar {
                sink.warning(node.location, "`shots` is empty: nothing to render")
            } else {
                sink.error(node.location, "`shots` must be a mapping of shot ids to shots, not \(node.kindName)")
            }
            return []
        }
        if m.entries.isEmpty { sink.warning(node.location, "`shots` is empty: nothing to render") }
        return m.entries.map { ($0.key, $0.value) }
    }

    // MARK: - assets

    /// `7d`, `24h`, `30m`, `90s`: a span of time, more than zero.
    mutating func timeSpan(_ node: YAMLNode, field: String) -> Int? {
        guard case .scalar(let s) = node, !s.isNull, let seconds = TimeSpan.wholeSeconds(s.text) else {
            sink.error(
                node.location,
                "`\(field)` must be a span of time such as 7d, 24h, 30m or 90s, not \(Self.describe(node))")
            return nil
        }
        return seconds
    }

    mutating func readAssets(_ node: YAMLNode) -> AssetSettings? {
        guard case .mapping(let m) = node else {
            sink.error(
                node.location,
                "`assets` must be a mapping (store, endpoint, region, public_url, url_lifetime, keep_outputs)")
            return nil
        }
        for entry in m.entries where !Self.assetKeys.contains(entry.key.text) {
            sink.error(
                entry.key.location, "unknown field `\(entry.key.text)` in `assets`",
                note: Suggestion.note(for: entry.key.text, in: Self.assetKeys))
        }
        guard let storeNode = m["store"] else {
            sink.error(node.location, "`assets` needs `store: s3://BUCKET/PREFIX/`")
            return nil
        }
        guard let text = plainText(storeNode, field: "assets.store") else { return nil }
        guard let (bucket, prefix) = AssetSettings.parseStore(text) else {
            storeAddressProblem(text, at: storeNode.location)
            return nil
        }
        var settings = AssetSettings(bucket: bucket, prefix: prefix)
        if let n = m["endpoint"], let url = plainText(n, field: "assets.endpoint") {
            if storeURLProblem(url, field: "assets.endpoint", at: n.location) { settings.endpoint = url }
        }
        if let n = m["public_url"], let url = plainText(n, field: "assets.public_url") {
            if storeURLProblem(url, field: "assets.public_url", at: n.location) {
                settings.publicURL = url.hasSuffix("/") ? url : url + "/"
            }
        }
        if let n = m["region"], let region = plainText(n, field: "assets.region") {
            if !AssetSettings.isRegion(region)
            {
                sink.error(n.location, "`assets.region` must be a region name such as us-east-1")
            } else {
                settings.region = region
            }
        }
        if let n = m["keep_outputs"], let keep = boolean(n, field: "assets.keep_outputs") {
            settings.keepOutputs = keep
        }
        if let n = m["url_lifetime"], let seconds = timeSpan(n, field: "assets.url_lifetime") {
            if seconds > AssetSettings.maxURLLifetime {
                sink.error(n.location, "`assets.url_lifetime` is at most 7d: SigV4 presigned URLs last a week at most")
            } else {
                settings.urlLifetime = seconds
            }
        }
        return settings
    }

    /// Why `assets.store` is not an `s3://BUCKET/PREFIX/` address: the scheme, the bucket, or the prefix.
    private mutating func storeAddressProblem(_ text: String, at location: SourceLocation) {
        let bucket = text.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false).first ?? ""
        if !text.hasPrefix("s3://") {
            sink.error(
                location, "`assets.store` must be `s3://BUCKET/PREFIX/`",
                note: "any S3-compatible store: set `endpoint:` for one that is not AWS")
        } else if AssetSettings.parseStore("s3://\(bucket)/") == nil {
            sink.error(
                location,
                "`assets.store` names the bucket `\(Printable.short(String(bucket), limit: 80))`, which is not a bucket name",
                note: "bucket names are 3–63 lowercase letters, digits, `-` and `.`")
        } else {
            sink.error(location, "`assets.store`'s prefix may not hold `.` or `..` segments")
        }
    }

    /// An http(s) URL with no user name or password in it (true), or an error (false).
    private mutating func storeURLProblem(_ text: String, field: String, at location: SourceLocation) -> Bool {
        guard checkURL(text, field: field, at: location) else { return false }
        if let url = URLComponents(string: text), url.user != nil || url.password != nil {
            sink.error(
                location, "`\(field)` holds a user name or password",
                note: "credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or ~/.aws/credentials")
            return false
        }
        return true
    }

    // MARK: - vars and defaults

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

    // MARK: - shots

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
    private mutating func readShotEntry(
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
    private mutating func checkComplete(
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

    private static func isLowerAlnum(_ c: Unicode.Scalar) -> Bool {
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

    // MARK: - typed values

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

    private mutating func convertInteger(
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

    private mutating func convertNumber(
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

    private mutating func convertBoolean(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        boolean(node, field: field.fileName).map { .boolean($0) }
    }

    /// `true` or `false` (any case YAML 1.2 allows), never YAML 1.1's yes/no/on/off; else located.
    private mutating func boolean(_ node: YAMLNode, field name: String) -> Bool? {
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

    private mutating func convertText(
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

    private mutating func convertAspectRatio(
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

    private mutating func convertURL(
        _ node: YAMLNode, field: ShotField, shotIDs: Set<String>, allowShotOutput: Bool
    ) -> ShotValue? {
        guard case .scalar(let s) = node, !s.isNull else {
            sink.error(node.location, "`\(field.fileName)` must be a URL or a file, not \(Self.describe(node))")
            return nil
        }
        return mediaInput(s, field: field, shotIDs: shotIDs, allowShotOutput: allowShotOutput).map(ShotValue.input)
    }

    private mutating func convertURLList(
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
    private mutating func mediaInput(
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

    /// A file input, checked once per path: inside the project, a regular file, the right media
    /// by its bytes, within the API's limits. Its normalized path, or nil after reporting.
    private mutating func localFile(_ text: String, field: ShotField, at location: SourceLocation) -> String? {
        let expect: InputFile.Expect = field == .video ? .video : .image
        let key = text + (expect == .video ? "#video" : "#image")
        let result: Result<InputFile, InputProblem>
        if let cached = checkedFiles[key] {
            result = cached
        } else {
            // `./boards/x.png` is `boards/x.png`; a path with `..` is refused by the check.
            let normalized = text.hasPrefix("./") ? ((try? ProjectFolder.normalize(text)) ?? text) : text
            result = InputFile.check(normalized, in: folder, expect: expect)
            checkedFiles[key] = result
        }
        switch result {
        case .success(let file):
            inputFiles[file.path] = file
            return file.path
        case .failure(let problem):
            sink.error(
                location, "`\(field.fileName)` file `\(Printable.short(text, limit: 120))` \(problem.message)",
                note: problem == .missing
                    ? "paths are relative to the folder of \(URL(fileURLWithPath: file).lastPathComponent): is the file there?"
                    : nil)
            return nil
        }
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

    // MARK: - the graph

    /// Reports cycles, each once, named in order from the shot that comes first in the file.
    mutating func checkDependencies(_ shots: [Shot]) {
        let index = Dictionary(shots.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        let edges = shots.map { shot in shot.upstreamIDs.compactMap { index[$0] } }
        for component in StronglyConnected.components(count: shots.count, edges: edges) where component.count > 1 {
            guard let start = component.min() else { continue }
            let members = Set(component)
            let path = StronglyConnected.cycle(from: start, within: members, edges: edges)
            let names = (path + [start]).map { shots[$0].id }.joined(separator: " → ")
            sink.error(shots[start].location, "dependency cycle: \(names)", note: "remove one of these references")
        }
    }
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}

/// The written form of numbers in a project file: decimal only. `0x5`, `0o7`, `inf`, `.nan`,
/// `1_000` and `+5` are not numbers here, in any field.
enum NumberSyntax {
    static func isInteger(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// `-1`, `0.5`, `.5`, `5.`, `1e-3`: digits, at most one point, an optional exponent.
    static func isDecimal(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" { rest = rest.dropFirst() }
        var mantissa = rest
        if let e = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = rest[..<e]
            var exponent = rest[rest.index(after: e)...]
            if exponent.first == "-" || exponent.first == "+" { exponent = exponent.dropFirst() }
            guard !exponent.isEmpty, exponent.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.contains(where: { !$0.isEmpty }) else { return false }
        return parts.allSatisfy { $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }
    }
}
