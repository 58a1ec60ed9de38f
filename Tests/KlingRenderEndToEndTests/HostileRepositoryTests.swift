import Foundation
import Testing

/// The reproductions of issue 9 that a collaborator can commit: symlinks, a doctored manifest, a
/// doctored saved plan. Each runs the built binary; the victim is a file outside the project.
@Suite("A hostile repository: nothing outside the project is touched, nothing unplanned is spent")
struct HostileRepositoryTests {
    /// A project rendered once against a well-behaved server, and a folder outside it.
    func rendered(_ yaml: String = HostileRun.oneShot) async throws -> (HostileRun, Scratch) {
        let run = try await HostileRun(yaml) { _, _ in .normal }
        let first = try await run.apply()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        return (run, try Scratch())
    }

    func editManifest(_ run: HostileRun, _ change: (inout [String: Any]) -> Void) throws {
        let url = run.scratch.url.appendingPathComponent("film.manifest.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var shots = try #require(object["shots"] as? [String: [String: Any]])
        var a = try #require(shots["a"])
        change(&a)
        shots["a"] = a
        object["shots"] = shots
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }

    func link(_ path: String, in scratch: Scratch, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: scratch.path(path), withDestinationPath: target)
    }

    @Test("a .part file planted as a link to a file outside: never written through, not even by a 206")
    func partLink() async throws {
        let (run, outside) = try await rendered()
        defer { Task { await run.stop() } }
        let victim = try outside.write("victim", "precious")
        let url = try #require((run.shot["urls"] as? [String])?.first)
        let tag = sha256(Data(url.utf8)).prefix(12)
        try FileManager.default.removeItem(atPath: run.scratch.path("renders/a.mp4"))
        try link("renders/.a.mp4.\(tag).part", in: run.scratch, to: victim.path)
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("symbolic link"), "\(result.stdout)")
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious")
        #expect(run.server.count("GET", "/videos/") == 1, "not even fetched")
    }

    @Test("the lock file as a link, to an outside file or dangling: refused, the target untouched")
    func lockLink() async throws {
        let run = try await HostileRun { _, _ in .normal }
        defer { Task { await run.stop() } }
        let outside = try Scratch()
        let victim = try outside.write("victim", "precious")
        try link("film.manifest.json.lock", in: run.scratch, to: victim.path)
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stderr.contains("symbolic link"), "\(result.stderr)")
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious")
        #expect(run.server.calls.isEmpty)

        try FileManager.default.removeItem(atPath: run.scratch.path("film.manifest.json.lock"))
        try link("film.manifest.json.lock", in: run.scratch, to: outside.path("created"))
        #expect(try await run.apply().status == 1)
        #expect(!FileManager.default.fileExists(atPath: outside.path("created")), "a dangling link creates nothing")
    }

    @Test("an output folder that is a link out of the project is refused before anything is sent")
    func outputLinkOut() async throws {
        let run = try await HostileRun { _, _ in .normal }
        defer { Task { await run.stop() } }
        let outside = try Scratch()
        try link("renders", in: run.scratch, to: outside.url.path)
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stderr.contains("leads out of the project's folder"), "\(result.stderr)")
        #expect(run.server.calls.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.url.path).isEmpty)
    }

    @Test("an output folder that is a link inside the project works")
    func outputLinkInside() async throws {
        let run = try await HostileRun { _, _ in .normal }
        defer { Task { await run.stop() } }
        try FileManager.default.createDirectory(atPath: run.scratch.path("store"), withIntermediateDirectories: true)
        try link("renders", in: run.scratch, to: "store")
        let result = try await run.apply()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: run.scratch.path("store/a.mp4")))
    }

    @Test("a manifest path leading outside the project is refused by field; the file is never read")
    func manifestPathOut() async throws {
        let (run, outside) = try await rendered()
        defer { Task { await run.stop() } }
        let victim = try outside.write("victim", "precious")
        try editManifest(run) { a in
            a["files"] = [["path": "../../../../\(victim.path)", "bytes": 8, "sha256": sha256(Data("precious".utf8))]]
        }
        for command in [["plan", "film.yaml"], ["status", "film.yaml", "--verify"], ["apply", "film.yaml", "--yes"]] {
            let result = try await run.run(command)
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains("shots.a.files[0].path"), "\(command): \(result.stderr)")
        }
    }

    @Test("a render that is a link to an outside file is never hashed, nor written through")
    func renderLink() async throws {
        let (run, outside) = try await rendered()
        defer { Task { await run.stop() } }
        let victim = outside.url.appendingPathComponent("victim")
        try HostileServer.video.write(to: victim)
        try FileManager.default.removeItem(atPath: run.scratch.path("renders/a.mp4"))
        try link("renders/a.mp4", in: run.scratch, to: victim.path)
        let status = try await run.run(["status", "film.yaml", "--verify", "--json"])
        #expect(status.stdout.contains(#""state" : "modified""#), "\(status.stdout)")
        let plan = try await run.run(["plan", "film.yaml"])
        #expect(plan.stdout.contains("is a symbolic link, not a render"), "\(plan.stdout)")
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stdout.contains("move it away"), "\(result.stdout)")
        #expect(try Data(contentsOf: victim) == HostileServer.video)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: run.scratch.path("renders/a.mp4")) == victim.path)
    }

    @Test("output: . writes beside the project file and records a relative path")
    func outputDot() async throws {
        let (run, _) = try await rendered(
            HostileRun.oneShot.replacingOccurrences(of: "shots:", with: "output: .\nshots:"))
        defer { Task { await run.stop() } }
        #expect(FileManager.default.fileExists(atPath: run.scratch.path("a.mp4")))
        #expect((run.shot["files"] as? [[String: Any]])?.first?["path"] as? String == "a.mp4")
    }

    @Test("a shot's second video and the shot `a-2` cannot share a file name")
    func secondVideoNames() async throws {
        let yaml = """
            version: 1
            shots:
              a:
                type: std-text-to-video
                prompt: first
              a-2:
                type: std-text-to-video
                prompt: second
            """
        let run = try await HostileRun(yaml) { call, base in
            switch call.path {
            case "/api/generate": return HostileServer.created(call.body.contains("first") ? "n75first" : "n75second")
            case "/api/status" where call.query.contains("n75first"):
                return HostileServer.succeeded("n75first", urls: ["\(base)/videos/1.mp4", "\(base)/videos/2.mp4"])
            case "/api/status": return HostileServer.succeeded("n75second", urls: ["\(base)/videos/3.mp4"])
            default: return .raw(200, HostileServer.mp4Head + Data("video \(call.path)".utf8))
            }
        }
        defer { Task { await run.stop() } }
        let result = try await run.apply()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for (name, video) in [("a.mp4", "1"), ("a.2.mp4", "2"), ("a-2.mp4", "3")] {
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: run.scratch.path("renders/\(name)")))
                    == HostileServer.mp4Head + Data("video /videos/\(video).mp4".utf8))
        }
    }

    @Test("manifest credits of Int.max: refused by field, no overflow, nothing sent")
    func hugeManifestCredits() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        try editManifest(run) { $0["consumed_credits"] = Int.max }
        for command in [["plan", "film.yaml"], ["accept", "film.yaml", "a"], ["apply", "film.yaml", "--yes"]] {
            let result = try await run.run(command)
            #expect(result.status == 1, "\(command)")
            #expect(
                result.stderr.contains("shots.a.consumed_credits must be from 0 to"), "\(command): \(result.stderr)")
        }
        #expect(run.server.count("POST", "/api/generate") == 1)
    }

    @Test("a doctored asset record (a path out of the project, a negative size) is refused by field, nothing sent")
    func doctoredAssets() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        let url = run.scratch.url.appendingPathComponent("film.manifest.json")
        let good: [String: Any] = [
            "sha256": String(repeating: "a", count: 64), "bytes": 10, "store": "s3://b/", "key": "k.png",
            "url_lifetime": 60,
        ]
        for (path, change, message) in [
            ("../../etc/passwd", [String: Any](), "`assets` holds `../../etc/passwd`, which is not a path inside"),
            ("boards/a.png", ["bytes": -1], "assets.boards/a.png.bytes must be from 0 to"),
            ("boards/a.png", ["url_lifetime": 10_000_000], "assets.boards/a.png.url_lifetime must be from 1 to"),
        ] as [(String, [String: Any], String)] {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            object["assets"] = [path: good.merging(change) { $1 }]
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
            let result = try await run.run(["plan", "film.yaml"])
            #expect(result.status == 1)
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
        #expect(run.server.count("POST", "/api/generate") == 1)
    }

    @Test("a manifest that says running with no task is uncertain, never a silent submission")
    func runningWithoutTask() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        try editManifest(run) { a in
            a["status"] = "running"
            a["task_id"] = NSNull()
        }
        let plan = try await run.run(["plan", "film.yaml"])
        #expect(plan.stdout.contains("uncertain"))
        #expect(plan.stdout.contains("0 credits") || plan.stdout.contains("Plan: 0"), "\(plan.stdout)")
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(run.server.count("POST", "/api/generate") == 1, "no second submission")
    }

    @Test("a manifest that says succeeded with no URL plans a re-render with its credits, and asks")
    func succeededWithoutURL() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        try editManifest(run) { a in
            a["urls"] = [String]()
            a["files"] = [Any]()
        }
        let plan = try await run.run(["plan", "film.yaml", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
        #expect((object?["total_credits"] as? Int ?? 0) > 0, "the plan shows what it costs")
        let noConsent = try await run.run(["apply", "film.yaml"])
        #expect(noConsent.status == 1)
        #expect(noConsent.stderr.contains("pass --yes"))
        #expect(run.server.count("POST", "/api/generate") == 1)
    }

    @Test("an output that names an existing file is refused before the first request")
    func outputIsAFile() async throws {
        let run = try await HostileRun(
            HostileRun.oneShot.replacingOccurrences(of: "shots:", with: "output: out.txt\nshots:")
        ) { _, _ in .normal }
        defer { Task { await run.stop() } }
        try run.scratch.write("out.txt", "not a folder")
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stderr.contains("out.txt: is a regular file, not a folder"), "\(result.stderr)")
        #expect(run.server.calls.isEmpty)
    }

    @Test(
        "a doctored saved plan is refused: it must be exactly the plan made again from project and manifest",
        arguments: ["free", "duplicate", "fingerprint", "escape", "over-budget"])
    func doctoredPlan(_ doctoring: String) async throws {
        let yaml = HostileRun.oneShot.replacingOccurrences(of: "shots:", with: "budget: 1000\nshots:")
        let run = try await HostileRun(yaml) { _, _ in .normal }
        defer { Task { await run.stop() } }
        #expect(try await run.run(["plan", "film.yaml", "--out", "film.plan"]).status == 0)
        let url = run.scratch.url.appendingPathComponent("film.plan")
        var saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var plan = try #require(saved["plan"] as? [String: Any])
        var shots = try #require(plan["shots"] as? [[String: Any]])
        switch doctoring {
        case "free":
            shots[0]["credits"] = 0
            plan["total_credits"] = 0
        case "duplicate": shots = shots + shots + shots
        case "fingerprint": shots[0]["fingerprint"] = String(repeating: "0", count: 64)
        case "escape": saved["project_file"] = "../../../../etc/film.yaml"
        // A saved plan cannot raise the budget it was made under.
        case "over-budget":
            plan["budget"] = 1_000_000
            plan["spent_credits"] = 0
            plan["max_credits"] = 1_000_000
        default: break
        }
        plan["shots"] = shots
        saved["plan"] = plan
        try JSONSerialization.data(withJSONObject: saved, options: [.sortedKeys]).write(to: url)
        let result = try await run.run(["apply", "film.plan"])
        #expect(result.status == 1, "\(doctoring): \(result.stdout)")
        #expect(run.server.calls.isEmpty, "\(doctoring): nothing was sent")
    }

    @Test("an intact saved plan applies without asking")
    func intactPlan() async throws {
        let run = try await HostileRun { _, _ in .normal }
        defer { Task { await run.stop() } }
        #expect(try await run.run(["plan", "film.yaml", "--out", "film.plan"]).status == 0)
        let result = try await run.run(["apply", "film.plan"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(run.server.count("POST", "/api/generate") == 1)
    }

    @Test("another endpoint in a shared manifest: both hosts shown, the key never pointed at it")
    func foreignEndpoint() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        try editManifest(run) { a in
            a["status"] = "running"
            a["task_id"] = "n75elsewhere"
            a["urls"] = [String]()
            a["files"] = [Any]()
        }
        let url = run.scratch.url.appendingPathComponent("film.manifest.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["endpoint"] = "https://collect-keys.example"
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        let before = run.server.calls.count
        let result = try await run.apply()
        #expect(result.status == 1)
        #expect(result.stderr.contains("https://collect-keys.example") && result.stderr.contains(run.server.baseURL))
        #expect(!result.stderr.contains("point --endpoint"))
        #expect(run.server.calls.count == before, "nothing was sent")
    }

    @Test("a project name and ids with escape codes are printed escaped")
    func escapedProjectName() async throws {
        let run = try await HostileRun(
            HostileRun.oneShot.replacingOccurrences(
                of: "shots:", with: "name: \"evil\\e[31m\\nApply complete: 9 rendered.\"\nshots:")
        ) { _, _ in .normal }
        defer { Task { await run.stop() } }
        let plan = try await run.run(["plan", "film.yaml"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(!plan.stdout.contains("\u{1B}"))
        #expect(plan.stdout.contains(#"evil\u{1B}[31m\nApply complete"#), "\(plan.stdout)")
    }

    @Test("a manifest URL into the local network, with a public endpoint, is refused by field; nothing is fetched")
    func manifestURLIntoLocalNetwork() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        let url = run.scratch.url.appendingPathComponent("film.manifest.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["endpoint"] = "https://kling3api.com"
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        try editManifest(run) { $0["urls"] = ["http://169.254.169.254/latest/meta-data/iam/security-credentials/x"] }
        try FileManager.default.removeItem(atPath: run.scratch.path("renders/a.mp4"))
        let before = run.server.calls.count
        let plan = try await run.run(["plan", "film.yaml"])
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("shots.a.urls[0] points into a local or private network"), "\(plan.stderr)")
        #expect(run.server.calls.count == before)
    }

    @Test("a download names the host it comes from in the plan")
    func downloadHostInPlan() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        try FileManager.default.removeItem(atPath: run.scratch.path("renders/a.mp4"))
        let plan = try await run.run(["plan", "film.yaml"])
        #expect(plan.stdout.contains("fetched again from 127.0.0.1"), "\(plan.stdout)")
    }

    @Test("a saved plan naming its project through a link out of its folder is refused")
    func planThroughLink() async throws {
        let run = try await HostileRun { _, _ in .normal }
        defer { Task { await run.stop() } }
        let victim = try Scratch()
        try victim.write("film.yaml", HostileRun.oneShot)
        #expect(try await CLI.run(["plan", "film.yaml", "--out", "film.plan"], in: victim.url).status == 0)
        try FileManager.default.copyItem(atPath: victim.path("film.plan"), toPath: run.scratch.path("film.plan"))
        try link("link", in: run.scratch, to: victim.url.path)
        let url = run.scratch.url.appendingPathComponent("film.plan")
        var saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        saved["project_file"] = "link/film.yaml"
        try JSONSerialization.data(withJSONObject: saved, options: [.sortedKeys]).write(to: url)
        let result = try await run.run(["apply", "film.plan"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("not a file inside its folder"), "\(result.stderr)")
        #expect(run.server.calls.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: victim.path("film.manifest.json")))
    }

    @Test("a name planted in previous/ is never overwritten; the user's own file is kept beside it")
    func plantedPrevious() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        let edited = Data("my own cut of the shot".utf8)
        try edited.write(to: URL(fileURLWithPath: run.scratch.path("renders/a.mp4")))
        try FileManager.default.createDirectory(
            atPath: run.scratch.path("renders/previous"), withIntermediateDirectories: true)
        let planted = run.scratch.path("renders/previous/a-\(sha256(edited).prefix(12)).mp4")
        try Data("planted".utf8).write(to: URL(fileURLWithPath: planted))
        let result = try await run.apply()
        #expect(result.status == 0, "\(result.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: planted)) == Data("planted".utf8))
        let kept = planted.replacingOccurrences(of: ".mp4", with: "-2.mp4")
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept)) == edited, "the user's file is kept")
    }

    @Test("a project file that links out of its folder is not followed, and its target's lines are not printed")
    func projectFileLink() async throws {
        let scratch = try Scratch()
        let outside = try Scratch()
        let secret = try outside.write("credentials", "aws_secret_access_key = NOT-FOR-YOUR-EYES\n")
        try link("film.yaml", in: scratch, to: secret.path)
        let result = try await CLI.run(["validate", "film.yaml"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("is a symbolic link to a file outside its folder"), "\(result.stderr)")
        #expect(!result.stderr.contains("NOT-FOR-YOUR-EYES"))
    }

    @Test("a 200 KB error in a shared manifest is cut short in the plan")
    func longManifestError() async throws {
        let (run, _) = try await rendered()
        defer { Task { await run.stop() } }
        try editManifest(run) { a in
            a["status"] = "failed"
            a["error"] = String(repeating: "e", count: 200_000)
        }
        let plan = try await run.run(["plan", "film.yaml"])
        #expect(plan.status == 0)
        #expect(plan.stdout.utf8.count < 5_000)
    }
}
