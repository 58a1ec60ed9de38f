import Foundation
import Testing

@testable import KlingRenderCore

/// A PNG's signature and IHDR: what the checks read of an image. `padding` makes it larger.
func pngBytes(width: Int, height: Int, padding: Int = 64, seed: UInt8 = 0) -> Data {
    var d = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
    d += Data("IHDR".utf8)
    for v in [width, height] {
        d += Data([UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)])
    }
    d += Data([8, 2, 0, 0, 0, 0, 0, 0, 0])
    d += Data(repeating: seed, count: padding)
    return d
}

/// A JPEG's start and its SOF0 segment (after an APP0), with the size in it.
func jpegBytes(width: Int, height: Int) -> Data {
    var d = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + Data("JFIF".utf8) + Data(repeating: 0, count: 10)
    d += Data([
        0xFF, 0xC0, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF),
    ])
    d += Data(repeating: 0, count: 12)
    return d
}

/// A project folder on disk with files beside the project file.
/// It sits in a folder of its own, so that `../x` is a file outside the project and inside the test's.
final class ProjectOnDisk {
    let base: URL
    let url: URL

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("kling-inputs-\(UUID().uuidString)")
        url = base.appendingPathComponent("project")
        try FileManager.default.createDirectory(
            at: url.appendingPathComponent("boards"), withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: base) }

    func write(_ name: String, _ data: Data) throws {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
    }

    func load(_ yaml: String) throws -> LoadResult {
        try write("film.yaml", Data(yaml.utf8))
        return ProjectLoader().load(path: url.appendingPathComponent("film.yaml").path)
    }
}

@Suite("Local files as inputs: checked where they are written, fingerprinted by content")
struct InputFileTests {
    static func project(_ image: String, field: String = "image", type: String = "pro-image-to-video") -> String {
        """
        version: 1
        shots:
          a:
            type: \(type)
            prompt: hello
            \(field): \(image)
        """
    }

    @Test("a good PNG, JPEG and WebP are taken, with their hash and size")
    func goodImages() throws {
        let disk = try ProjectOnDisk()
        try disk.write("boards/a.png", pngBytes(width: 1280, height: 720))
        try disk.write("boards/b.jpg", jpegBytes(width: 800, height: 800))
        var webp = Data("RIFF".utf8) + Data([0, 0, 0, 0]) + Data("WEBPVP8X".utf8) + Data(repeating: 0, count: 8)
        webp += Data([0xFF, 0x02, 0x00, 0x0F, 0x02, 0x00]) + Data(repeating: 0, count: 8)  // 768 × 528
        try disk.write("boards/c.webp", webp)
        for (name, media) in [("boards/a.png", MediaType.png), ("boards/b.jpg", .jpeg), ("boards/c.webp", .webp)] {
            let result = try disk.load(Self.project(name))
            #expect(result.diagnostics.isEmpty, "\(name): \(describe(result.diagnostics))")
            let file = try #require(result.project?.inputFiles[name])
            #expect(file.media == media)
            #expect(result.project?.shots[0].values[.image] == .input(.file(name)))
        }
        let webpFile = try #require(try disk.load(Self.project("boards/c.webp")).project?.inputFiles["boards/c.webp"])
        #expect(webpFile.width == 768 && webpFile.height == 528)
    }

    @Test(
        "each unusable file is a located error naming the field, and nothing loads",
        arguments: [
            ("boards/none.png", "`image` file `boards/none.png` does not exist"),
            (
                "../outside.png",
                "`image` file `../outside.png` is not a plain path inside the project's folder (no `..`)"
            ),
            ("/etc/passwd", "`image` file `/etc/passwd` is an absolute path"),
            ("boards/notes.png", "`image` file `boards/notes.png` is not a PNG, JPEG or WebP image (by its bytes)"),
            ("boards/huge.png", "`image` file `boards/huge.png` is larger than 10 MB"),
            (
                "boards/tiny.png",
                "`image` file `boards/tiny.png` is 200×200 pixels; the API takes images at least 300 px a side"
            ),
            (
                "boards/strip.png",
                "`image` file `boards/strip.png` is 3000×1000 pixels; the API takes aspect ratios from 1:2.5 to 2.5:1"
            ),
            ("boards/link.png", "`image` file `boards/link.png` resolves outside the project's folder"),
            ("boards", "`image` file `boards` is a folder, not a regular file"),
            ("ftp://example.com/a.png", "`image` must be an absolute http(s) URL or a file inside the project"),
        ])
    func badImage(_ path: String, _ message: String) throws {
        let disk = try ProjectOnDisk()
        try disk.write("boards/notes.png", Data("just some notes, not a picture\n".utf8))
        try disk.write("boards/huge.png", pngBytes(width: 4000, height: 3000, padding: 12_000_000))
        try disk.write("boards/tiny.png", pngBytes(width: 200, height: 200))
        try disk.write("boards/strip.png", pngBytes(width: 3000, height: 1000))
        try disk.write("boards/empty.png", Data())
        try disk.write("boards/anim.png", Data("GIF89a".utf8) + Data(repeating: 0, count: 40))
        try disk.write("boards/zero.png", pngBytes(width: 0, height: 0))
        // A collaborator's storyboard must not upload a file from outside the project: by a
        // relative path, or by a link committed inside it.
        let secret = disk.base.appendingPathComponent("outside.png")
        try pngBytes(width: 800, height: 600).write(to: secret)
        try FileManager.default.createSymbolicLink(
            at: disk.url.appendingPathComponent("boards/link.png"), withDestinationURL: secret)
        let result = try disk.load(Self.project(path))
        #expect(result.project == nil)
        let text = describe(result.diagnostics)
        #expect(text.hasPrefix("6:12: error: \(message)"), "\(text)")
    }

    @Test("a video field takes MP4 or MOV by its bytes, not a PNG named .mp4")
    func videoField() throws {
        let disk = try ProjectOnDisk()
        try disk.write("clips/fake.mp4", pngBytes(width: 800, height: 600))
        try disk.write("clips/real.mp4", Data([0, 0, 0, 24]) + Data("ftypisom".utf8) + Data(repeating: 0, count: 32))
        let bad = try disk.load(Self.project("clips/fake.mp4", field: "video", type: "o3-std-video-edit"))
        #expect(
            describe(bad.diagnostics).contains(
                "`video` file `clips/fake.mp4` is not an MP4 or MOV video (its bytes are PNG)"))
        let good = try disk.load(Self.project("clips/real.mp4", field: "video", type: "o3-std-video-edit"))
        #expect(good.diagnostics.isEmpty, "\(describe(good.diagnostics))")
        #expect(good.project?.inputFiles["clips/real.mp4"]?.media == .mp4)
    }

    @Test("a link inside the project to a file inside it is followed")
    func linkInside() throws {
        let disk = try ProjectOnDisk()
        try disk.write("boards/real.png", pngBytes(width: 640, height: 480))
        try FileManager.default.createSymbolicLink(
            atPath: disk.url.appendingPathComponent("boards/alias.png").path, withDestinationPath: "real.png")
        let result = try disk.load(Self.project("boards/alias.png"))
        #expect(result.diagnostics.isEmpty, "\(describe(result.diagnostics))")
        #expect(result.project?.inputFiles["boards/alias.png"]?.resolved == "boards/real.png")
    }

    static func fingerprints(_ disk: ProjectOnDisk, _ yaml: String) throws -> [String: String] {
        let project = try #require(try disk.load(yaml).project)
        let graph = ShotGraph(project)
        return Dictionary(uniqueKeysWithValues: zip(graph.shots.map(\.id), Fingerprint.all(graph)))
    }

    static let pair = """
        version: 1
        shots:
          a:
            type: pro-image-to-video
            prompt: first
            image: boards/hero.png
          b:
            type: pro-image-to-video
            prompt: second
            image: boards/other.png
          c:
            type: o3-std-video-edit
            prompt: edit
            video: ${shots.a.video}
        """

    @Test("renaming a file changes no fingerprint; one changed byte changes its users' and only theirs")
    func contentFingerprint() throws {
        let disk = try ProjectOnDisk()
        try disk.write("boards/hero.png", pngBytes(width: 640, height: 480))
        try disk.write("boards/other.png", pngBytes(width: 640, height: 480, seed: 7))
        let before = try Self.fingerprints(disk, Self.pair)
        try FileManager.default.moveItem(
            at: disk.url.appendingPathComponent("boards/hero.png"),
            to: disk.url.appendingPathComponent("boards/renamed.png"))
        let renamed = try Self.fingerprints(disk, Self.pair.replacingOccurrences(of: "hero.png", with: "renamed.png"))
        #expect(renamed == before)
        try disk.write("boards/renamed.png", pngBytes(width: 640, height: 480, seed: 1))
        let edited = try Self.fingerprints(disk, Self.pair.replacingOccurrences(of: "hero.png", with: "renamed.png"))
        #expect(edited["a"] != before["a"], "the shot that uses the file")
        #expect(edited["c"] != before["c"], "and what uses that shot's video")
        #expect(edited["b"] == before["b"], "but not the shot with another file")
    }

    @Test("a continuity frame is an edge of the graph, allowed only where an image is")
    func frames() throws {
        let ok = load(
            """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: one
              b:
                type: std-image-to-video
                prompt: two
                image: ${shots.a.last_frame}
                end_image: ${shots.a.first_frame}
            """)
        #expect(ok.diagnostics.isEmpty, "\(describe(ok.diagnostics))")
        let b = try #require(ok.project?.shots[1])
        #expect(b.values[.image] == .input(.frame("a", .last)))
        #expect(b.values[.endImage] == .input(.frame("a", .first)))
        #expect(b.dependencies.map(\.kind) == [.frame, .frame])
        #expect(GraphExport.render(ok.project!, format: .dot).contains(#""a" -> "b" [label="image: last_frame""#))
        let bad = load(
            """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: ends on ${shots.b.last_frame}
              b:
                type: std-image-to-video
                prompt: two
                image: ${shots.nope.last_frame}
            """)
        let text = describe(bad.diagnostics)
        #expect(
            text.contains(
                "5:21: error: `${shots.b.last_frame}` is allowed only where an image is expected, not in `prompt`"),
            "\(text)")
        #expect(text.contains("9:12: error: `${shots.nope.last_frame}` names unknown shot `nope`"), "\(text)")
    }

    @Test(
        "the assets block is checked field by field",
        arguments: [
            ("store: my-bucket", "2:10: error: `assets.store` must be `s3://BUCKET/PREFIX/`"),
            (
                "store: s3://Bad_Bucket/",
                "2:10: error: `assets.store` names the bucket `Bad_Bucket`, which is not a bucket name"
            ),
            ("store: s3://films/../x/", "2:10: error: `assets.store`'s prefix may not hold `.` or `..` segments"),
            ("store: s3://films/k/\n  url_lifetime: 8d", "3:17: error: `assets.url_lifetime` is at most 7d"),
            (
                "store: s3://films/k/\n  endpoint: https://key:secret@minio.local",
                "3:13: error: `assets.endpoint` holds a user name or password"
            ),
            ("store: s3://films/k/\n  bukket: x", "3:3: error: unknown field `bukket` in `assets`"),
        ])
    func assetsBlock(_ block: String, _ message: String) {
        let result = load("assets:\n  \(block)\nversion: 1\nshots:\n  a: {type: std-text-to-video, prompt: x}\n")
        #expect(describe(result.diagnostics).hasPrefix(message), "\(describe(result.diagnostics))")
        let good = load(
            "assets:\n  store: s3://films/kling/\n  url_lifetime: 2d\n  public_url: https://cdn.example.com/k\noutputs_lifetime: 12h\nversion: 1\nshots:\n  a: {type: std-text-to-video, prompt: x}\n"
        )
        #expect(good.project?.assets?.bucket == "films" && good.project?.assets?.prefix == "kling")
        #expect(good.project?.assets?.urlLifetime == 2 * 86_400)
        #expect(good.project?.assets?.publicURL == "https://cdn.example.com/k/")
        #expect(good.project?.outputsLifetime == 12 * 3600)
    }
}
