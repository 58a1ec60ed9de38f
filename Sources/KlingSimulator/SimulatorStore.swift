import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// A loopback stand-in for an S3 bucket, so that a rehearsal hosts local files and frames with
/// no cloud account: `PUT`, `HEAD` and `GET /_store/BUCKET/KEY`, path-style, in memory for as
/// long as the simulator runs. Signatures are not checked (it listens on loopback only).
actor StoreObjects {
    struct Object {
        var data: Data
        var contentType: String
    }

    private var objects: [String: Object] = [:]
    private(set) var puts = 0

    func put(_ key: String, _ object: Object) {
        objects[key] = object
        puts += 1
    }

    func get(_ key: String) -> Object? { objects[key] }
}

extension SimulatorServer {
    /// The largest object the rehearsal store takes.
    static let maxObject = 256 << 20

    static func addStoreRoutes(to router: Router<SimulatorContext>, objects: StoreObjects, state: SimulatorState) {
        router.put("/_store/**") { request, context in
            await state.count("PUT /_store")
            let key = context.parameters.getCatchAll().joined(separator: "/")
            let body = try await request.body.collect(upTo: maxObject)
            let type = request.headers[.contentType] ?? "application/octet-stream"
            await objects.put(key, .init(data: Data(buffer: body), contentType: type))
            return Response(status: .ok)
        }
        router.head("/_store/**") { _, context in
            await state.count("HEAD /_store")
            let key = context.parameters.getCatchAll().joined(separator: "/")
            guard let object = await objects.get(key) else { return Response(status: .notFound) }
            var headers = HTTPFields()
            headers[.contentLength] = String(object.data.count)
            headers[.contentType] = object.contentType
            return Response(status: .ok, headers: headers)
        }
        router.get("/_store/**") { request, context in
            await state.count("GET /_store")
            let key = context.parameters.getCatchAll().joined(separator: "/")
            guard let object = await objects.get(key) else { return error(404, "NoSuchKey", "No such object") }
            var response = serve(VideoSource(storage: .data(object.data)), range: request.headers[.range])
            response.headers[.contentType] = object.contentType
            return response
        }
    }
}

/// What the simulator does with a request's input URLs before it creates a task, as the real
/// service must: fetch the first bytes of each one on a loopback host (itself, a local S3)
/// (other hosts only with `fetchInputs`), and refuse the task with a 400 when one is unreachable
/// (`INPUT_UNREACHABLE`), expired (`INPUT_EXPIRED`: 403, 404 or 410) or not the media its field
/// takes (`INPUT_MEDIA_TYPE`).
struct InputCheck: Sendable {
    var fetchOthers: Bool
    var timeout: TimeAmount

    /// Redirects are not followed: an input is the URL the request names.
    static let http = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    struct Refusal: Error {
        var code: String
        var message: String
    }

    static let imageFields = ["image", "end_image", "images"]

    func check(_ body: [String: SimJSON]) async -> Refusal? {
        var inputs: [(field: String, url: String)] = []
        for field in Self.imageFields + ["video"] {
            switch body[field] {
            case .string(let url)?: inputs.append((field, url))
            case .array(let items)?:
                for case .string(let url) in items { inputs.append((field, url)) }
            default: continue
            }
        }
        // Only web addresses are fetched (never a unix socket or a file, whatever the client
        // takes); the API's rules refuse the others.
        for (field, url) in inputs where shouldFetch(url) {
            if let refusal = await fetch(url, field: field) { return refusal }
        }
        return nil
    }

    static func isWeb(_ url: String) -> Bool {
        let scheme = URLComponents(string: url)?.scheme?.lowercased()
        return scheme == "http" || scheme == "https"
    }

    func shouldFetch(_ url: String) -> Bool {
        guard Self.isWeb(url), let components = URLComponents(string: url),
            let host = components.host?.lowercased()
        else { return false }
        if fetchOthers { return true }
        // Loopback only (the simulator's own videos and store are there), by address: `localhost`,
        // ::1, or four numbers starting with 127 — never a name that merely starts like one.
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let loopbackV4 = parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
        return host == "localhost" || loopbackV4 || host == "::1" || host == "[::1]"
    }

    private func fetch(_ url: String, field: String) async -> Refusal? {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Range", value: "bytes=0-31")
        let head: Data
        do {
            let response = try await Self.http.execute(request, timeout: timeout)
            let status = Int(response.status.code)
            if [403, 404, 410].contains(status) {
                return Refusal(code: "INPUT_EXPIRED", message: "The \(field) URL answers \(status): expired or gone")
            }
            guard status == 200 || status == 206 else {
                return Refusal(code: "INPUT_UNREACHABLE", message: "The \(field) URL answers \(status)")
            }
            head = Data(buffer: try await firstBytes(response))
        } catch {
            return Refusal(code: "INPUT_UNREACHABLE", message: "The \(field) URL cannot be fetched")
        }
        let isImage = Self.imageFields.contains(field)
        guard Self.looksLike(image: isImage, [UInt8](head)) else {
            return Refusal(
                code: "INPUT_MEDIA_TYPE",
                message:
                    "The \(field) URL does not hold \(isImage ? "a PNG, JPEG or WebP image" : "an MP4 or MOV video")")
        }
        return nil
    }

    /// An input's bytes, for the clip that shows it: only where `check` fetches, at most `limit`
    /// bytes, nil on any failure (the clip then goes without it).
    func download(_ url: String, limit: Int) async -> Data? {
        guard shouldFetch(url) else { return nil }
        let timeout = self.timeout
        // The whole answer within the time-out, its body included: a server that stalls after its
        // headers is given up on.
        return try? await withThrowingTaskGroup(of: Data?.self) { group in
            group.addTask {
                let response = try await Self.http.execute(HTTPClientRequest(url: url), timeout: timeout)
                guard response.status.code == 200 else { return nil }
                return Data(buffer: try await response.body.collect(upTo: limit))
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(max(0, timeout.nanoseconds)))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func firstBytes(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await var chunk in response.body {
            collected.writeBuffer(&chunk)
            if collected.readableBytes >= 32 { break }
        }
        return collected
    }

    /// Magic bytes, written apart from the client's so that one can catch the other's mistakes.
    static func looksLike(image: Bool, _ b: [UInt8]) -> Bool {
        guard b.count >= 12 else { return false }
        if image {
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47]
            let riff = Array("RIFF".utf8)
            let webp = Array("WEBP".utf8)
            return Array(b[0..<4]) == png || (b[0] == 0xFF && b[1] == 0xD8)
                || (Array(b[0..<4]) == riff && Array(b[8..<12]) == webp)
        }
        let box = String(decoding: b[4..<8], as: UTF8.self)
        return ["ftyp", "moov", "mdat", "wide", "free"].contains(box)
    }
}
