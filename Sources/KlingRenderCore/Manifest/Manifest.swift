import Foundation

/// What has been rendered: `FILE.manifest.json` beside `FILE.yaml`, committed with it.
///
/// Deterministic for version control: keys sorted, no timestamps, nothing that changes when
/// nothing was rendered. Never holds the API key. Its schema is `schema/manifest.schema.json`.
package struct Manifest: Codable, Sendable, Equatable {
    package static let currentVersion = 1

    package var version: Int = Manifest.currentVersion
    package var project: String
    /// The API base URL renders came from, so that a simulated render is never taken for a real one.
    package var endpoint: String
    package var simulated: Bool
    package var shots: [String: ManifestShot]
    package var totals: Totals
    /// Files hosted in the asset store, by path relative to the project file's folder. Absent
    /// when there are none, so a manifest without assets keeps its shape.
    package var assets: [String: ManifestAsset]?
    /// The film last assembled from the shots (`cut:`); absent when there is none.
    package var cut: ManifestCut?
    /// Every task this project has paid for, by task id, with its credits: renders since
    /// superseded and takes included, so that `budget:` caps what the project spent. Absent in a
    /// manifest with none (and in one from before the ledger, which starts it from its shots).
    package var ledger: [String: LedgerEntry]?
    /// The last draft of the cut (`NAME.draft.mp4`): kept apart from the film's record.
    package var draftCut: ManifestCut?

    enum CodingKeys: String, CodingKey {
        case version, project, endpoint, simulated, shots, totals, assets, cut, ledger
        case draftCut = "draft_cut"
    }

    package struct Totals: Codable, Sendable, Equatable {
        package var shots: Int
        package var succeeded: Int
        package var estimatedCredits: Int
        package var consumedCredits: Int

        enum CodingKeys: String, CodingKey {
            case shots, succeeded
            case estimatedCredits = "estimated_credits"
            case consumedCredits = "consumed_credits"
        }
    }

    package init(project: String, endpoint: String, simulated: Bool, shots: [String: ManifestShot] = [:]) {
        self.project = project
        self.endpoint = endpoint
        self.simulated = simulated
        self.shots = shots
        self.totals = Totals(shots: 0, succeeded: 0, estimatedCredits: 0, consumedCredits: 0)
        recomputeTotals()
    }

    /// Shots count once however many takes they have; a shot has succeeded when each of its
    /// recorded takes has.
    package mutating func recomputeTotals() {
        var succeeded: [String: Bool] = [:]
        for (key, entry) in shots {
            let id = Take.parse(key)?.id ?? key
            succeeded[id] = (succeeded[id] ?? true) && entry.status == .succeeded
        }
        totals = Totals(
            shots: succeeded.count,
            succeeded: succeeded.values.filter { $0 }.count,
            estimatedCredits: shots.values.reduce(0) { $0.addingSaturated($1.estimatedCredits) },
            consumedCredits: shots.values.reduce(0) { $0.addingSaturated($1.consumedCredits ?? 0) })
        ledger = withPaidTasks()
    }

    /// The ledger with every task the shots record as charged: an entry is added or its credits
    /// updated, never removed.
    private func withPaidTasks() -> [String: LedgerEntry]? {
        var ledger = self.ledger ?? [:]
        for (key, entry) in shots {
            // A task charged and then refunded (credits back to 0) is updated, not kept at its charge.
            guard let task = entry.taskID, let credits = entry.consumedCredits, credits > 0 || ledger[task] != nil
            else { continue }
            ledger[task] = LedgerEntry(shot: key, credits: credits)
        }
        return ledger.isEmpty ? nil : ledger
    }

    /// Credits spent on this project to date: every task it has paid for.
    package var spentCredits: Int {
        (withPaidTasks() ?? [:]).values.reduce(0) { $0.addingSaturated($1.credits) }
    }

    /// The manifest's bytes: pretty, sorted, newline-terminated.
    package func encoded() throws -> Data {
        var data = try CanonicalJSON.data(self, pretty: true)
        data.append(0x0A)
        return data
    }

    package static func decode(_ data: Data) throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: data)
    }
}

/// A task the project paid for.
package struct LedgerEntry: Codable, Sendable, Equatable {
    /// The shot or take it rendered (`sunrise.take2`).
    package var shot: String
    /// What the API said it charged.
    package var credits: Int

    package init(shot: String, credits: Int) {
        self.shot = shot
        self.credits = credits
    }
}

/// Where a shot's render stands.
package enum ShotStatus: String, Codable, Sendable {
    /// The intent to submit is recorded; the API's answer is not (yet). After a crash: uncertain.
    case submitting
    /// A task id is known and the task has not finished.
    case running
    case succeeded
    case failed
    /// The request went out and its answer was lost: a task may exist, and may be charged.
    case uncertain
}

extension Manifest {
    /// A frame taken before, still on disk with its recorded size, of an upstream video that has
    /// not changed: hosted again as it is, with no ffmpeg run. (Its hash is checked before upload.)
    package func reusableFrame(_ path: String, upstreamUnchanged: Bool, root: ProjectFolder) -> ManifestAsset? {
        guard upstreamUnchanged, let asset = assets?[path], case .file(let size) = root.entry(path), size == asset.bytes
        else { return nil }
        return asset
    }
}

/// The film as assembled: what it stands for, and its file.
package struct ManifestCut: Codable, Sendable, Equatable {
    /// Over the cut as written and the SHA-256 of every clip's file (`Cut.fingerprint`).
    package var fingerprint: String
    package var file: ManifestFile
    /// Its length, as ffprobe reads it.
    package var seconds: Double
    /// What the fingerprint was taken over (`Cut.spec`): the next plan names what changed.
    package var spec: JSONValue?
    /// The segments the film was joined from (under `OUTPUT/.segments/`): name → SHA-256. Only
    /// these are used again, and only with these bytes.
    package var segments: [String: String]?
    /// What ffprobe read of each clip's file at the assembly, by the file's SHA-256: a re-cut
    /// probes only files it has not seen (and uses these only when in range).
    package var probes: [String: ManifestProbe]?

    package init(fingerprint: String, file: ManifestFile, seconds: Double, spec: JSONValue? = nil) {
        self.fingerprint = fingerprint
        self.file = file
        self.seconds = seconds
        self.spec = spec
    }
}

/// What ffprobe read of a clip's file.
package struct ManifestProbe: Codable, Sendable, Equatable {
    package var seconds: Double
    package var width: Int
    package var height: Int
    package var fps: Double
    package var audio: Bool

    package init(_ probe: MediaProbe) {
        (seconds, width, height, fps, audio) = (probe.seconds, probe.width, probe.height, probe.fps, probe.hasAudio)
    }

    package var probe: MediaProbe {
        MediaProbe(seconds: seconds, width: width, height: height, fps: fps, hasAudio: audio)
    }
}

/// A file uploaded to the asset store. No URL: a presigned URL is a week of read access, made
/// afresh whenever a request needs one, and never written down.
package struct ManifestAsset: Codable, Sendable, Equatable {
    package var sha256: String
    package var bytes: Int64
    /// `s3://bucket/prefix/`
    package var store: String
    /// The object's key: `PREFIX/SHA256.EXT`.
    package var key: String
    /// Seconds a URL to it lasts before it must be signed again; nil for a public URL.
    package var urlLifetime: Int?

    enum CodingKeys: String, CodingKey {
        case sha256, bytes, store, key
        case urlLifetime = "url_lifetime"
    }

    package init(sha256: String, bytes: Int64, store: String, key: String, urlLifetime: Int?) {
        self.sha256 = sha256
        self.bytes = bytes
        self.store = store
        self.key = key
        self.urlLifetime = urlLifetime
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(store, forKey: .store)
        try c.encode(key, forKey: .key)
        try c.encode(urlLifetime, forKey: .urlLifetime)
    }
}

package struct ManifestShot: Codable, Sendable, Equatable {
    package var type: String
    /// The fingerprint this render stands for (after `accept`, the accepted one).
    package var fingerprint: String
    /// The request as actually sent, upstream outputs resolved to URLs.
    package var request: [String: JSONValue]
    /// Request fields fed by another shot's output: wire field → shot id.
    package var inputs: [String: String]
    package var status: ShotStatus
    package var taskID: String?
    package var estimatedCredits: Int
    package var consumedCredits: Int?
    package var urls: [String]
    package var files: [ManifestFile]
    package var error: String?
    /// Media fields as the project file wrote them, where the request sent something else
    /// (a local file's content, another shot's output or frame): what the plan compares.
    package var sources: [String: JSONValue]?
    /// When the video URLs were received (ISO 8601, UTC): how old they are against `outputs_lifetime`.
    package var urlsReceived: String?
    /// The take of each upstream shot this render took in, where it was not take 1: how the plan
    /// words a new pick ("uses take 2 of sunrise").
    package var picks: [String: Int]?
    /// The id this take's task was given before it was sent (`external_task_id`, official API):
    /// how a lost answer is found again.
    package var externalTaskID: String?

    enum CodingKeys: String, CodingKey {
        case type, fingerprint, request, inputs, status, urls, files, error, sources, picks
        case externalTaskID = "external_task_id"
        case urlsReceived = "urls_received"
        case taskID = "task_id"
        case estimatedCredits = "estimated_credits"
        case consumedCredits = "consumed_credits"
    }

    package init(
        type: String, fingerprint: String, request: [String: JSONValue], inputs: [String: String],
        status: ShotStatus, taskID: String? = nil, estimatedCredits: Int, consumedCredits: Int? = nil,
        urls: [String] = [], files: [ManifestFile] = [], error: String? = nil
    ) {
        self.type = type
        self.fingerprint = fingerprint
        self.request = request
        self.inputs = inputs
        self.status = status
        self.taskID = taskID
        self.estimatedCredits = estimatedCredits
        self.consumedCredits = consumedCredits
        self.urls = urls
        self.files = files
        self.error = error
    }

    // Optional fields are written as null, so every entry has the same shape.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(request, forKey: .request)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(status, forKey: .status)
        try c.encode(taskID, forKey: .taskID)
        try c.encode(estimatedCredits, forKey: .estimatedCredits)
        try c.encode(consumedCredits, forKey: .consumedCredits)
        try c.encode(urls, forKey: .urls)
        try c.encode(files, forKey: .files)
        // The one text from outside kept here (a server's words): past the registry of secrets.
        try c.encode(error.map(Secrets.shared.redact), forKey: .error)
        try c.encodeIfPresent(sources, forKey: .sources)
        try c.encodeIfPresent(urlsReceived, forKey: .urlsReceived)
        try c.encodeIfPresent(picks, forKey: .picks)
        try c.encodeIfPresent(externalTaskID, forKey: .externalTaskID)
    }
}

package struct ManifestFile: Codable, Sendable, Equatable {
    /// Relative to the project file's folder.
    package var path: String
    package var bytes: Int64
    package var sha256: String

    package init(path: String, bytes: Int64, sha256: String) {
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }
}

extension ManifestFile {
    /// How a recorded file stands on disk.
    package enum Check: Sendable, Equatable {
        case ok
        case missing
        /// Present with another size than recorded.
        case size(Int64)
        /// The recorded size, other bytes (only looked for with `verify`).
        case hash
        /// Not a regular file (a link, a folder…): never read, never taken for a render.
        case notAFile(ProjectFolder.Kind)
        /// The manifest names a path that is not where kling-render keeps this video: never looked at.
        case misplaced(expected: String)
    }

    /// Checks the file's size, and with `verify` its SHA-256, against what the manifest recorded.
    /// `expected` is where the tool keeps this video: a manifest naming any other path (`../x`,
    /// another shot's file) is data not to be trusted, and the file there is not even looked at.
    package func check(in paths: ProjectPaths, expected: String, verify: Bool) -> Check {
        guard path == expected else { return .misplaced(expected: expected) }
        switch paths.root.entry(path) {
        case .missing, .refused: return .missing
        case .other(let kind): return .notAFile(kind)
        case .file(let size):
            if size != bytes { return .size(size) }
            if verify, (try? paths.root.sha256(path)) != sha256 { return .hash }
            return .ok
        }
    }
}

/// Where a project's manifest and renders live: real and simulated renders apart. Every path
/// here is relative to `root`, the project file's folder, through which every file is touched.
package struct ProjectPaths: Sendable {
    package var root: ProjectFolder
    /// The project file's folder.
    package var folder: URL
    package var manifest: URL
    /// The manifest's name in `root`.
    package var manifestName: String
    package var output: URL
    /// The output folder relative to `root`, normalized: "" when it is the project's folder itself.
    package var outputPath: String

    package init(projectFile: String, output: String, simulated: Bool) {
        let file = URL(fileURLWithPath: projectFile)
        folder = file.deletingLastPathComponent()
        root = ProjectFolder(folder)
        var stem = file.lastPathComponent
        for ext in [".yaml", ".yml"] where stem.hasSuffix(ext) { stem.removeLast(ext.count) }
        manifestName = stem + (simulated ? ".sim.manifest.json" : ".manifest.json")
        manifest = folder.appendingPathComponent(manifestName)
        // The loader refuses an output that leaves the folder; a saved plan's never reaches here.
        let normalized = (try? ProjectFolder.normalize(output)) ?? "renders"
        outputPath = simulated ? Self.simulatedOutput(normalized) : normalized
        self.output = outputPath.isEmpty ? folder : folder.appendingPathComponent(outputPath)
    }

    /// `renders` → `renders-sim`; the project's own folder (`output: .`) → `sim`.
    static func simulatedOutput(_ output: String) -> String {
        output.isEmpty ? "sim" : output + "-sim"
    }

    /// Where shot `id`'s `n`-th video goes: `ID.mp4`, then `ID.2.mp4`… Shot ids hold no `.`, so
    /// no name of one shot can be the name of another's (`a-2` is a shot id; `a.2` is not).
    package func videoPath(shot id: String, number: Int) -> String {
        inOutput(number == 1 ? "\(id).mp4" : "\(id).\(number).mp4")
    }

    /// Where a frame of shot `id`'s video goes: `ID.last.png`, `ID.first.png`.
    package func framePath(shot id: String, edge: FrameEdge) -> String {
        inOutput("\(id).\(edge.rawValue).png")
    }

    /// `name` (a file or folder, or a path below) in the output folder, relative to `root`.
    package func inOutput(_ name: String) -> String {
        outputPath.isEmpty ? name : outputPath + "/" + name
    }

    /// A file beside the project file, named as the user named the project file (`examples/x.manifest.json`).
    package func display(_ url: URL, beside projectFile: String) -> String {
        guard let slash = projectFile.lastIndex(of: "/") else { return url.lastPathComponent }
        return String(projectFile[...slash]) + url.lastPathComponent
    }

    package func absolute(_ relative: String) -> URL {
        root.url(relative)
    }
}

extension Int {
    /// A sum that stops at `Int.max` instead of trapping: totals of numbers read from outside.
    package func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
