import Foundation
import Hummingbird
import KlingRenderCore
import Logging

/// `kling-render review FILE --serve`: the review page on loopback, with a Pick control on each
/// take that edits the project file as `kling-render pick` does.
///
/// Only what a page on this machine asks is answered: every request must name this server's
/// own loopback host and port (no other name, so a DNS-rebinding page cannot reach it), files are
/// served only from inside the project's folder and only as pictures, videos and sound, and a
/// pick needs the page's per-run token and a loopback `Origin` (no cross-site request can pick).
package struct ReviewServer: Sendable {
    /// The project as it is on disk now: read again for each page and each pick.
    package var load: @Sendable () async throws -> Workspace
    /// Made fresh per run; only the served page holds it.
    package var token: String
    package var ffmpeg: String?
    package var dot: String?

    package init(load: @escaping @Sendable () async throws -> Workspace, ffmpeg: String?, dot: String?) {
        self.load = load
        self.ffmpeg = ffmpeg
        self.dot = dot
        var generator = SystemRandomNumberGenerator()
        token = (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }

    /// The largest pick request read.
    static let maxBody = 4096

    /// Runs until SIGINT or SIGTERM; `onListening` gets the page's URL once the port is bound.
    package func serve(port: Int, onListening: @escaping @Sendable (String) -> Void) async throws {
        let bound = BoundPort()
        // Where the page and the files are do not change while it serves: read once, not per request.
        let paths = try await load().paths
        let page = paths.inOutput(ReviewPage.fileName)
        let router = Router()
        let picks = PickQueue()
        router.get("/") { request, _ in
            guard let port = await bound.check(request) else { return Self.refused("not this server's address") }
            return Response(status: .seeOther, headers: [.location: "http://127.0.0.1:\(port)/\(page)"])
        }
        router.get("/_review/pick.js") { request, _ in
            guard await bound.check(request) != nil else { return Self.refused("not this server's address") }
            return Self.body(Data(Self.script.utf8), type: "text/javascript; charset=utf-8")
        }
        router.post("/_review/pick") { request, _ in
            guard let port = await bound.check(request) else { return Self.refused("not this server's address") }
            guard Self.sameOrigin(request.headers[.origin], port: port) else {
                return Self.refused("a pick is taken only from this server's own page")
            }
            guard let sent = request.headers.first(where: { $0.name.canonicalName == "x-kling-render-token" })?.value,
                Self.equalInConstantTime(sent, token)
            else { return Self.refused("a pick needs the token of this run's page: reload it") }
            let data = Data(buffer: try await request.body.collect(upTo: Self.maxBody))
            guard let asked = try? JSONDecoder().decode(PickRequest.self, from: data), asked.take >= 1 else {
                return Self.json(400, ["error": "the request names no shot and take"])
            }
            await picks.acquire()
            let answer = await pick(asked)
            await picks.release()
            return answer
        }
        router.get("/**") { request, _ in
            guard await bound.check(request) != nil else { return Self.refused("not this server's address") }
            return await file(request, page: page, root: paths.root)
        }
        var logger = Logger(label: "kling-render-review")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "kling-render-review"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? port
                await bound.set(port)
                onListening("http://127.0.0.1:\(port)/\(page)")
            },
            logger: logger)
        try await app.runService()
    }

    struct PickRequest: Decodable {
        var shot: String
        var take: Int
    }

    /// The edit, as `kling-render pick` makes it, on the file as it is now.
    private func pick(_ asked: PickRequest) async -> Response {
        let workspace: Workspace
        do {
            workspace = try await load()
        } catch {
            return Self.json(409, ["error": Printable.short("\(error)", limit: 400)])
        }
        switch PickFile.pick(workspace, shot: asked.shot, take: asked.take) {
        case .failure(let refusal): return Self.json(409, ["error": refusal.message])
        case .success(let picked):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Self.body((try? encoder.encode(picked)) ?? Data("{}".utf8), type: "application/json")
        }
    }

    /// The page (made now, with the token), or a picture, video or sound inside the project's folder.
    private func file(_ request: Request, page: String, root: ProjectFolder) async -> Response {
        guard let path = request.uri.path.removingPercentEncoding.map({ String($0.dropFirst()) }),
            let relative = try? ProjectFolder.normalize(path)
        else { return Self.json(404, ["error": "no such file"]) }
        if relative == page {
            do {
                let workspace = try await load()
                let html = try await ReviewPage(workspace: workspace, ffmpeg: ffmpeg, dot: dot).served(token: token)
                var response = Self.body(Data(html.utf8), type: "text/html; charset=utf-8")
                response.headers[.cacheControl] = "no-store"
                // No other site may frame the page and steer a click onto a Pick button.
                response.headers[.contentSecurityPolicy] = ReviewHTML.policy(served: true) + "; frame-ancestors 'none'"
                if let name = HTTPFields.Element.Name("X-Frame-Options") { response.headers[name] = "DENY" }
                return response
            } catch {
                return Self.json(500, ["error": Printable.short("\(error)", limit: 400)])
            }
        }
        // Media only, and never from a hidden file or folder (`.env.mp4`, the segment cache).
        guard let type = Self.mediaTypes[URL(fileURLWithPath: relative).pathExtension.lowercased()],
            !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }),
            let handle = try? root.openForReading(relative),
            let size = try? handle.seekToEnd()
        else { return Self.json(404, ["error": "no such file"]) }
        return Self.ranged(handle, size: Int(size), type: type, range: request.headers[.range])
    }

    static let mediaTypes = [
        "mp4": "video/mp4", "m4v": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "png": "image/png",
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "mp3": "audio/mpeg", "m4a": "audio/mp4",
        "wav": "audio/wav",
    ]

    /// The bytes a `Range` header asks of a file of `size` bytes: `bytes=A-B`, `bytes=A-` or the
    /// last N (`bytes=-N`), one range only. nil: the whole file (no header, or one this server
    /// does not serve ranges for); `.failure`: unsatisfiable (416).
    static func byteRange(_ header: String?, size: Int) -> Result<ClosedRange<Int>, RangeRefused>? {
        guard let header else { return nil }
        guard header.hasPrefix("bytes="), size > 0 else { return .failure(RangeRefused()) }
        let spec = header.dropFirst(6)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let digits = { (s: Substring) in !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }
        guard parts.count == 2 else { return .failure(RangeRefused()) }
        let (a, b) = (parts[0], parts[1])
        if a.isEmpty {
            guard digits(b), let n = Int(b), n > 0 else { return .failure(RangeRefused()) }
            return .success(max(0, size - n)...(size - 1))
        }
        guard digits(a), let start = Int(a), start < size else { return .failure(RangeRefused()) }
        if b.isEmpty { return .success(start...(size - 1)) }
        guard digits(b), let end = Int(b), end >= start else { return .failure(RangeRefused()) }
        return .success(start...min(end, size - 1))
    }

    struct RangeRefused: Error {}

    /// The file, or the range asked, streamed in 64 KiB reads: never the whole file in memory.
    static func ranged(_ handle: FileHandle, size: Int, type: String, range: String?) -> Response {
        var headers: HTTPFields = [.contentType: type, .acceptRanges: "bytes"]
        var status = HTTPResponse.Status.ok
        var span = 0...(size - 1)
        switch byteRange(range, size: size) {
        case nil: break
        case .failure?:
            try? handle.close()
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        case .success(let asked)?:
            span = asked
            status = .partialContent
            headers[.contentRange] = "bytes \(asked.lowerBound)-\(asked.upperBound)/\(size)"
        }
        if size == 0 {
            try? handle.close()
            return Response(status: .ok, headers: headers)
        }
        let (first, count) = (span.lowerBound, span.count)
        let body = ResponseBody(contentLength: count) { writer in
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(first))
            var left = count
            while left > 0 {
                guard let chunk = try handle.read(upToCount: min(64 << 10, left)), !chunk.isEmpty else { break }
                try await writer.write(ByteBuffer(bytes: chunk))
                left -= chunk.count
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// `http://127.0.0.1:PORT` or `http://localhost:PORT`, exactly.
    static func sameOrigin(_ origin: String?, port: Int) -> Bool {
        guard let origin else { return false }
        return origin == "http://127.0.0.1:\(port)" || origin == "http://localhost:\(port)"
    }

    static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func refused(_ why: String) -> Response { json(403, ["error": why]) }

    static func json(_ status: Int, _ value: [String: String]) -> Response {
        var response = body((try? JSONEncoder().encode(value)) ?? Data("{}".utf8), type: "application/json")
        response.status = .init(code: status)
        return response
    }

    static func body(_ data: Data, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The port once bound, and the check that a request names it: `Host` must be this server's
/// loopback address, never another name that happens to resolve here.
actor BoundPort {
    private var port: Int?

    func set(_ port: Int) { self.port = port }

    /// The port, when the request's `Host` is `127.0.0.1:PORT` or `localhost:PORT`.
    func check(_ request: Request) -> Int? {
        guard let port, let host = request.head.authority else { return nil }
        return host == "127.0.0.1:\(port)" || host == "localhost:\(port)" ? port : nil
    }
}

/// One pick at a time: each reads the file the one before wrote.
actor PickQueue {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
    }

    /// Hands the turn to the next in line, or frees it.
    func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

extension ReviewServer {
    /// The served page's one script: each Pick button posts its shot and take with the page's
    /// token, shows the line the server changed, and brings the shots up to date from the page
    /// as the server now makes it.
    static let script = """
        'use strict';
        const token = document.querySelector('meta[name="kling-render-token"]').content;
        const note = document.getElementById('picked');

        async function refresh() {
          const answer = await fetch(location.pathname, { cache: 'no-store' });
          const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html');
          document.querySelector('main').replaceWith(document.adoptNode(fresh.querySelector('main')));
          wire();
        }

        async function pick(button) {
          button.disabled = true;
          try {
            const answer = await fetch('/_review/pick', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', 'X-Kling-Render-Token': token },
              body: JSON.stringify({ shot: button.dataset.shot, take: Number(button.dataset.take) }),
            });
            const said = await answer.json();
            if (!answer.ok) {
              note.className = 'picked-note failed';
              note.textContent = said.error || ('refused: ' + answer.status);
              return;
            }
            note.className = 'picked-note';
            note.textContent = said.changed
              ? `${said.file}:${said.line}: ${said.text} (${said.shot}): kling-render plan ${said.file} shows what it changes`
              : `${said.file}:${said.line}: ${said.shot} already picks take ${said.take}; nothing was written`;
            await refresh();
          } catch (error) {
            note.className = 'picked-note failed';
            note.textContent = 'the pick did not reach kling-render: ' + error;
          } finally {
            button.disabled = false;
          }
        }

        function wire() {
          for (const button of document.querySelectorAll('button.pick')) {
            button.addEventListener('click', () => pick(button));
          }
        }
        wire();
        """
}
