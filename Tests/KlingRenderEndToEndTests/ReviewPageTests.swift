import Foundation
import KlingTestSupport
import Testing

/// `scripts/browser-check.py`: the page opened in headless Chromium (Debian's), driven over the
/// DevTools protocol; what the page's DOM says after its videos have loaded or failed.
enum Browser {
    struct Report {
        var result: [String: Any]
        var problems: [String]
    }

    /// What `script` (a JavaScript expression) gives on `page`, and every console error, uncaught
    /// exception, logged error and failed load of the page.
    static func check(_ page: URL, script: String, screenshot: URL? = nil) async throws -> Report {
        try await check(address: page.path, script: script, screenshot: screenshot)
    }

    /// The same for a file's path or a page served on loopback.
    static func check(address page: String, script: String, screenshot: URL? = nil) async throws -> Report {
        let js = FileManager.default.temporaryDirectory.appendingPathComponent("review-check-\(UUID().uuidString).js")
        try script.write(to: js, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: js) }
        var arguments = [
            "python3", CLI.repository.appendingPathComponent("scripts/browser-check.py").path, page, "--eval",
            js.path,
        ]
        if let screenshot { arguments += ["--screenshot", screenshot.path] }
        let result = try await CLI.runProgram("/usr/bin/env", arguments)
        #expect(result.status == 0, "browser-check: \(result.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        var problems: [String] = []
        for key in ["console_errors", "exceptions", "log_errors"] {
            problems += (object[key] as? [Any] ?? []).map { "\(key): \($0)" }
        }
        problems += (object["failed_loads"] as? [Any] ?? []).map { "failed load: \($0)" }
        return Report(result: object["result"] as? [String: Any] ?? [:], problems: problems)
    }

    /// The page's facts the tests assert.
    static let facts = """
        (() => ({
          videos: [...document.querySelectorAll('video')].map(v => ({
            shot: v.closest('article').dataset.shot, take: v.closest('figure').dataset.take,
            ready: v.readyState, error: v.error ? v.error.code : null, poster: v.getAttribute('poster') })),
          picked: [...document.querySelectorAll('figure.take.picked')].map(f => f.closest('article').dataset.shot + ':' + f.dataset.take),
          marked: [...document.querySelectorAll('figure.take.picked figcaption')].every(c => c.textContent.includes('picked')),
          shots: [...document.querySelectorAll('article.shot')].map(a => a.dataset.shot + ':' + a.dataset.status),
          nodes: [...document.querySelectorAll('#graph svg g.node title')].map(t => t.textContent),
          nodeLinks: [...document.querySelectorAll('#graph svg g.node a')].map(a => a.getAttribute('xlink:href') || a.getAttribute('href')),
          targets: [...document.querySelectorAll('#graph svg g.node a')].every(a => document.querySelector((a.getAttribute('xlink:href') || a.getAttribute('href'))) !== null),
          links: [...document.querySelectorAll('[src],[href],[poster]')].map(e => e.getAttribute('src') || e.getAttribute('poster') || e.getAttribute('href')),
          reasons: [...document.querySelectorAll('.reason')].map(r => r.textContent),
          scripts: document.querySelectorAll('script').length,
          images: document.querySelectorAll('img').length,
        }))()
        """
}

extension CLI {
    /// Any program, off the cooperative pool.
    static func runProgram(_ program: String, _ arguments: [String], in directory: URL? = nil) async throws -> Result {
        try await offPool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
            if let directory { process.currentDirectoryURL = directory }
            let (out, err) = (Pipe(), Pipe())
            process.standardOutput = out
            process.standardError = err
            try process.run()
            // Both pipes drained at once: a full one would hold the program.
            let errors = Collected()
            let reader = Thread { errors.set(err.fileHandleForReading.readDataToEndOfFile()) }
            reader.start()
            let output = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            errors.wait()
            return Result(
                status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                stderr: String(decoding: errors.data, as: UTF8.self))
        }
    }
}

/// Bytes read on another thread, handed over once.
final class Collected: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private(set) var data = Data()

    func set(_ data: Data) {
        self.data = data
        done.signal()
    }

    func wait() { done.wait() }
}

/// One at a time: each starts Chromium.
@Suite("The review page, opened in headless Chromium", .serialized)
struct ReviewPageTests {
    static let film = """
        version: 1
        name: Harbour at dawn
        shots:
          sunrise:
            type: std-text-to-video
            prompt: a sunrise over the harbour
            takes: 3
            pick: 2
          snow:
            type: o3-std-video-edit
            prompt: make it snow
            video: ${shots.sunrise.video}
          storm:
            type: std-text-to-video
            prompt: FAILME a storm
            duration: 10

        """

    @Test(
        "apply writes the page: every take plays, the pick is marked, the graph links each shot, failures say why, nothing errs; zipped elsewhere it still plays"
    )
    func inChromium() async throws {
        let r = try await Rehearsal(Self.film) {
            $0.useFFmpeg = true
            $0.failPrompts = ["FAILME"]
        }
        defer { Task { await r.stop() } }
        let apply = try await r.apply()
        #expect(apply.stdout.contains("Review: renders/review.html (5 takes, 4 videos on disk)"), "\(apply.stdout)")
        let page = r.scratch.url.appendingPathComponent("renders/review.html")
        let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent("kling-review-1280x800.png")
        let report = try await Browser.check(page, script: Browser.facts, screenshot: screenshot)
        #expect(report.problems.isEmpty, "\(report.problems)")
        let facts = report.result
        let videos = facts["videos"] as? [[String: Any]] ?? []
        #expect(
            videos.map { "\($0["shot"] ?? ""):\($0["take"] ?? "")" } == [
                "sunrise:1", "sunrise:2", "sunrise:3", "snow:1",
            ])
        for video in videos {
            #expect((video["ready"] as? Int ?? 0) >= 1 && video["error"] is NSNull, "\(video)")
            #expect((video["poster"] as? String)?.hasPrefix("posters/") == true, "\(video)")
        }
        #expect(facts["picked"] as? [String] == ["sunrise:2", "snow:1", "storm:1"])
        #expect(facts["marked"] as? Bool == true)
        #expect(facts["shots"] as? [String] == ["sunrise:succeeded", "snow:succeeded", "storm:failed"])
        #expect(Set(facts["nodes"] as? [String] ?? []) == ["sunrise", "snow", "storm"])
        #expect(Set(facts["nodeLinks"] as? [String] ?? []) == ["#shot-sunrise", "#shot-snow", "#shot-storm"])
        #expect(facts["targets"] as? Bool == true)
        #expect((facts["reasons"] as? [String] ?? []).count == 1)
        let links = facts["links"] as? [String] ?? []
        #expect(!links.isEmpty && links.allSatisfy { !$0.contains("://") && !$0.hasPrefix("/") }, "\(links)")
        let png = try Data(contentsOf: screenshot)
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 24 && png[16..<24] == Data([0, 0, 5, 0, 0, 0, 3, 0x20]), "1280×800")

        // The output folder, sent to a client: the page still plays from where it lands.
        let sent = FileManager.default.temporaryDirectory.appendingPathComponent("sent-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: sent) }
        try FileManager.default.copyItem(at: r.scratch.url.appendingPathComponent("renders"), to: sent)
        let elsewhere = try await Browser.check(sent.appendingPathComponent("review.html"), script: Browser.facts)
        #expect(elsewhere.problems.isEmpty, "\(elsewhere.problems)")
        #expect(
            (elsewhere.result["videos"] as? [[String: Any]] ?? []).allSatisfy { ($0["ready"] as? Int ?? 0) >= 1 })
    }

    @Test("a manifest's text is shown as text: markup in an error runs nothing and loads nothing")
    func hostileManifestText() async throws {
        let r = try await Rehearsal(Self.film) { $0.failPrompts = ["FAILME"] }
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status != 0)
        let markup = "<script>document.title='owned'</script><img src=x onerror=\"document.title='owned'\">"
        var manifest = try #require(try JSONSerialization.jsonObject(with: r.manifestData ?? Data()) as? [String: Any])
        var shots = try #require(manifest["shots"] as? [String: [String: Any]])
        shots["storm"]?["error"] = markup
        manifest["shots"] = shots
        try JSONSerialization.data(withJSONObject: manifest).write(to: r.manifestURL)
        let review = try await r.run(["review", r.file])
        #expect(review.status == 0, "\(review.stderr)")
        let report = try await Browser.check(
            r.scratch.url.appendingPathComponent("renders/review.html"),
            script:
                "(() => ({ title: document.title, scripts: document.querySelectorAll('script').length, images: document.querySelectorAll('img').length, reasons: [...document.querySelectorAll('.reason')].map(r => r.textContent) }))()"
        )
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.result["title"] as? String == "Harbour at dawn — review")
        #expect(report.result["scripts"] as? Int == 0 && report.result["images"] as? Int == 0)
        #expect(report.result["reasons"] as? [String] == [markup])
    }

    @Test("an interrupted run's temporary files are swept; a second storyboard in the same output folder is named")
    func sweepAndShare() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        _ = try await r.apply(["--target", "storm"])
        let renders = r.scratch.url.appendingPathComponent("renders")
        for name in [".review-graph-42.dot", "posters/0123456789abcdef.jpg.part.7.jpg"] {
            try Data("left".utf8).write(to: renders.appendingPathComponent(name))
        }
        try Data("mine".utf8).write(to: renders.appendingPathComponent("posters/keep-me.jpg"))
        _ = try r.scratch.write("other.yaml", "version: 1\nshots:\n  x:\n    type: std-text-to-video\n    prompt: x\n")
        let other = try await CLI.run(["review", "other.yaml"], in: r.scratch.url, environment: r.environment)
        #expect(
            other.stdout.contains(
                "renders/review.html was the page of film.yaml, which shares this output folder: give each storyboard an `output:` of its own."
            ), "\(other.stdout)")
        #expect(!FileManager.default.fileExists(atPath: renders.appendingPathComponent(".review-graph-42.dot").path))
        let posters = try FileManager.default.contentsOfDirectory(
            atPath: renders.appendingPathComponent("posters").path)
        #expect(!posters.contains { $0.contains(".part.") } && posters.contains("keep-me.jpg"), "\(posters)")
    }

    @Test("links planted in the output folder lead nowhere: nothing is written outside the project")
    func plantedLinks() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        _ = try await r.apply(["--target", "storm"])
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("precious".utf8).write(to: outside.appendingPathComponent("page.html"))
        let renders = r.scratch.url.appendingPathComponent("renders")
        try FileManager.default.removeItem(at: renders.appendingPathComponent("posters"))
        try FileManager.default.removeItem(at: renders.appendingPathComponent("review.html"))
        try FileManager.default.createSymbolicLink(
            at: renders.appendingPathComponent("posters"), withDestinationURL: outside)
        try FileManager.default.createSymbolicLink(
            at: renders.appendingPathComponent("review.html"),
            withDestinationURL: outside.appendingPathComponent("page.html"))
        let review = try await r.run(["review", r.file])
        #expect(review.status == 0, "\(review.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["page.html"])
        #expect(try String(contentsOf: outside.appendingPathComponent("page.html"), encoding: .utf8) == "precious")
        let page = try String(contentsOf: renders.appendingPathComponent("review.html"), encoding: .utf8)
        #expect(page.contains("<article class=\"shot\" id=\"shot-storm\"") && !page.contains("poster="))
    }

    @Test("without ffmpeg and Graphviz the page is still written, says what it lacks and which package brings it")
    func withoutTools() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        _ = try await r.apply()
        var environment = r.environment
        environment["PATH"] = "/nonexistent"
        let review = try await CLI.run(["review", r.file], in: r.scratch.url, environment: environment)
        #expect(review.status == 0, "\(review.stderr)")
        #expect(review.stdout.contains("ffmpeg is not installed (apt-get install ffmpeg)"), "\(review.stdout)")
        #expect(review.stdout.contains("Graphviz is not installed (apt-get install graphviz)"), "\(review.stdout)")
        let report = try await Browser.check(
            r.scratch.url.appendingPathComponent("renders/review.html"), script: Browser.facts)
        #expect(report.problems.isEmpty, "\(report.problems)")
        let videos = report.result["videos"] as? [[String: Any]] ?? []
        #expect(videos.count == 5 && videos.allSatisfy { $0["poster"] is NSNull && ($0["ready"] as? Int ?? 0) >= 1 })
        #expect((report.result["nodes"] as? [String])?.isEmpty == true)
    }
}
