import Foundation
import Testing

@testable import KlingRenderCore

/// Bytes of media files and of the lists ffmpeg would follow, as an attacker commits them.
enum Hostile {
    /// An ID3v2.4 tag of `size` bytes of frames (zeros), as encoders write before MP3 audio.
    static func id3(size: Int = 32) -> [UInt8] {
        let syncsafe = [size >> 21, size >> 14, size >> 7, size].map { UInt8($0 & 0x7F) }
        return Array("ID3".utf8) + [4, 0, 0] + syncsafe + [UInt8](repeating: 0, count: size)
    }

    /// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: a frame header, then its body.
    static let mp3Frame: [UInt8] = [0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0x55, count: 413)

    static func playlist(naming target: String) -> [UInt8] {
        Array("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n\(target)\n#EXT-X-ENDLIST\n".utf8)
    }

    static func ffconcat(naming target: String) -> [UInt8] {
        Array("ffconcat version 1.0\nfile '\(target)'\n".utf8)
    }
}

@Suite("The media gate: what bytes are, by their first bytes")
struct MediaGateTests {
    @Test("an ID3 tag in front of a playlist or an ffconcat list is not an MP3; in front of a frame it is")
    func id3Prefixed() {
        #expect(MediaGate.sniff(Hostile.id3() + Hostile.playlist(naming: "/etc/passwd")) == nil)
        #expect(MediaGate.sniff(Hostile.id3() + Hostile.ffconcat(naming: "outside.wav")) == nil)
        #expect(MediaGate.sniff(Hostile.id3()) == nil, "a tag alone")
        #expect(MediaGate.sniff(Hostile.id3() + Hostile.mp3Frame) == .mp3)
        #expect(MediaGate.sniff(Hostile.id3(size: 100_000) + Hostile.mp3Frame) == .mp3, "a tag with a cover image")
        #expect(MediaGate.sniff(Hostile.mp3Frame) == .mp3, "no tag")
    }

    @Test("a frame header that names a reserved version, layer, bit rate or sample rate is no MP3")
    func reservedFrameFields() {
        for header: [UInt8] in [
            [0xFF, 0xEB, 0x90, 0], [0xFF, 0xF9, 0x90, 0], [0xFF, 0xFB, 0xF0, 0], [0xFF, 0xFB, 0x9C, 0],
        ] {
            #expect(MediaGate.sniff(header + [UInt8](repeating: 0, count: 20)) == nil, "\(header)")
        }
    }

    @Test("playlists, lists and texts are none of the containers")
    func lists() {
        for text in [
            "#EXTM3U\nfile:///etc/passwd\n", "ffconcat version 1.0\nfile x\n", "<?xml version=\"1.0\"?><MPD>", "hello",
        ] {
            #expect(MediaGate.sniff(Array(text.utf8)) == nil, "\(text)")
        }
    }

    @Test("each container and the demuxer that is forced for it")
    func containers() {
        let cases: [([UInt8], MediaType, String)] = [
            ([0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 0, 0], .mp4, "mov"),
            ([0, 0, 0, 0x14] + Array("ftypqt  ".utf8) + [0, 0, 0, 0], .mov, "mov"),
            ([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 1, 0, 0, 0], .webm, "matroska"),
            (Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVEfmt ".utf8), .wav, "wav"),
            (Array("fLaC".utf8) + [0, 0, 0, 0x22, 0, 0, 0, 0], .flac, "flac"),
            (Array("OggS".utf8) + [0, 2, 0, 0, 0, 0, 0, 0], .ogg, "ogg"),
        ]
        for (bytes, media, demuxer) in cases {
            #expect(MediaGate.sniff(bytes) == media)
            #expect(media.demuxer == demuxer)
        }
    }

    @Test("a file that passed the gate is opened by ffmpeg only as a local file with its demuxer forced")
    func inputOptions() throws {
        let project = try ProjectOnDisk()
        try Data(Hostile.id3() + Hostile.mp3Frame).write(to: project.url.appendingPathComponent("bed.mp3"))
        let root = ProjectFolder(project.url)
        let file = try MediaGate.admit("bed.mp3", in: root, accepting: MediaType.audios).get()
        #expect(
            file.ffmpegInput == ["-protocol_whitelist", "file", "-f", "mp3", "-i", "file:" + root.root + "/bed.mp3"])
    }

    @Test("a link at the file's place, and a playlist, are refused with the path named")
    func refusals() throws {
        let project = try ProjectOnDisk()
        let outside = project.base.appendingPathComponent("sentinel.mp3")
        try Data(Hostile.id3() + Hostile.mp3Frame).write(to: outside)
        try FileManager.default.createSymbolicLink(
            at: project.url.appendingPathComponent("link.mp3"), withDestinationURL: outside)
        try Data(Hostile.id3() + Hostile.playlist(naming: outside.path)).write(
            to: project.url.appendingPathComponent("list.mp3"))
        let root = ProjectFolder(project.url)
        let link = MediaGate.admit("link.mp3", in: root, accepting: MediaType.audios)
        #expect(throws: MediaRefusal.self) { try link.get() }
        let list = MediaGate.admit("list.mp3", in: root, accepting: MediaType.audios)
        #expect((try? list.get()) == nil)
        if case .failure(let refusal) = list {
            #expect(refusal.description.hasPrefix("list.mp3 is not an audio file"))
        }
    }

    @Test("what ffprobe reports is range-checked: at most 7680×4320 either way round, at most 15 minutes")
    func probeRanges() {
        func probe(_ w: Int, _ h: Int, seconds: Double = 5) -> MediaProbe? {
            MediaProbe.parse(
                Data(
                    #"{"format":{"duration":"\#(seconds)"},"streams":[{"codec_type":"video","width":\#(w),"height":\#(h),"r_frame_rate":"24/1"}]}"#
                        .utf8))
        }
        #expect(probe(7680, 4320) != nil)
        #expect(probe(4320, 7680) != nil)
        #expect(probe(7681, 4320) == nil)
        #expect(probe(5000, 5000) == nil)
        #expect(probe(1920, 1080, seconds: 900) != nil)
        #expect(probe(1920, 1080, seconds: 900.5) == nil)
    }
}

@Suite("Secrets are redacted by value")
struct SecretsTests {
    @Test("a secret is found as written, percent-encoded, JSON-escaped and HTML-escaped, with no name beside it")
    func spellings() {
        let secrets = Secrets()
        let token = "FwoGZXIvYXdz/EJr+token=="
        secrets.register(token)
        secrets.register("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        for text in [
            "echo: \(token)", "url?x=\(encoded)",
            "url?x=\(encoded.replacingOccurrences(of: "%2F", with: "%2f").replacingOccurrences(of: "%2B", with: "%2b"))",
            #"{"m":"FwoGZXIvYXdz\/EJr+token=="}"#,
            "<p>FwoGZXIvYXdz/EJr+token==</p>",
            "sig 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 end",
        ] {
            let redacted = secrets.redact(text)
            #expect(
                !redacted.contains("FwoGZXIvYXdz") && !redacted.contains("9f86d081884c7d65"), "\(text) → \(redacted)")
            #expect(redacted.contains(Secrets.replacement))
        }
        #expect(secrets.redact("nothing secret here") == "nothing secret here")
    }

    @Test("values too short to be secrets are not registered: they would match the output's own words")
    func short() {
        let secrets = Secrets()
        secrets.register("kling")
        #expect(secrets.redact("kling-render apply") == "kling-render apply")
    }
}

@Suite("Addresses are judged by what they are, not how they are written")
struct AddressTests {
    /// A public address, written as a number: never contacted, and no name to look up.
    static let publicAPI = "https://93.184.216.34"

    @Test(
        "every spelling of loopback and private addresses is refused when the API is public",
        arguments: [
            "http://127.0.0.1/v.mp4", "http://127.1/v.mp4", "http://2130706433/v.mp4", "http://0x7f.1/v.mp4",
            "http://0177.0.0.1/v.mp4", "http://0x7f000001/v.mp4", "http://[::ffff:7f00:1]/v.mp4",
            "http://[::ffff:127.0.0.1]/v.mp4", "http://[::1]/v.mp4", "http://[64:ff9b::a9fe:a9fe]/v.mp4",
            "http://169.254.169.254/latest", "http://10.1/v.mp4", "http://0/v.mp4", "http://localhost./v.mp4",
            "http://[fd00::1]/v.mp4", "http://[fe80::1%25eth0]/v.mp4", "http://[::ffff:0:7f00:1]/v.mp4",
            "http://[2002:7f00:1::]/v.mp4", "http://[2002:a00:1::1]/v.mp4", "http://[2001:0:4136:e378::1]/v.mp4",
            "http://[64:ff9b:1::a00:1]/v.mp4", "http://[::127.0.0.1]/v.mp4",
        ])
    func spellings(_ url: String) async {
        #expect(URLPolicy.problem(url, endpoint: Self.publicAPI) != nil, "\(url)")
        #expect(await URLPolicy.connectionProblem(url, endpoint: Self.publicAPI) != nil, "\(url)")
    }

    @Test("public addresses pass, in any spelling")
    func publicAddresses() {
        for url in ["https://93.184.216.34/v.mp4", "https://1572395042/v.mp4", "https://[2606:2800:220:1::1]/v.mp4"] {
            #expect(URLPolicy.problem(url, endpoint: Self.publicAPI) == nil, "\(url)")
        }
    }

    @Test("a name that resolves to a local address is refused where the connection is made")
    func resolvedName() async throws {
        let name = ProcessInfo.processInfo.hostName
        let addresses = await URLPolicy.resolve(name)
        try #require(!addresses.isEmpty && addresses.allSatisfy(\.isLocal), "this machine's name resolves locally")
        let url = "http://\(name)/v.mp4"
        #expect(URLPolicy.problem(url, endpoint: Self.publicAPI) == nil, "the name alone says nothing")
        let problem = await URLPolicy.connectionProblem(url, endpoint: Self.publicAPI)
        #expect(problem?.contains("local or private network") == true, "\(problem ?? "nil")")
    }

    @Test("an API on loopback allows its own host, in any spelling, and no other local address")
    func ownHost() async {
        let api = "http://127.0.0.1:8080"
        #expect(await URLPolicy.connectionProblem("http://127.1:9/v.mp4", endpoint: api) == nil)
        #expect(await URLPolicy.connectionProblem("http://localhost:9/v.mp4", endpoint: api) == nil)
        #expect(await URLPolicy.connectionProblem("http://169.254.169.254/latest", endpoint: api) != nil)
        #expect(await URLPolicy.connectionProblem("http://10.0.0.2/v.mp4", endpoint: api) != nil)
    }
}

@Suite("Markup holds only what XML 1.0 allows")
struct MarkupTests {
    @Test("C0 controls, U+FFFE and U+FFFF become U+FFFD; tab and line ends stay")
    func forbidden() {
        let escaped = Markup.escape("a\u{1}b\u{FFFE}c\u{FFFF}d\te\n<&>")
        #expect(escaped == "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\te\n&lt;&amp;&gt;")
    }
}

@Suite("A probe read back from a manifest")
struct RecordedProbeTests {
    @Test("is used only in the ranges ffprobe's own answers are held to")
    func ranges() {
        let good = MediaProbe(seconds: 5, width: 1280, height: 720, fps: 24, hasAudio: true)
        #expect(good.isInRange)
        for bad in [
            MediaProbe(seconds: .infinity, width: 1280, height: 720, fps: 24, hasAudio: true),
            MediaProbe(seconds: 5, width: 100_000, height: 720, fps: 24, hasAudio: true),
            MediaProbe(seconds: 5, width: 1280, height: 0, fps: 24, hasAudio: true),
            MediaProbe(seconds: 5, width: 1280, height: 720, fps: 0, hasAudio: true),
            MediaProbe(seconds: 901, width: 1280, height: 720, fps: .nan, hasAudio: true),
        ] {
            #expect(!bad.isInRange, "\(bad)")
        }
        #expect(ManifestProbe(good).probe == good)
    }
}
