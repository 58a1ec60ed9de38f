import Foundation
import Testing

@testable import KlingSimulator

/// Just enough of ISO BMFF to read what a player reads first: the movie's length and the
/// video track's size.
struct MP4Header {
    var seconds: Double
    var width: Int
    var height: Int

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        func int(_ at: Int, _ count: Int) -> Int {
            guard at >= 0, at + count <= bytes.count else { return 0 }
            return bytes[at..<at + count].reduce(0) { $0 << 8 | Int($1) }
        }
        /// (type, body start, end) of each box in a range.
        func boxes(_ start: Int, _ end: Int) -> [(String, Int, Int)] {
            var result: [(String, Int, Int)] = []
            var at = start
            while at + 8 <= end {
                var size = int(at, 4)
                var header = 8
                if size == 1 {
                    size = int(at + 8, 8)
                    header = 16
                }
                if size == 0 { size = end - at }
                guard size >= header, at + size <= end else { break }
                result.append((String(decoding: bytes[at + 4..<at + 8], as: UTF8.self), at + header, at + size))
                at += size
            }
            return result
        }
        guard let moov = boxes(0, bytes.count).first(where: { $0.0 == "moov" }),
            let mvhd = boxes(moov.1, moov.2).first(where: { $0.0 == "mvhd" })
        else { return nil }
        let v1 = bytes[mvhd.1] == 1
        let timescale = int(mvhd.1 + (v1 ? 20 : 12), 4)
        let duration = int(mvhd.1 + (v1 ? 24 : 16), v1 ? 8 : 4)
        guard timescale > 0 else { return nil }
        seconds = Double(duration) / Double(timescale)
        var size = (0, 0)
        for trak in boxes(moov.1, moov.2) where trak.0 == "trak" {
            guard let tkhd = boxes(trak.1, trak.2).first(where: { $0.0 == "tkhd" }) else { continue }
            let offset = tkhd.1 + (bytes[tkhd.1] == 1 ? 88 : 76)
            let w = int(offset, 4) >> 16
            let h = int(offset + 4, 4) >> 16
            if w > 0, h > 0 { size = (w, h) }
        }
        (width, height) = size
        guard width > 0 else { return nil }
    }
}

@Suite("The videos the simulator renders")
struct ClipTests {
    @Test(
        "each clip is an MP4 of the requested aspect ratio and length, from ffmpeg (when installed) or the placeholders",
        arguments: [false, true], [("16:9", 5), ("9:16", 7), ("1:1", 3), ("16:9", 15)])
    func requestedShape(ffmpeg: Bool, shape: (aspect: String, seconds: Int)) async throws {
        let (aspect, seconds) = shape
        try await withSimulator({ $0.useFFmpeg = ffmpeg }) { sim in
            let body =
                #"{"type":"std-text-to-video","prompt":"A clip of \#(seconds) seconds","duration":\#(seconds),"aspect_ratio":"\#(aspect)"}"#
            let created = try await send(sim, .POST, "/api/generate", json: body)
            let id = try #require(created.data["task_id"] as? String)
            let done = try await waitForTask(sim, id)
            let url = try #require((done.data["response"] as? [String])?.first)
            let video = try await send(sim, .GET, try #require(URL(string: url)?.path), key: nil)
            let header = try #require(MP4Header(video.body), "an MP4 with a movie header and a video track")
            #expect(abs(header.seconds - Double(seconds)) < 0.5, "\(header.seconds) s")
            let ratio = Double(header.width) / Double(header.height)
            let ratios: [String: Double] = ["16:9": 16.0 / 9, "9:16": 9.0 / 16, "1:1": 1.0]
            let expected = ratios[aspect] ?? 0
            #expect(abs(ratio - expected) < 0.02, "\(header.width)x\(header.height)")
        }
    }

    @Test("with ffmpeg, `sound: true` gives the clip a sound track (a tone) and `sound: false` none")
    func sound() async throws {
        try await withSimulator({ $0.useFFmpeg = true }) { sim in
            for sound in [true, false] {
                let body =
                    #"{"type":"std-text-to-video","prompt":"Dawn, gulls: 5% (a test)","duration":5,"sound":\#(sound)}"#
                let created = try await send(sim, .POST, "/api/generate", json: body)
                let id = try #require(created.data["task_id"] as? String)
                let done = try await waitForTask(sim, id)
                let url = try #require((done.data["response"] as? [String])?.first)
                let video = try await send(sim, .GET, try #require(URL(string: url)?.path), key: nil)
                #expect(MP4Header(video.body) != nil)
                // An MP4 names each track's kind in its handler box: `vide`, `soun`.
                #expect((video.body.range(of: Data("soun".utf8)) != nil) == sound, "sound: \(sound)")
            }
        }
    }

    @Test("a clip's caption: the shot and take a rehearsal names, then the prompt with its punctuation")
    func caption() {
        var task = SimulatorState.SimTask(
            id: "n75abc", key: "k", type: "std-text-to-video", request: [:], credits: 200, duration: 5,
            aspectRatio: "16:9", prompt: "Dawn, gulls: 5% {a test}", createdAt: 0, renderSeconds: 60, fails: false,
            expires: false, label: "wave, take 2")
        #expect(ClipRecipe.caption(task) == "wave, take 2 — Dawn, gulls: 5% {a test}")
        task.label = nil
        #expect(ClipRecipe.caption(task) == "Dawn, gulls: 5% {a test}")
        task.request["sound"] = .bool(true)
        let arguments = ClipRecipe(task: task, inputs: ClipInputs(), caption: nil).arguments(output: "o.mp4")
        #expect(arguments.contains { $0.hasPrefix("sine=frequency=") })
    }

    @Test(
        "an edit's clip is its source video under the caption; image inputs are layered over it; none: the test pattern"
    )
    func layers() {
        let task = SimulatorState.SimTask(
            id: "n71abc", key: "k", type: "o3-std-video-edit", request: [:], credits: 360, duration: 5,
            aspectRatio: "16:9", prompt: "make it snow", createdAt: 0, renderSeconds: 60, fails: false, expires: false)
        var inputs = ClipInputs()
        let plain = ClipRecipe(task: task, inputs: inputs, caption: nil).arguments(output: "o.mp4")
        #expect(plain.contains { $0.hasPrefix("testsrc2=") } && !plain.contains("-stream_loop"))
        inputs.source = "/tmp/clip/source"
        inputs.start = "/tmp/clip/start"
        inputs.references = ["/tmp/clip/reference-0", "/tmp/clip/reference-1"]
        let edit = ClipRecipe(task: task, inputs: inputs, caption: nil).arguments(output: "o.mp4")
        #expect(!edit.contains { $0.hasPrefix("testsrc2=") })
        #expect(edit.firstIndex(of: "/tmp/clip/source") == edit.firstIndex(of: "-stream_loop").map { $0 + 3 })
        let graph = edit[(edit.firstIndex(of: "-filter_complex") ?? 0) + 1]
        #expect(
            graph.components(separatedBy: "overlay=").count - 1 == 3, "two references and the first frame: \(graph)")
        // Every file ffmpeg reads is read with the file protocol only.
        #expect(edit.filter { $0 == "-protocol_whitelist" }.count == 4)
    }

    @Test("an input is fetched only from loopback by address, and only over http or https; other schemes are refused")
    func loopbackOnly() async throws {
        let check = InputCheck(fetchOthers: false, timeout: .seconds(1))
        #expect(check.shouldFetch("http://127.0.0.1:8080/_store/a.png"))
        #expect(check.shouldFetch("http://localhost/a.png") && check.shouldFetch("http://[::1]:9/a.png"))
        #expect(!check.shouldFetch("http://127.0.0.1.attacker.invalid/a.png"), "a name that starts like an address")
        #expect(!check.shouldFetch("http://127.evil/a.png") && !check.shouldFetch("unix://127.0.0.1/tmp/s.sock"))
        try await withSimulator { sim in
            for url in ["unix://localhost/tmp/s.sock", "file:///etc/passwd"] {
                let body = #"{"type":"std-text-to-video","prompt":"p","duration":3,"end_image":"\#(url)"}"#
                let refused = try await send(sim, .POST, "/api/generate", json: body)
                #expect(refused.status == 400 && refused.body.range(of: Data("http or https".utf8)) != nil, "\(url)")
            }
            #expect(await sim.stats().tasksCreated == 0)
        }
    }

    @Test("a corrupt input image cannot hold ffmpeg: a still that does not decode in a second is left out, and the clip served all the same")
    func corruptInput() async throws {
        try await withSimulator({
            $0.useFFmpeg = true
            $0.clipTimeLimit = 2
        }) { sim in
            // A PNG signature and then nothing a decoder can use.
            let junk = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + Data(repeating: 0x41, count: 64)
            let put = try await send(
                sim, .PUT, "/_store/b/board.png", body: junk, headers: [("Content-Type", "image/png")])
            #expect(put.status == 200)
            let body =
                #"{"type":"std-image-to-video","prompt":"p","duration":3,"image":"\#(sim.baseURL)/_store/b/board.png"}"#
            let created = try await send(sim, .POST, "/api/generate", json: body)
            let id = try #require(created.data["task_id"] as? String)
            let done = try await waitForTask(sim, id)
            let url = try #require((done.data["response"] as? [String])?.first)
            let video = try await send(sim, .GET, try #require(URL(string: url)?.path), key: nil)
            #expect(video.status == 200 && MP4Header(video.body) != nil, "a clip all the same")
        }
    }
}
