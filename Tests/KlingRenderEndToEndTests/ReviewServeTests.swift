import AsyncHTTPClient
import Foundation
import KlingAPI
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

/// `kling-render review FILE --serve` in a process of its own, as a user runs it.
final class ServedReview: @unchecked Sendable {
    let process = Process()
    /// The page's URL, as printed.
    let url: String

    init(_ arguments: [String], in folder: URL, environment: [String: String]) throws {
        process.executableURL = CLI.binary
        process.arguments = ["review"] + arguments + ["--serve", "--port", "0"]
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        url =
            "http://127.0.0.1:" + (try process.runUntilLine(starting: "Review: http://127.0.0.1:", else: "not served"))
    }

    deinit { if process.isRunning { process.terminate() } }

    /// `http://127.0.0.1:PORT`.
    var origin: String { String(url.prefix { $0 != "/" } + "//" + url.dropFirst(7).prefix { $0 != "/" }) }

    /// A pick request as a page (or another site) would send it: status and body.
    func pick(_ body: String, token: String?, origin: String?, host: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: self.origin + "/_review/pick")
        request.method = .POST
        if let token { request.headers.add(name: "X-Kling-Render-Token", value: token) }
        if let origin { request.headers.add(name: "Origin", value: origin) }
        if let host { request.headers.replaceOrAdd(name: "Host", value: host) }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await KlingClient.sharedHTTPClient.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), text)
    }

    func get(_ path: String, host: String? = nil) async throws -> (Int, String) {
        let (status, _, body) = try await fetch(path, host: host)
        return (status, String(decoding: body, as: UTF8.self))
    }

    /// A GET with its answer's headers and bytes.
    func fetch(_ path: String, host: String? = nil, range: String? = nil) async throws -> (Int, HTTPHeaders, Data) {
        var request = HTTPClientRequest(url: path.hasPrefix("http") ? path : origin + path)
        if let host { request.headers.replaceOrAdd(name: "Host", value: host) }
        if let range { request.headers.add(name: "Range", value: range) }
        let response = try await KlingClient.sharedHTTPClient.execute(request, timeout: .seconds(60))
        return (
            Int(response.status.code), response.headers, Data(buffer: try await response.body.collect(upTo: 64 << 20))
        )
    }
}

@Suite("review --serve: choosing a take where it plays", .serialized)
struct ReviewServeTests {
    static let film = """
        version: 1
        name: served
        shots:
          # The opening: three takes to choose from.
          sunrise:
            type: std-text-to-video
            prompt: "a sunrise, gulls"   # keep the quotes
            duration: 5
            takes: 3
          city:
            type: std-text-to-video
            prompt: the city wakes
            duration: 5
        cut:
          clips:
            - shot: sunrise
              out: 3
            - shot: city
              transition: crossfade 0.5

        """

    @Test(
        "the served page has a Pick per take; Chromium's click changes that one line and the shots refresh; plan then shows only the re-cut; no token, another origin or another host is refused"
    )
    func pickInChromium() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let url = r.scratch.url.appendingPathComponent(r.file)
        let before = try String(contentsOf: url, encoding: .utf8)
        let served = try ServedReview([r.file], in: r.scratch.url, environment: r.environment)
        defer { served.process.terminate() }

        let (status, page) = try await served.get(served.url)
        #expect(status == 200)
        let token = try #require(
            page.components(separatedBy: "name=\"kling-render-token\" content=\"").dropFirst().first?.prefix {
                $0 != "\""
            }
        )
        #expect(page.components(separatedBy: "<button class=\"pick\"").count - 1 == 2, "a Pick on each take not picked")
        // Refused, the file untouched: no token, a wrong one, another site's page, another host name.
        let ask = #"{"shot":"sunrise","take":2}"#
        let refusals = [
            try await served.pick(ask, token: nil, origin: served.origin),
            try await served.pick(ask, token: String(repeating: "0", count: token.count), origin: served.origin),
            try await served.pick(ask, token: String(token), origin: "http://evil.example"),
            try await served.pick(ask, token: String(token), origin: nil),
            try await served.pick(ask, token: String(token), origin: served.origin, host: "evil.example"),
        ]
        #expect(refusals.map(\.0) == [403, 403, 403, 403, 403], "\(refusals)")
        #expect(try String(contentsOf: url, encoding: .utf8) == before)
        // No other site may frame the page and steer a click onto Pick.
        let (_, pageHeaders, _) = try await served.fetch(served.url)
        #expect(pageHeaders.first(name: "X-Frame-Options") == "DENY")
        #expect(pageHeaders.first(name: "Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
        // A video's bytes as asked: a range, the last N, and what is not a range refused.
        let video = "/renders/city.mp4"
        let whole = try Data(contentsOf: r.scratch.url.appendingPathComponent("renders/city.mp4"))
        let (partial, headers, first) = try await served.fetch(video, range: "bytes=5-9")
        #expect(
            partial == 206 && first == whole[5...9]
                && headers.first(name: "Content-Range") == "bytes 5-9/\(whole.count)")
        #expect(try await served.fetch(video, range: "bytes=-10").2 == whole.suffix(10), "the last ten bytes")
        for refused in ["bytes= 5-9", "bytes=-0", "bytes=9-5", "bytes=\(whole.count)-", "items=0-1"] {
            #expect(try await served.fetch(video, range: refused).0 == 416, "\(refused)")
        }
        #expect(try await served.fetch(video).2 == whole)
        // Nothing hidden, whatever its name.
        try Data("SECRET".utf8).write(to: r.scratch.url.appendingPathComponent(".env.mp4"))
        #expect(try await served.get("/.env.mp4").0 == 404)
        // Nothing but media from inside the project's folder.
        #expect(try await served.get("/film.yaml").0 == 404)
        #expect(try await served.get("/film.manifest.json").0 == 404)
        #expect(try await served.get("/%2E%2E/etc/passwd").0 == 404)

        let shot = ProcessInfo.processInfo.environment["KLING_REVIEW_SCREENSHOT"].map { URL(fileURLWithPath: $0) }
        let report = try await Browser.check(
            address: served.url,
            script: """
                (async () => {
                  document.querySelector('article[data-shot="sunrise"] figure[data-take="3"] button.pick').click();
                  const note = document.getElementById('picked');
                  for (let i = 0; i < 200 && !(note.textContent && document.querySelector('article[data-shot="sunrise"] figure[data-take="3"].picked')); i++) {
                    await new Promise(r => setTimeout(r, 100));
                  }
                  // The shot just picked in view, under the note that stays at the top.
                  window.scrollTo(0, document.querySelector('article[data-shot="sunrise"]').offsetTop - 70);
                  return {
                    note: note.textContent,
                    picked: [...document.querySelectorAll('figure.take.picked')].map(f => f.closest('article').dataset.shot + ':' + f.dataset.take),
                    buttons: document.querySelectorAll('button.pick').length,
                  };
                })()
                """, screenshot: shot)
        #expect(report.problems.isEmpty, "\(report.problems)")
        let note = report.result["note"] as? String ?? ""
        #expect(note.hasPrefix("film.yaml:10: pick: 3 (sunrise)"), "\(report.result)")
        #expect(report.result["picked"] as? [String] == ["sunrise:3", "city:1"], "the takes refreshed")
        let after = try String(contentsOf: url, encoding: .utf8)
        #expect(after == before.replacingOccurrences(of: "    takes: 3\n", with: "    takes: 3\n    pick: 3\n"))
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("Plan: 0 to render, 4 unchanged, the cut to assemble"), "\(plan.stdout)")
        let changes = plan.stdout.split(separator: "\n").filter { $0.hasPrefix("      ") }
        #expect(
            changes == ["      clip 1 (sunrise): `take` 1 → 3"], "the re-cut names the clip's new take: \(plan.stdout)")
    }
}
