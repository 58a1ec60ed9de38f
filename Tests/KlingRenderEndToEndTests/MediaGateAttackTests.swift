import Foundation
import KlingAPI
import KlingRenderCore
import Testing

/// The attacks of the second hardening round, each kept as a test: media that would have ffmpeg
/// follow a list to a file outside the project, checked under `strace` (the sentinel outside is
/// never opened, never named to a program); and a server that echoes what it should not.
@Suite("Media is untrusted: one gate before ffmpeg", .serialized)
struct MediaGateAttackTests {
    static let film = CutCommandTests.small + "  audio:\n    music: score/theme.mp3\n"

    /// A file outside the project that no run may open: a folder of its own beside the scratch folder.
    final class Sentinel: Sendable {
        let folder: URL
        let url: URL

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "kling-sentinel-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            url = folder.appendingPathComponent("secret-sound.wav")
            try Data(Array("RIFF".utf8) + [36, 0, 0, 0] + Array("WAVEfmt ".utf8) + [UInt8](repeating: 1, count: 64))
                .write(to: url)
        }

        deinit { try? FileManager.default.removeItem(at: folder) }
    }

    static let id3: [UInt8] = Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 16] + [UInt8](repeating: 0, count: 16)

    @Test(
        "music that is an ID3 tag before a playlist, or before an ffconcat list naming a committed link, is refused at load",
        arguments: ["playlist", "ffconcat"])
    func listAsMusic(_ kind: String) async throws {
        let sentinel = try Sentinel()
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        let score = r.scratch.url.appendingPathComponent("score")
        try FileManager.default.createDirectory(at: score, withIntermediateDirectories: true)
        let list: String
        if kind == "playlist" {
            list = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://\(sentinel.url.path)\n#EXT-X-ENDLIST\n"
        } else {
            try FileManager.default.createSymbolicLink(
                at: score.appendingPathComponent("link.wav"), withDestinationURL: sentinel.url)
            list = "ffconcat version 1.0\nfile 'link.wav'\n"
        }
        try Data(Self.id3 + Array(list.utf8)).write(to: score.appendingPathComponent("theme.mp3"))

        let validated = try await r.run(["validate", r.file])
        #expect(validated.status != 0)
        let line = Self.film.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
            $0.contains("music:")
        }
        #expect(
            validated.stderr.contains("film.yaml:\((line ?? 0) + 1):12: error: `cut.audio.music`")
                && validated.stderr.contains("is not an MP3, WAV, FLAC, Ogg or M4A audio file"),
            "\(validated.stderr)")
        let (applied, trace) = try await CLI.traced(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: r.environment)
        #expect(applied.status != 0)
        #expect(!trace.isEmpty, "strace recorded the run")
        #expect(!trace.contains(sentinel.url.path), "the file outside was never opened nor named")
        #expect(!trace.contains("link.wav"), "the link was never followed")
        #expect(await r.stats().tasksCreated == 0)
    }

    @Test("a committed clip that is a playlist (its manifest entry doctored to match) is refused before ffmpeg runs")
    func playlistClip() async throws {
        let sentinel = try Sentinel()
        let r = try await Rehearsal(CutCommandTests.small)
        defer { Task { await r.stop() } }
        #expect(try await r.apply(["--target", "a"]).status == 0)
        // The clip replaced by a playlist, and its manifest entry made to match it, as a hostile
        // collaborator would commit them.
        let playlist = Data("#EXTM3U\n#EXTINF:10,\nfile://\(sentinel.url.path)\n#EXT-X-ENDLIST\n".utf8)
        try playlist.write(to: r.scratch.url.appendingPathComponent("renders/a.mp4"))
        let data = try #require(r.manifestData)
        var manifest = String(decoding: data, as: UTF8.self)
        let entry = try #require(r.shots["a"]?["files"] as? [[String: Any]]).first
        let oldHash = try #require(entry?["sha256"] as? String)
        let oldBytes = try #require(entry?["bytes"] as? Int)
        manifest = manifest.replacingOccurrences(of: oldHash, with: sha256(playlist))
            .replacingOccurrences(of: "\"bytes\" : \(oldBytes)", with: "\"bytes\" : \(playlist.count)")
        try manifest.write(to: r.manifestURL, atomically: true, encoding: .utf8)

        let (applied, trace) = try await CLI.traced(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: r.environment)
        #expect(applied.status != 0)
        #expect(applied.stdout.contains("renders/a.mp4 is not a video (MP4 or MOV)"), "\(applied.stdout)")
        #expect(!trace.contains(sentinel.url.path), "the file outside was never opened nor named")
        #expect(!trace.contains("ffmpeg\", [") || !trace.contains("renders/a.mp4\""), "ffmpeg was never given the clip")
        let (exported, exportTrace) = try await CLI.traced(
            ["export", r.file, "--format", "otio"], in: r.scratch.url, environment: r.environment)
        #expect(exported.status != 0)
        #expect(exported.stderr.contains("renders/a.mp4 is not a video"), "\(exported.stderr)")
        #expect(!exportTrace.contains(sentinel.url.path))
    }

    @Test("a playlist as a download is refused before ffprobe or ffmpeg could open what it names")
    func playlistDownload() async throws {
        let sentinel = try Sentinel()
        let run = try await HostileRun(
            "version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: a\ncut:\n  clips:\n    - shot: a\n"
        ) { call, _ in
            guard call.path.hasPrefix("/videos/") else { return .normal }
            // 129 bytes: what the attack sent.
            let text = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://\(sentinel.url.path)\n#EXT-X-ENDLIST\n"
            return .raw(200, Data(text.utf8), headers: ["Content-Type": "video/mp4"])
        }
        defer { Task { await run.stop() } }
        let (applied, trace) = try await CLI.traced(
            ["apply", "film.yaml", "--yes", "--endpoint", run.server.baseURL, "--time-scale", "1000"],
            in: run.scratch.url, environment: ["KLING_API_KEY": run.key])
        #expect(applied.status != 0)
        #expect(applied.stdout.contains("is not a video"), "\(applied.stdout)")
        #expect(!trace.contains(sentinel.url.path))
        #expect(!FileManager.default.fileExists(atPath: run.scratch.path("renders/a.mp4")))
        #expect(run.shot["status"] as? String == "succeeded", "paid for: the render is kept, its file is not")
        #expect((run.shot["files"] as? [[String: Any]] ?? []).isEmpty)
    }
}

/// A server that echoes secrets without their names, and addresses spelled to reach loopback.
@Suite("Secrets and addresses: judged by value")
struct EchoAndAddressTests {
    @Test(
        "an API that echoes the presigned URL's signature, credential and token without their names: none is shown or kept"
    )
    func namelessEcho() async throws {
        let seen = Echo()
        let run = try await HostileRun(HostileStoreTests.oneBoard) { call, _ in
            switch (call.method, call.path) {
            case ("HEAD", _): return .raw(404, Data())
            case ("PUT", _): return .raw(200, Data())
            case ("POST", "/api/generate"):
                seen.request(call.body)
                return HostileServer.created("n75echo")
            case ("GET", "/api/status"):
                return HostileServer.json(
                    200, #"{"code":200,"data":{"task_id":"n75echo","status":"FAILED","error_message":"\#(seen.echo)"}}"#
                )
            default: return .normal
            }
        }
        defer { Task { await run.stop() } }
        try run.scratch.write(
            "film.yaml",
            HostileStoreTests.oneBoard + "assets:\n  store: s3://films/k/\n  endpoint: \(run.server.baseURL)\n")
        try FileManager.default.createDirectory(
            at: run.scratch.url.appendingPathComponent("boards"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: CLI.repository.appendingPathComponent("examples/boards/harbour.png"),
            to: run.scratch.url.appendingPathComponent("boards/hero.png"))
        let environment = [
            "AWS_ACCESS_KEY_ID": "AKIDECHOTEST", "AWS_SECRET_ACCESS_KEY": "echo-secret-access-key",
            "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEJr//echo+session/token==",
        ]
        let applied = try await run.apply(environment: environment)
        #expect(applied.status != 0)
        let secrets = seen.secrets
        try #require(secrets.count == 3, "the signature, credential and token were sent: \(secrets)")
        let status = try await run.run(["status", "film.yaml", "--json"], environment: environment)
        let review = try await run.run(["review", "film.yaml"], environment: environment)
        #expect(review.status == 0, "\(review.stdout)\(review.stderr)")
        let page = (try? String(contentsOfFile: run.scratch.path("renders/review.html"), encoding: .utf8)) ?? ""
        let shown = [applied.stdout, applied.stderr, status.stdout, status.stderr, run.manifestText, page]
        #expect(run.manifestText.contains("[redacted]"), "the echo is kept, without the secrets: \(run.manifestText)")
        for secret in secrets + [run.key, environment["AWS_SESSION_TOKEN"]!] {
            for (n, text) in shown.enumerated() {
                #expect(!text.contains(secret), "output \(n) shows \(secret)")
                let encoded = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret
                #expect(!text.contains(encoded), "output \(n) shows \(encoded)")
            }
        }
    }

    /// What a hostile API saw of the generate request, and the echo it sends back.
    final class Echo: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String] = []

        func request(_ body: String) {
            let body = body.replacingOccurrences(of: "\\/", with: "/")
            guard let url = body.range(of: #"https?://[^"]+"#, options: .regularExpression).map({ String(body[$0]) }),
                let query = URLComponents(string: url)?.queryItems
            else { return }
            let names = ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"]
            lock.withLock { values = names.compactMap { name in query.first { $0.name == name }?.value } }
        }

        var secrets: [String] { lock.withLock { values } }
        /// The values as they are, and the key spelled in the answer, with no `name=` beside any.
        var echo: String {
            lock.withLock { values.map { $0.replacingOccurrences(of: "/", with: "\\/") }.joined(separator: " and ") }
                + " and hostile-test-key-7f3a9c were not accepted"
        }
    }

    @Test("a video URL that spells loopback otherwise is refused before a byte is fetched when the API is public")
    func spelledLoopback() async throws {
        let inside = try await HostileServer { _, _ in .normal }
        defer { Task { await inside.stop() } }
        let port = try #require(URLComponents(string: inside.baseURL)?.port)
        let client = KlingClient(baseURL: "https://93.184.216.34", apiKey: "k")
        for host in ["127.0.0.1", "127.1", "2130706433", "0x7f.1", "0177.0.0.1", "[::ffff:7f00:1]", "localhost"] {
            do {
                try await client.download("http://\(host):\(port)/videos/x.mp4", from: 0) { _ in
                } receive: { _ in
                }
                Issue.record("\(host) was fetched")
            } catch let error as KlingAPIError {
                guard case .addressRefused(let reason) = error else {
                    Issue.record("\(host): \(error)")
                    continue
                }
                #expect(reason.contains("local or private network"), "\(reason)")
            }
        }
        #expect(inside.calls.isEmpty, "the loopback service got no request")
    }

    @Test(
        "a video URL that names its host is fetched from the very address that was judged (the name is looked up once)")
    func pinnedName() async throws {
        let name = ProcessInfo.processInfo.hostName
        let run = try await HostileRun { call, base in
            guard call.path == "/api/status" else { return .normal }
            let port = URLComponents(string: base)?.port ?? 0
            return HostileServer.succeeded("n75hostile1", urls: ["http://\(name):\(port)/videos/named.mp4"])
        }
        defer { Task { await run.stop() } }
        let addresses = await URLPolicy.resolve(name)
        try #require(addresses.contains { $0.isLoopback }, "this machine's name is on loopback, as the API is")
        let result = try await run.apply()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(run.server.count("GET", "/videos/named.mp4") == 1)
        #expect(FileManager.default.fileExists(atPath: run.scratch.path("renders/a.mp4")))
    }

    @Test(
        "a redirect is judged at its hop: a video URL redirected to a local address that is not the API's is never followed"
    )
    func redirectHop() async throws {
        let inside = try await HostileServer { _, _ in .normal }
        defer { Task { await inside.stop() } }
        let port = try #require(URLComponents(string: inside.baseURL)?.port)
        let run = try await HostileRun { call, _ in
            guard call.path.hasPrefix("/videos/") else { return .normal }
            // 0.0.0.0 is this machine, but not the API's own address: refused as any local address.
            return .raw(302, Data(), headers: ["Location": "http://0.0.0.0:\(port)/metadata"])
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status != 0)
        #expect(result.stdout.contains("a redirect points into a local or private network"), "\(result.stdout)")
        #expect(inside.calls.isEmpty, "the redirect's target got no request")
    }
}
