import Foundation
import Testing

/// A store or an API that answers as an attacker would, staged with `HostileServer`.
@Suite("A hostile store or video: no redirect followed, no playlist given to ffmpeg")
struct HostileStoreTests {
    static let oneBoard =
        "version: 1\nshots:\n  hero:\n    type: std-image-to-video\n    prompt: hero\n    image: boards/hero.png\n"

    /// A project using one board, rendered by the simulator, its assets in a scripted store.
    static func withScriptedStore(_ script: @escaping HostileServer.Script) async throws -> (
        Rehearsal, HostileServer, CLI.Result
    ) {
        let store = try await HostileServer(script)
        let r = try await Rehearsal(oneBoard)
        _ = try r.scratch.write(r.file, oneBoard + "assets:\n  store: s3://films/k/\n  endpoint: \(store.baseURL)\n")
        try r.copyBoard(to: "boards/hero.png")
        let result = try await r.apply()
        return (r, store, result)
    }

    @Test("a store that redirects the PUT elsewhere is not followed: nothing goes there, nothing is submitted")
    func redirectedPut() async throws {
        let (r, store, result) = try await Self.withScriptedStore { call, base in
            switch call.method {
            case "HEAD": .raw(404, Data())
            case "PUT" where call.path.hasPrefix("/films/"): .raw(307, Data(), headers: ["Location": base + "/evil/x"])
            default: .raw(200, Data())
            }
        }
        defer {
            Task {
                await r.stop()
                await store.stop()
            }
        }
        #expect(result.status != 0)
        #expect(result.stdout.contains("the store answered 307"), "\(result.stdout)")
        #expect(store.calls.filter { $0.path.hasPrefix("/evil") }.isEmpty, "the redirect was not followed")
        #expect(await r.stats().tasksCreated == 0)
    }

    @Test("a HEAD answered 403 (a policy without s3:ListBucket) is not a failure: the PUT follows")
    func headForbidden() async throws {
        let board = try Data(contentsOf: CLI.repository.appendingPathComponent("examples/boards/harbour.png"))
        let (r, store, result) = try await Self.withScriptedStore { call, _ in
            switch call.method {
            case "HEAD": .raw(403, Data())
            case "PUT": .raw(200, Data())
            default: .raw(200, board, headers: ["Content-Type": "image/png"])  // the simulator fetches the input
            }
        }
        defer {
            Task {
                await r.stop()
                await store.stop()
            }
        }
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(store.count("PUT", "/films/k/") == 1)
        #expect(await r.stats().tasksCreated == 1)
    }

    @Test("a video that is a playlist is refused as it is downloaded: never kept, never given to ffmpeg, its segments never fetched")
    func playlistVideo() async throws {
        let yaml = """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: one
              b:
                type: std-image-to-video
                prompt: two
                image: ${shots.a.last_frame}

            """
        let run = try await HostileRun(yaml) { call, base in
            if call.path.hasPrefix("/videos/") {
                let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n\(base)/segment.ts\n#EXT-X-ENDLIST\n"
                return .raw(200, Data(playlist.utf8), headers: ["Content-Type": "video/mp4"])
            }
            if call.method == "HEAD" { return .raw(404, Data()) }
            if call.method == "PUT" { return .raw(200, Data()) }
            return .normal
        }
        defer { Task { await run.stop() } }
        try run.scratch.write(
            "film.yaml", yaml + "assets:\n  store: s3://films/k/\n  endpoint: \(run.server.baseURL)\n")
        let result = try await run.apply(environment: Rehearsal.storeEnvironment)
        #expect(result.status != 0)
        #expect(
            result.stdout.contains("download refused: what the server sent for renders/a.mp4 is not a video"),
            "\(result.stdout)")
        #expect(run.server.count("GET", "/segment") == 0)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: run.scratch.path("renders"))) ?? []
        #expect(!left.contains { $0.contains("a.mp4") }, "neither the file nor its partial is kept: \(left)")
        #expect((run.shot["files"] as? [[String: Any]] ?? []).isEmpty, "no file recorded")
        #expect(run.server.count("POST", "/api/generate") == 1, "b is not submitted")
    }

    @Test("first and last frames of a project in a folder named with `%d` land at their literal paths")
    func percentFolder() async throws {
        let yaml = """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: one
              b:
                type: std-image-to-video
                prompt: two
                image: ${shots.a.first_frame}
                end_image: ${shots.a.last_frame}

            """
        let r = try await Rehearsal(yaml)
        defer { Task { await r.stop() } }
        let folder = r.scratch.url.appendingPathComponent("take%d")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try (yaml + r.storeBlock).write(
            to: folder.appendingPathComponent("film.yaml"), atomically: true, encoding: .utf8)
        let result = try await CLI.run(
            ["apply", "film.yaml", "--yes"] + r.arguments, in: folder, environment: r.environment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for edge in ["first", "last"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("renders/a.\(edge).png").path))
        }
        #expect(!FileManager.default.fileExists(atPath: r.scratch.url.appendingPathComponent("take1").path))
    }
}
