import AsyncHTTPClient
import Foundation
import KlingAPI
import KlingSimulator
import KlingTestSupport
import NIOCore
import NIOFoundationCompat
import Testing

/// moto's S3 server on loopback, started by `scripts/moto-s3.py` with a bucket in it.
final class MotoServer: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let endpoint: String
    let bucket: String
    let access: String
    let secret: String

    init(auth: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", CLI.repository.appendingPathComponent("scripts/moto-s3.py").path] + (auth ? ["--auth"] : [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = input
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String],
            let endpoint = object["endpoint"], let bucket = object["bucket"], let access = object["access"],
            let secret = object["secret"]
        else {
            process.terminate()
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "moto did not start: \(text)"])
        }
        (self.endpoint, self.bucket, self.access, self.secret) = (endpoint, bucket, access, secret)
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { process.terminate() } }

    /// The bucket's keys (moto without auth answers an unsigned list).
    func keys() async throws -> [String] {
        let request = HTTPClientRequest(url: "\(endpoint)/\(bucket)?list-type=2")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return body.components(separatedBy: "<Key>").dropFirst().compactMap {
            $0.components(separatedBy: "</Key>").first
        }
        .sorted()
    }

    var environment: [String: String] { ["AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret] }

    func assetsBlock(prefix: String = "kling") -> String {
        "assets:\n  store: s3://\(bucket)/\(prefix)/\n  endpoint: \(endpoint)\n"
    }
}

extension Rehearsal {
    func copyBoard(to name: String) throws {
        let target = scratch.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: CLI.repository.appendingPathComponent("examples/boards/harbour.png"), to: target)
    }

    /// Every file under the scratch folder, as text (videos and images included, as bytes).
    func everyFile() throws -> [(String, Data)] {
        let enumerator = FileManager.default.enumerator(at: scratch.url, includingPropertiesForKeys: nil)
        var out: [(String, Data)] = []
        while let url = enumerator?.nextObject() as? URL {
            if let data = try? Data(contentsOf: url) { out.append((url.lastPathComponent, data)) }
        }
        return out
    }

    /// The simulator's dashboard: every task's request as received.
    func receivedRequests() async throws -> [[String: Any]] {
        let request = HTTPClientRequest(url: simulator.baseURL + "/_sim/tasks")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 4 << 20))
        let tasks = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["tasks"] as? [[String: Any]] ?? []
        return tasks.compactMap { $0["request"] as? [String: Any] }
    }
}

@Suite("Assets hosted in a real S3 implementation (moto) and in the simulator's store")
struct AssetStoreTests {
    static let threeShots = """
        version: 1
        shots:
          hero:
            type: std-image-to-video
            prompt: hero
            image: boards/hero.png
          twin:
            type: std-image-to-video
            prompt: twin
            image: boards/copy-of-hero.png
          next:
            type: std-image-to-video
            prompt: next
            image: ${shots.hero.last_frame}
            end_image: boards/hero.png

        """

    @Test(
        "each content is uploaded once however many shots use it; a second apply uploads nothing; an edited file re-renders its users only; no credential anywhere"
    )
    func moto() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let r = try await Rehearsal(Self.threeShots)
        defer { Task { await r.stop() } }
        _ = try r.scratch.write(r.file, Self.threeShots + moto.assetsBlock())
        try r.copyBoard(to: "boards/hero.png")
        try r.copyBoard(to: "boards/copy-of-hero.png")
        let environment = r.environment.merging(moto.environment) { $1 }
        let first = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("Assets: extract 1 frame, upload 1 asset"), "\(first.stdout)")
        let uploads = first.stdout.split(separator: "\n").filter { $0.contains("  uploaded ") }
        #expect(uploads.count == 2, "one board (two names, one content) and one frame: \(uploads)")
        let keys = try await moto.keys()
        #expect(keys.count == 2 && keys.allSatisfy { $0.hasPrefix("kling/") && $0.hasSuffix(".png") }, "\(keys)")

        // The API was sent presigned URLs it could fetch; the manifest keeps none of them.
        let sent = try await r.receivedRequests()
        #expect(sent.count == 3)
        #expect(sent.allSatisfy { ($0["image"] as? String)?.contains("X-Amz-Signature=") == true })
        let manifest = String(decoding: r.manifestData ?? Data(), as: UTF8.self)
        #expect(!manifest.contains("X-Amz-"), "no signature, credential or date of a presigned URL")
        let assets = try #require(
            (try JSONSerialization.jsonObject(with: r.manifestData ?? Data()) as? [String: Any])?["assets"]
                as? [String: [String: Any]])
        #expect(assets["boards/hero.png"]?["key"] as? String == assets["boards/copy-of-hero.png"]?["key"] as? String)
        #expect(Set(assets.keys) == ["boards/hero.png", "boards/copy-of-hero.png", "renders/hero.last.png"])

        let again = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(again.stdout.contains("Nothing to do") && !again.stdout.contains("upload"), "\(again.stdout)")
        #expect(try await moto.keys() == keys)

        // One changed byte in one file: only the shot that uses that file renders again.
        let copy = r.scratch.url.appendingPathComponent("boards/copy-of-hero.png")
        var bytes = try Data(contentsOf: copy)
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: copy)
        let plan = try await CLI.run(["plan", r.file, "--json"], in: r.scratch.url, environment: environment)
        let planned =
            (try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["shots"]
            as? [[String: Any]] ?? []
        #expect(planned.map { $0["action"] as? String } == ["unchanged", "re-render", "unchanged"], "\(plan.stdout)")
        let shown = try await CLI.run(["plan", r.file], in: r.scratch.url, environment: environment)
        #expect(shown.stdout.contains("~ image: boards/copy-of-hero.png has other bytes (sha256 "), "\(shown.stdout)")
        let status = try await CLI.run(["status", r.file, "--json"], in: r.scratch.url, environment: environment)
        let hosted =
            (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["assets"]
            as? [[String: Any]] ?? []
        #expect(
            hosted.map { "\($0["path"] ?? "") \($0["state"] ?? "")" } == [
                "boards/copy-of-hero.png changed", "boards/hero.png current", "renders/hero.last.png on disk",
            ], "\(status.stdout)")
        let third = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(third.status == 0)
        #expect(try await moto.keys().count == 3)
        #expect(await r.stats().tasksCreated == 4)

        for text in [first.stdout, first.stderr, again.stdout, third.stdout, third.stderr, plan.stdout] {
            #expect(!text.contains(moto.secret) && !text.contains(moto.access) && !text.contains("X-Amz-Signature"))
        }
        for (name, data) in try r.everyFile() {
            #expect(data.range(of: Data(moto.secret.utf8)) == nil, "\(name) holds the secret key")
            #expect(data.range(of: Data(moto.access.utf8)) == nil, "\(name) holds the access key id")
        }
    }

    @Test("a text file named .png is a located error of apply, before any request")
    func badFileSendsNothing() async throws {
        let yaml =
            "version: 1\nshots:\n  hero:\n    type: std-image-to-video\n    prompt: hero\n    image: boards/hero.png\n"
        let r = try await Rehearsal(yaml)
        defer { Task { await r.stop() } }
        try FileManager.default.createDirectory(
            at: r.scratch.url.appendingPathComponent("boards"), withIntermediateDirectories: true)
        _ = try r.scratch.write("boards/hero.png", "not an image\n")
        let result = try await r.apply()
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "film.yaml:6:12: error: `image` file `boards/hero.png` is not a PNG, JPEG or WebP image"),
            "\(result.stderr)")
        #expect(await r.stats().requests.isEmpty, "nothing was sent")
        #expect(r.manifestData == nil, "nothing was written")
    }

    @Test("an endpoint refused for holding a password is shown with the password masked")
    func endpointPasswordMasked() async throws {
        let scratch = try Scratch()
        try scratch.write(
            "leak.yaml",
            "version: 1\nassets:\n  store: s3://films/k/\n  endpoint: https://AKIDLEAK:s3cr3tPassw0rd@minio.example.com\nshots:\n  a: {type: std-text-to-video, prompt: x}\n"
        )
        for command in [["validate", "leak.yaml"], ["plan", "leak.yaml"]] {
            let result = try await CLI.run(command, in: scratch.url)
            #expect(result.status == 1)
            #expect(result.stderr.contains("leak.yaml:4:13: error: `assets.endpoint` holds a user name or password"))
            #expect(result.stderr.contains("https://[redacted]@minio.example.com"), "\(result.stderr)")
            #expect(!(result.stdout + result.stderr).contains("s3cr3tPassw0rd"))
            #expect(!(result.stdout + result.stderr).contains("AKIDLEAK"))
        }
    }

    @Test("a wrong secret key is refused by a store that checks signatures, and nothing is submitted")
    func wrongSecret() async throws {
        let moto = try MotoServer(auth: true)
        defer { moto.stop() }
        let yaml =
            "version: 1\nshots:\n  hero:\n    type: std-image-to-video\n    prompt: hero\n    image: boards/hero.png\n"
        let r = try await Rehearsal(yaml)
        defer { Task { await r.stop() } }
        _ = try r.scratch.write(r.file, yaml + moto.assetsBlock())
        try r.copyBoard(to: "boards/hero.png")
        var environment = r.environment.merging(moto.environment) { $1 }
        environment["AWS_SECRET_ACCESS_KEY"] = moto.secret + "x"
        let wrong = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(wrong.status != 0)
        #expect(wrong.stdout.contains("the store refused the request (403 SignatureDoesNotMatch)"), "\(wrong.stdout)")
        #expect(wrong.stdout.contains("blocked: waits on boards/hero.png"), "\(wrong.stdout)")
        #expect(await r.stats().tasksCreated == 0, "a render whose input is not hosted is never submitted")
        #expect(!wrong.stdout.contains(moto.secret) && !wrong.stderr.contains(moto.secret))

        environment["AWS_SECRET_ACCESS_KEY"] = moto.secret
        let right = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(right.stdout.contains("uploaded boards/hero.png"), "the right key is taken: \(right.stdout)")
    }

    @Test("a recorded upstream URL that has expired is replaced by an upload of the downloaded file")
    func expiredUpstream() async throws {
        let yaml = "version: 1\nshots:\n  sea:\n    type: std-text-to-video\n    prompt: the sea\n"
        let edit = "  snow:\n    type: o3-std-video-edit\n    prompt: make it snow\n    video: ${shots.sea.video}\n"
        for withStore in [true, false] {
            let r = try await Rehearsal(yaml) {
                $0.faults[.expire] = 1
                $0.expireAfter = 100_000
            }
            defer { Task { await r.stop() } }
            #expect(try await r.apply().status == 0)
            try await r.simulator.advance(seconds: 200_000)
            _ = try r.scratch.write(r.file, yaml + edit + (withStore ? r.storeBlock : ""))
            let second = try await r.apply()
            if withStore {
                #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
                #expect(
                    second.stdout.contains("sea's video is hosted from its file: its URL answers 404"),
                    "\(second.stdout)")
                let snow = try #require(r.shots["snow"]?["request"] as? [String: Any])
                let sea = try #require((r.shots["sea"]?["files"] as? [[String: Any]])?.first?["sha256"] as? String)
                #expect((snow["video"] as? String)?.hasSuffix("/_store/rehearsal/kling/\(sea).mp4") == true, "\(snow)")
                #expect(await r.stats().tasksCreated == 2)
            } else {
                #expect(second.status != 0)
                #expect(
                    second.stdout.contains(
                        "the video of sea cannot be sent: its URL answers 404; no asset store is configured; add `assets:"
                    ), "\(second.stdout)")
                #expect(await r.stats().tasksCreated == 1, "the edit is not submitted")
            }
        }
    }

    /// Decodes every frame of a file to raw RGB and returns the last one's bytes.
    static func lastRawFrame(_ file: URL) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-v", "error", "-i", file.path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }

    @Test("a continuity chain of three shots: each starts on the exact last decoded frame of the one before")
    func continuity() async throws {
        let r = try await Rehearsal(example: "harbour")
        defer { Task { await r.stop() } }
        let run = try await r.apply()
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let sent = try await r.receivedRequests()
        for (upstream, downstream) in [("arrival", "dock"), ("dock", "lights")] {
            let frame = r.scratch.url.appendingPathComponent("renders/harbour/\(upstream).last.png")
            let video = r.scratch.url.appendingPathComponent("renders/harbour/\(upstream).mp4")
            let pixels = try Self.lastRawFrame(frame)
            let all = try Self.lastRawFrame(video)
            #expect(!pixels.isEmpty && all.count % pixels.count == 0, "one frame of the video's size")
            #expect(all.suffix(pixels.count) == pixels, "\(upstream).last.png is the video's last frame, bit for bit")
            let hash = sha256(try Data(contentsOf: frame))
            let prompt = try #require(
                try String(contentsOf: r.scratch.url.appendingPathComponent(r.file), encoding: .utf8)
                    .components(separatedBy: "\(downstream):\n    prompt: ").last?.components(separatedBy: ",").first)
            let request = sent.first { ($0["prompt"] as? String)?.hasPrefix(prompt) == true }
            #expect((request?["image"] as? String)?.contains("/\(hash).png?") == true, "\(downstream) starts on it")
        }
    }

    @Test("a frame taken before, of an unchanged shot, is hosted again as it is: no ffmpeg needed")
    func reusedFrame() async throws {
        let r = try await Rehearsal(example: "harbour")
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        try r.edit("The harbour lights come on one by one", with: "The harbour lights go out one by one")
        var environment = r.environment
        environment["PATH"] = "/nonexistent"
        let plan = try await CLI.run(["plan", r.file], in: r.scratch.url, environment: environment)
        #expect(!plan.stdout.contains("extract"), "\(plan.stdout)")
        let again = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(!again.stdout.contains("frame renders/"), "no frame is taken again")
        #expect(again.stdout.contains("renders/harbour/dock.last.png: already in the store"), "\(again.stdout)")
        #expect(await r.stats().tasksCreated == 4)
    }

    @Test("without ffmpeg a project with frames gets one clear error and sends nothing; others still render")
    func noFFmpeg() async throws {
        let r = try await Rehearsal(example: "harbour")
        defer { Task { await r.stop() } }
        var environment = r.environment
        environment["PATH"] = "/nonexistent"
        let refused = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("need ffmpeg, which is not installed: `apt-get install ffmpeg`"),
            "\(refused.stderr)")
        #expect(await r.stats().requests.isEmpty, "nothing was sent")
        let other = try await Rehearsal(example: "minimal")
        defer { Task { await other.stop() } }
        var plain = other.environment
        plain["PATH"] = "/nonexistent"
        let fine = try await CLI.run(
            ["apply", other.file, "--yes"] + other.arguments, in: other.scratch.url, environment: plain)
        #expect(fine.status == 0, "\(fine.stdout)\(fine.stderr)")
    }
}
