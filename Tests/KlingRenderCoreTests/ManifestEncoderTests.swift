import Foundation
import KlingRenderCore
import Testing

@Suite("Writing the manifest, entry by entry")
struct ManifestEncoderTests {
    /// Keys and values that try the encoder's escaping and ordering: accents written two ways,
    /// quotes, backslashes, control characters, slashes, emoji, empty objects and arrays.
    static func manifest(_ round: Int) -> Manifest {
        var manifest = Manifest(project: "film \"à\"", endpoint: "https://api.example/v1", simulated: false)
        let keys = [
            "sunrise", "sunrise.take2", "caf\u{E9}", "e\u{301}x", "f", "a\"b", "back\\slash", "tab\there", "z/y",
            "🎬", "line\nbreak", "\u{1}",
        ]
        for (n, key) in keys.enumerated() {
            var entry = ManifestShot(
                type: "std-text-to-video", fingerprint: String(repeating: "\(n % 10)", count: 64),
                request: [
                    "prompt": .string("shot \(n), \"quoted\" \\ / é \u{7}"), "duration": .int(5 + n % 3),
                    "sound": .bool(n % 2 == 0), "cfg_scale": .double(0.5), "images": .array([]),
                ],
                inputs: n % 3 == 0 ? [:] : ["video": "${shots.sunrise.video}"],
                status: n % 4 == 0 ? .running : .succeeded, taskID: n % 5 == 0 ? nil : "n75task\(n)-\(round)",
                estimatedCredits: 300 + n, urls: n % 2 == 0 ? [] : ["https://cdn.example/\(n).mp4"],
                files: n % 3 == 1 ? [ManifestFile(path: "renders/\(n).mp4", bytes: Int64(n) << 20, sha256: "ab")] : [])
            entry.sources = n % 4 == 1 ? ["image": .string("boards/\(n).png")] : nil
            entry.picks = n % 6 == 2 ? ["sunrise": 2] : nil
            manifest.shots[key] = entry
        }
        manifest.assets = [
            "boards/a.png": ManifestAsset(sha256: "cd", bytes: 12, store: "s3://b", key: "k", urlLifetime: nil)
        ]
        manifest.cut = ManifestCut(
            fingerprint: "ef", file: ManifestFile(path: "renders/film.mp4", bytes: 1, sha256: "01"), seconds: 12.5)
        manifest.recomputeTotals()
        return manifest
    }

    @Test("the same bytes as encoding the whole manifest, write after write, as entries change, come and go")
    func sameBytes() throws {
        let encoder = ManifestEncoder()
        var manifest = Self.manifest(0)
        #expect(try encoder.encode(manifest) == manifest.encoded())
        #expect(encoder.entriesEncoded == manifest.shots.count)
        manifest.shots["sunrise"]?.urls = ["https://cdn.example/sunrise.mp4"]
        #expect(try encoder.encode(manifest) == manifest.encoded())
        #expect(encoder.entriesEncoded == manifest.shots.count + 1, "only the entry that changed is encoded again")
        manifest.shots["sunrise"]?.status = .failed
        manifest.shots["sunrise"]?.error = "the task failed: \"no\""
        manifest.shots["new"] = Self.manifest(1).shots["z/y"]
        manifest.shots["tab\there"] = nil
        manifest.recomputeTotals()
        #expect(try encoder.encode(manifest) == manifest.encoded())
        manifest.shots["new"]?.urls = ["https://cdn.example/new.mp4"]
        manifest.assets = nil
        manifest.cut = nil
        manifest.recomputeTotals()
        #expect(try encoder.encode(manifest) == manifest.encoded())
        manifest.shots = [:]
        manifest.recomputeTotals()
        #expect(try encoder.encode(manifest) == manifest.encoded())
        let back = try Manifest.decode(encoder.encode(Self.manifest(2)))
        #expect(back == Self.manifest(2))
    }
}
