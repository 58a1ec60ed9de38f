/// A project file, loaded and checked: the storyboard.
package struct Project: Sendable {
    /// The path as the user named it, for messages.
    package var file: String
    package var version: Int
    package var name: String
    /// The download folder, relative to the project file.
    package var output: String
    package var budget: Int?
    package var parallelism: Int?
    /// In file order: storyboard order, and the tie-break of the plan.
    package var shots: [Shot] { didSet { index = Self.index(shots) } }
    /// Each shot's place in `shots`, by id: `shot(_:)` in constant time.
    private var index: [String: Int]
    /// The local files shots take as inputs, checked and hashed, by path as written.
    package var inputFiles: [String: InputFile] = [:]
    /// The asset store, when the project names one.
    package var assets: AssetSettings?
    /// How long the API's own video URLs are trusted after a render (`outputs_lifetime`, default 24h).
    package var outputsLifetime: Int = Project.defaultOutputsLifetime
    /// The film assembled from the shots (`cut:`), when the project has one.
    package var cut: Cut?
    /// Where the manifest is shared (`state:`); nil: the file beside the project.
    package var state: StateURL?
    /// The API it renders with (`provider:`).
    package var provider = Provider.default
    /// Whether `outputs_lifetime` is written in the file (else the provider's default holds).
    package var outputsLifetimeWritten = false

    package static let defaultOutputsLifetime = 86_400

    init(
        file: String, version: Int, name: String, output: String, budget: Int?, parallelism: Int?, shots: [Shot],
        inputFiles: [String: InputFile]
    ) {
        self.file = file
        self.version = version
        self.name = name
        self.output = output
        self.budget = budget
        self.parallelism = parallelism
        self.shots = shots
        self.inputFiles = inputFiles
        index = Self.index(shots)
    }

    private static func index(_ shots: [Shot]) -> [String: Int] {
        Dictionary(shots.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    package func shot(_ id: String) -> Shot? {
        index[id].map { shots[$0] }
    }
}

/// The value of one request field of a shot, after defaults and interpolation.
package enum ShotValue: Sendable, Hashable {
    case text(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    /// `image`, `end_image`, `video`: a URL, a local file, or another shot's output.
    case input(MediaInput)
    /// `images`: each a URL, a local file or another shot's frame.
    case inputs([MediaInput])

    /// The media inputs this value holds.
    package var mediaInputs: [MediaInput] {
        switch self {
        case .input(let i): [i]
        case .inputs(let list): list
        default: []
        }
    }
}

/// Why one shot waits for another.
package struct Dependency: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable, Codable {
        /// The upstream shot's video feeds this field.
        case video
        /// A frame of the upstream shot's video feeds this field (`${shots.ID.last_frame}`).
        case frame
        /// `after:`, ordering without data flow.
        case after
    }

    package var id: String
    package var kind: Kind
    package var field: ShotField?
    package var location: SourceLocation
}

/// One shot: one task of the API.
package struct Shot: Sendable {
    package var id: String
    /// Where the shot's id is written.
    package var location: SourceLocation
    package var type: TaskType
    /// Every request field the shot sends, defaults applied.
    package var values: [ShotField: ShotValue]
    /// Where each value was written (on the shot, or in `defaults`).
    package var locations: [ShotField: SourceLocation]
    /// Wire fields the tool does not know yet, sent verbatim.
    package var extra: [String: JSONValue]
    package var dependencies: [Dependency]
    package var notes: String?
    /// How many renders of the request the file asks for (`takes:`, 1 to 8).
    package var takes = 1
    /// The take the shot's users get (`pick:`): its video, its frames.
    package var pick = 1
    /// Where `pick:` is written, when it is.
    package var pickLocation: SourceLocation?

    /// The video length in seconds, as the API will render it (edits: unknown, priced as fixed).
    package var seconds: Int? {
        guard type.takesDuration else { return nil }
        if case .integer(let d) = values[.duration] { return d }
        return APILimits.defaultDuration
    }

    package var sound: Bool {
        if case .boolean(let b) = values[.sound] { return b }
        return true
    }

    /// Credits the API will charge for this shot, from the price table.
    package var estimatedCredits: Int {
        type.credits(seconds: seconds ?? 0, sound: sound)
    }

    /// Every media input of the shot, field by field in field order.
    package var mediaInputs: [(field: ShotField, input: MediaInput)] {
        values.keys.sorted().flatMap { field in values[field]!.mediaInputs.map { (field, $0) } }
    }

    /// The shots whose output or completion this shot waits for, without repeats, in written order.
    package var upstreamIDs: [String] {
        var seen = Set<String>()
        return dependencies.compactMap { seen.insert($0.id).inserted ? $0.id : nil }
    }
}
