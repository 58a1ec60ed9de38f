import Foundation
import KlingAPI
import KlingRenderCore

/// What every step of a run works through: the API, the clock, the manifest, the outputs known
/// so far, the resource bounds, the options, and where events go. Steps get nothing else.
package struct RunContext: Sendable {
    package var api: any KlingService
    package var clock: any EngineClock
    package var recorder: ManifestRecorder
    package var outputs: OutputStore
    package var limits: ResourceLimits
    package var options: ExecutionOptions
    package var paths: ProjectPaths
    /// The API's base URL as the manifest records it (or "simulator"): where video URLs may point.
    package var endpoint: String
    package var events: @Sendable (ExecutionEvent) -> Void
    /// A number in [0, 1) for back-off jitter; tests fix it to get exact sequences.
    package var random: @Sendable () -> Double
    /// Local files and frames, and their keys in the store once they are there.
    package var assets = AssetBoard()
    /// The project's local input files, by path as written.
    package var inputFiles: [String: InputFile] = [:]
    /// Where assets are hosted; nil when the project has none.
    package var store: AssetHost?
    /// Downloaded renders go to the store as well (`assets.keep_outputs`).
    package var keepOutputs = false
    /// ffmpeg's path, for continuity frames; nil when it is not installed.
    package var ffmpeg: String?
    /// ffprobe's path, for the cut; nil when it is not installed.
    package var ffprobe: String?
    /// Seconds the API's video URLs are trusted after they are received.
    package var outputsLifetime = Project.defaultOutputsLifetime
    /// Wall-clock time, for the age of recorded URLs (not for scheduling: that is `clock`'s).
    package var now: @Sendable () -> Date = { Date() }
    /// Each shot's picked take, by shot id: where `${shots.ID.video}` and its frames come from.
    package var outputKeys: [String: String] = [:]
    /// How many films a cut keeps under `previous/` when it replaces one (`cut.keep`).
    package var keepFilms = 5
    /// A rehearsal tells its simulator each request's shot and take, which it draws on the clip.
    package var labelsRequests = false

    /// Tells the views of one of a kind's events.
    package func emit(_ event: some KindEvent) { events(ExecutionEvent(event)) }

    /// The manifest key of the take that shot `id`'s users get.
    package func outputKey(_ id: String) -> String { outputKeys[id] ?? id }

    /// API seconds per clock second, never zero: what every wait in API time is divided by.
    package var timeScale: Double { max(options.timeScale, 1e-9) }

    /// Sleeps `seconds` of API time, scaled to the clock.
    package func sleep(apiSeconds seconds: Double) async throws {
        try await clock.sleep(seconds: seconds / timeScale)
    }
}

/// The video URLs of each shot known so far: recorded ones at the start, rendered ones as they come.
package actor OutputStore {
    private var urls: [String: [String]]
    /// Shots rendered in this run: their URLs are new, not recorded ones that may have expired.
    private var fresh = Set<String>()

    package init(_ urls: [String: [String]] = [:]) { self.urls = urls }

    package func set(_ id: String, _ list: [String]) {
        urls[id] = list
        fresh.insert(id)
    }

    package func isFresh(_ id: String) -> Bool { fresh.contains(id) }

    package func get(_ id: String) -> [String]? { urls[id] }

    package func first(of ids: some Sequence<String>) -> [String: String] {
        var out: [String: String] = [:]
        for id in ids { if let url = urls[id]?.first { out[id] = url } }
        return out
    }
}
