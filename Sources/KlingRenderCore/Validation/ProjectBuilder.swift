import Foundation

/// Reads composed YAML into a `Project`, checking every offline rule of SPEC §1–§2.
///
/// It never stops at the first problem: every one is collected in `sink`, so the user fixes
/// their file in one pass.
struct ProjectBuilder {
    static let topLevelKeys = [
        "version", "name", "output", "budget", "parallelism", "defaults", "vars", "shots", "assets", "outputs_lifetime",
        "cut", "state", "provider",
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
    /// The local files the project names, checked in a pass of their own once it is read.
    var fileChecks: [FileCheck] = []
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
            budget: settings.budget, parallelism: settings.parallelism, shots: shots, inputFiles: [:])
        if let node = top["assets"] { project.assets = readAssets(node) }
        if let node = top["provider"], let text = plainText(node, field: "provider") {
            if let provider = Provider(rawValue: text) {
                project.provider = provider
                project.outputsLifetime = provider.outputsLifetime
            } else {
                sink.error(
                    node.location,
                    "`provider` must be `kling3api` (the gateway, the default) or `kling` (the official API)",
                    note: Suggestion.note(for: text, in: Provider.allCases.map(\.rawValue)))
            }
        }
        if let node = top["outputs_lifetime"], let seconds = timeSpan(node, field: "outputs_lifetime") {
            project.outputsLifetime = seconds
            project.outputsLifetimeWritten = true
        }
        if let node = top["cut"] {
            // The lengths the file writes, of every shot, valid or not: a trim past the end of a
            // shot with an error of its own is still reported in the same run.
            var lengths: [String: Double] = [:]
            for (id, node) in shotNodes {
                if case .mapping(let m) = node, case .scalar(let s)? = m["duration"], let v = Int(s.text) {
                    lengths[id.text] = Double(v)
                }
            }
            for shot in shots { lengths[shot.id] = shot.seconds.map(Double.init) }
            project.cut = readCut(node, shots: shots, ids: ids, lengths: lengths, name: settings.name)
        }
        if let node = top["state"] { project.state = readState(node) }
        if project.provider == .kling { checkOfficialAPI(project.shots, defaults: defaults.mapValues(\.location)) }
        checkFiles(into: &project)
        return project
    }

    /// What the official API does not take, where the gateway does (its Omni endpoint, which the
    /// O3 types go to, documents no `negative_prompt`; sound only off when a video is given; at
    /// most 4 reference images beside a video). Each is an error where it is written.
    /// What `defaults:` asks of every shot and the endpoint cannot do is left out with a warning.
    mutating func checkOfficialAPI(_ shots: [Shot], defaults: [String: SourceLocation]) {
        let because = "with `provider: kling`"
        for shot in shots where shot.type.model == .o3 {
            let at = { (field: ShotField) in shot.locations[field] ?? shot.location }
            let defaulted = { (field: ShotField) in
                shot.locations[field] != nil && shot.locations[field] == defaults[field.fileName]
            }
            if shot.values[.negativePrompt] != nil, defaulted(.negativePrompt) {
                sink.warning(
                    shot.location,
                    "shot `\(shot.id)` is sent without `negative_prompt`: `defaults` gives one, and the Omni endpoint takes none \(because)"
                )
            } else if shot.values[.negativePrompt] != nil {
                sink.error(
                    at(.negativePrompt),
                    "`negative_prompt` is not taken by the official API's Omni endpoint (\(shot.type.name)) \(because)",
                    note: "say what to avoid in `prompt`, or render this shot with `provider: kling3api`")
            }
            let hasVideo = shot.values[.video] != nil
            if hasVideo, case .boolean(true) = shot.values[.sound], defaulted(.sound) {
                // Asked of every shot in `defaults:`: off where the endpoint cannot, and said so.
                sink.warning(
                    shot.location,
                    "shot `\(shot.id)` renders without sound: `defaults` asks for it, and the Omni endpoint makes none beside a `video` \(because)"
                )
            } else if hasVideo, case .boolean(true) = shot.values[.sound] {
                sink.error(
                    at(.sound),
                    "`sound: true` with a `video`: the Omni endpoint makes sound only without one \(because)",
                    note: "leave `sound` out (off) or set `sound: false`")
            }
            if hasVideo, case .inputs(let images)? = shot.values[.images], images.count > 4 {
                sink.error(
                    at(.images),
                    "`images` holds \(images.count) images; beside a `video` the Omni endpoint takes at most 4 \(because)"
                )
            }
        }
    }

    /// `state: postgres://HOST:PORT/DATABASE?schema=NAME`, with no password: the file is committed.
    mutating func readState(_ node: YAMLNode) -> StateURL? {
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

    mutating func checkTopLevelKeys(_ top: YAMLMapping) {
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

    mutating func readSettings(_ top: YAMLMapping) -> Settings {
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
    mutating func readShotNodes(_ top: YAMLMapping) -> [(id: YAMLScalar, node: YAMLNode)] {
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
