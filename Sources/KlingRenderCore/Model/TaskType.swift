/// A field of a shot that becomes part of the API request.
///
/// `wireName` is the one place where a file field is mapped to the API's JSON field:
/// correcting a guessed name (the end frame's, say) is a one-line change here.
package enum ShotField: String, CaseIterable, Sendable, Codable, Comparable {
    case prompt
    case duration
    case aspectRatio = "aspect_ratio"
    case image
    case endImage = "end_image"
    case video
    case images
    case sound
    case negativePrompt = "negative_prompt"
    case cfgScale = "cfg_scale"
    case keepOriginalSound = "keep_original_sound"

    package enum Kind: Sendable {
        case text, integer, number, boolean, aspectRatio, url, urlList
    }

    /// The name in the project file.
    package var fileName: String { rawValue }

    /// The name on the wire. The seed names only some of these; the rest are our best guess.
    package var wireName: String {
        switch self {
        case .prompt: "prompt"
        case .duration: "duration"
        case .aspectRatio: "aspect_ratio"
        case .image: "image"
        case .endImage: "end_image"
        case .video: "video"
        case .images: "images"
        case .sound: "sound"
        case .negativePrompt: "negative_prompt"
        case .cfgScale: "cfg_scale"
        case .keepOriginalSound: "keep_original_sound"
        }
    }

    package var kind: Kind {
        switch self {
        case .prompt, .negativePrompt: .text
        case .duration: .integer
        case .cfgScale: .number
        case .sound, .keepOriginalSound: .boolean
        case .aspectRatio: .aspectRatio
        case .image, .endImage, .video: .url
        case .images: .urlList
        }
    }

    package static func < (a: ShotField, b: ShotField) -> Bool { a.rawValue < b.rawValue }

    package static func named(_ name: String) -> ShotField? { ShotField(rawValue: name) }
}

/// The API's limits, from SPEC §1, used by validation and shown in messages.
package enum APILimits {
    package static let durations = 3...15
    package static let defaultDuration = 5
    package static let aspectRatios = ["16:9", "9:16", "1:1"]
    package static let defaultAspectRatio = "16:9"
    package static let promptLength = 2000
    package static let maxReferenceImages = 7
    package static let cfgScale = 0.0...1.0
}

/// One of the twelve task types: what it takes, what it needs, what it costs.
///
/// Everything the tool knows about a type is in `TaskType.all`; validation, planning,
/// pricing and the schema read it from there.
package struct TaskType: Sendable, Hashable {
    package enum Family: String, Sendable { case text, image, reference, edit }
    package enum Model: String, Sendable {
        case kling3 = "Kling 3.0"
        case o3 = "Kling Video O3"
    }
    package enum Price: Sendable, Hashable {
        case perSecond(silent: Int, withSound: Int)
        case fixed(Int)
    }

    package let name: String
    package let family: Family
    package let model: Model
    package let price: Price
    package let required: Set<ShotField>
    package let allowed: Set<ShotField>
    /// How long a render is expected to take: the client's own guess, written apart from the
    /// simulator's timings, so that polling is tested against a mismatch.
    package let renderTime: RenderTime

    package enum RenderTime: Sendable, Hashable {
        /// `base` seconds plus `perSecond` for each second of video.
        case perSecond(base: Double, perSecond: Double)
        /// The same whatever the length (edits follow their source).
        case fixed(Double)
    }

    /// Expected seconds of API time for one render of `videoSeconds` (default 5).
    package func expectedRenderSeconds(videoSeconds: Int?) -> Double {
        switch renderTime {
        case .fixed(let seconds): seconds
        case .perSecond(let base, let perSecond): base + perSecond * Double(videoSeconds ?? APILimits.defaultDuration)
        }
    }

    /// Edits take no duration: their length follows the source video.
    package var takesDuration: Bool { allowed.contains(.duration) }

    package func takes(_ field: ShotField) -> Bool { allowed.contains(field) }

    /// Credits for a render of `seconds` (ignored for fixed prices), with or without sound.
    package func credits(seconds: Int, sound: Bool) -> Int {
        switch price {
        case .fixed(let credits): credits
        case .perSecond(let silent, let withSound): seconds * (sound ? withSound : silent)
        }
    }

    package static func named(_ name: String) -> TaskType? { byName[name] }

    private static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The price table and rules, in one place (SPEC §1).
    package static let all: [TaskType] = {
        let generation: Set<ShotField> = [.prompt, .duration, .aspectRatio, .sound, .negativePrompt]
        let kling3 = generation.union([.cfgScale])
        func type(
            _ name: String, _ family: Family, _ model: Model, _ price: Price, _ renderTime: RenderTime
        ) -> TaskType {
            var allowed = model == .kling3 ? kling3 : generation
            var required: Set<ShotField> = [.prompt]
            switch family {
            case .text: break
            case .image:
                allowed.formUnion([.image, .endImage])
                required.insert(.image)
            case .reference:
                allowed.formUnion([.images, .video])
            case .edit:
                allowed = [.prompt, .video, .keepOriginalSound, .negativePrompt]
                required.insert(.video)
            }
            return TaskType(
                name: name, family: family, model: model, price: price, required: required, allowed: allowed,
                renderTime: renderTime)
        }
        let pro = RenderTime.perSecond(base: 110, perSecond: 25)
        let o3Pro = RenderTime.perSecond(base: 140, perSecond: 25)
        let standard = RenderTime.perSecond(base: 70, perSecond: 15)
        return [
            type("pro-text-to-video", .text, .kling3, .perSecond(silent: 54, withSound: 80), pro),
            type("pro-image-to-video", .image, .kling3, .perSecond(silent: 54, withSound: 80), pro),
            type("std-text-to-video", .text, .kling3, .perSecond(silent: 40, withSound: 60), standard),
            type("std-image-to-video", .image, .kling3, .perSecond(silent: 40, withSound: 60), standard),
            type("o3-pro-text-to-video", .text, .o3, .perSecond(silent: 48, withSound: 48), o3Pro),
            type("o3-pro-image-to-video", .image, .o3, .perSecond(silent: 48, withSound: 48), o3Pro),
            type("o3-pro-reference-to-video", .reference, .o3, .perSecond(silent: 72, withSound: 72), o3Pro),
            type("o3-pro-video-edit", .edit, .o3, .fixed(435), .fixed(170)),
            type("o3-std-text-to-video", .text, .o3, .perSecond(silent: 36, withSound: 36), standard),
            type("o3-std-image-to-video", .image, .o3, .perSecond(silent: 36, withSound: 36), standard),
            type("o3-std-reference-to-video", .reference, .o3, .perSecond(silent: 20, withSound: 20), standard),
            type("o3-std-video-edit", .edit, .o3, .fixed(360), .fixed(120)),
        ]
    }()
}
