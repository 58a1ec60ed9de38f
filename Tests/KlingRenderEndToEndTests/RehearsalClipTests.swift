import Foundation
import Testing

/// What `apply --simulate` renders looks like the film would: an image-to-video clip opens on
/// its image and ends on its `end_image`, so that a continuity chain can be checked by eye; a
/// reference clip carries its images; `sound: true` is heard. Checked with ffmpeg's own PSNR.
@Suite("A rehearsal that looks like the film", .serialized)
struct RehearsalClipTests {
    static let film = """
        version: 1
        name: Chain
        shots:
          open:
            type: std-image-to-video
            prompt: the harbour at dawn, boats leaving
            image: boards/start.png
            end_image: boards/end.png
            duration: 5
            sound: true
          next:
            type: std-image-to-video
            prompt: the boats reach open water
            image: ${shots.open.last_frame}
            duration: 5
            sound: false
          cast:
            type: o3-std-reference-to-video
            prompt: the captain on deck
            images: [boards/captain.png]
            duration: 5

        """

    /// PSNR in dB (all planes) of `video`'s frame (`-sseof` from the end when `fromEnd`) against
    /// an image scaled to `size`, after `crop` of the frame when given.
    static func psnr(
        _ video: String, at: Double, fromEnd: Bool = false, _ image: String, size: String, crop: String? = nil
    ) async throws -> Double {
        let seek = fromEnd ? ["-sseof", String(-at)] : ["-ss", String(at)]
        let frame = (crop.map { "crop=\($0)," } ?? "") + "format=yuv420p"
        let result = try await CLI.runProgram(
            "/usr/bin/env",
            ["ffmpeg", "-v", "info", "-nostats"] + seek + [
                "-i", video, "-i", image, "-frames:v", "1", "-filter_complex",
                "[1:v]scale=\(size),setsar=1,format=yuv420p[ref];[0:v]\(frame)[clip];[clip][ref]psnr", "-f", "null",
                "-",
            ])
        let average = result.stderr.components(separatedBy: "average:").last?.split(separator: " ").first
        return try #require(average.flatMap { Double($0) }, "\(result.stderr)")
    }

    @Test(
        "image-to-video opens on its image and ends on its end_image; the next shot opens on that last frame; a reference clip shows its image; sound: true has an audio stream"
    )
    func looksLikeTheFilm() async throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(
            at: scratch.url.appendingPathComponent("boards"), withIntermediateDirectories: true)
        // Three pictures unlike each other and unlike the simulator's test pattern.
        for (name, source) in [
            ("start", "mandelbrot=size=1280x720"), ("end", "smptehdbars=size=1280x720"),
            ("captain", "life=size=320x320:mold=10:ratio=0.5:seed=3"),
        ] {
            let made = try await CLI.runProgram(
                "/usr/bin/env",
                [
                    "ffmpeg", "-v", "error", "-f", "lavfi", "-i", source, "-frames:v", "1",
                    scratch.path("boards/\(name).png"),
                ]
            )
            #expect(made.status == 0, "\(made.stderr)")
        }
        try scratch.write("film.yaml", Self.film)
        let applied = try await CLI.run(["apply", "film.yaml", "--simulate", "--yes"], in: scratch.url)
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        let folder = "renders-sim/"
        let (open, next, cast) = (
            scratch.path(folder + "open.mp4"), scratch.path(folder + "next.mp4"), scratch.path(folder + "cast.mp4")
        )
        #expect(try await Self.psnr(open, at: 0, scratch.path("boards/start.png"), size: "640:360") >= 25)
        #expect(
            try await Self.psnr(open, at: 0.05, fromEnd: true, scratch.path("boards/end.png"), size: "640:360") >= 25)
        #expect(try await Self.psnr(open, at: 0, scratch.path("boards/end.png"), size: "640:360") < 20, "two pictures")
        let frame = scratch.path(folder + "open.last.png")
        #expect(try await Self.psnr(next, at: 0, frame, size: "640:360") >= 25, "the chain continues")
        // The reference image, a fifth of the frame's height, 10 px in from the top left corner.
        #expect(
            try await Self.psnr(cast, at: 2, scratch.path("boards/captain.png"), size: "72:72", crop: "72:72:10:10")
                >= 25)
        let streams = try await CutCommandTests.streams(open)
        #expect(streams["audio"] != nil, "sound: true is heard")
        #expect(try await CutCommandTests.streams(next)["audio"] == nil, "sound: false is not")
    }
}
