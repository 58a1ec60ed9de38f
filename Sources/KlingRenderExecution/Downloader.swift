import Foundation
import KlingAPI
import KlingRenderCore
import NIOCore
import NIOFoundationCompat

#if canImport(Glibc)
    import Glibc
#endif

/// Why a video could not be fetched.
package enum DownloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL answers 403/404/410: only a new render gives a new one.
    case expired(url: String, status: Int)
    /// Tries ran out; the partial file stays for the next apply to resume.
    case failed(url: String, reason: String)
    /// The disk refused (full, read-only), or a path is refused (a link, outside the project).
    case disk(String)
    /// What the server offers is refused, and would be again: a URL that is not http(s), a video
    /// over the size cap.
    case refused(String)

    package var description: String {
        switch self {
        case .expired(_, let status): "the video URL has expired (HTTP \(status))"
        case .failed(_, let reason): "download failed: \(reason)"
        case .disk(let reason): "cannot write the video: \(reason)"
        case .refused(let reason): "download refused: \(reason)"
        }
    }
}

/// What a download may take: a server that sends forever, or a byte a minute, is cut off.
package struct DownloadLimits: Sendable {
    /// No video is larger (a 15 s 4K video is well under 1 GiB).
    package var maxBytes: Int64 = ManifestCheck.maxVideoBytes
    /// A try that brings fewer than `stallBytes` in this many real seconds has stalled: it is cut
    /// off, and the next try resumes it.
    package var stallSeconds: Double = 30
    package var stallBytes: Int64 = 16 << 10

    package init() {}
}

/// Streams a video to `OUTPUT/.ID.mp4.TAG.part`, resuming it with `Range` when it is there, checks
/// its length, hashes it on the way (SHA-256), and renames it into place. Memory stays flat
/// whatever the size: each chunk goes to disk as it arrives. A file already at the destination
/// that the new one would replace is moved to `OUTPUT/previous/`, never deleted. Every file is
/// touched through the project's folder: a link at any of these names is refused, never followed.
package struct Downloader: Sendable {
    package var api: any KlingService
    package var folder: ProjectFolder
    /// The API's base URL: video URLs may point into a local network only when it does (`URLPolicy`).
    package var endpoint: String
    package var attempts = 5
    package var backoff = Backoff(base: 0.5, cap: 8)
    package var limits = DownloadLimits()
    package var sleep: @Sendable (Double) async throws -> Void
    /// Bytes on disk so far and the whole length when known, about every 256 KiB.
    package var onProgress: @Sendable (Int64, Int64?) -> Void = { _, _ in }

    package init(
        api: any KlingService, folder: ProjectFolder, endpoint: String,
        sleep: @escaping @Sendable (Double) async throws -> Void
    ) {
        self.api = api
        self.endpoint = endpoint
        self.folder = folder
        self.sleep = sleep
    }

    /// Fetches `url` to `path`, relative to the project's folder.
    /// With `expecting`, bytes of another SHA-256 are refused before they reach `path`: the
    /// partial file is removed and nothing at `path` moves.
    package func fetch(
        _ url: String, to path: String, expecting expected: String? = nil,
        onStart: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws(DownloadError) -> ManifestFile {
        // As written here; as it resolves, where the connection is made (`KlingClient`).
        if let problem = URLPolicy.problem(url, endpoint: endpoint) {
            throw .refused("`\(Printable.short(url, limit: 80))` \(problem); it is not fetched")
        }
        let partial = Self.partialFile(for: path, url: url)
        var lastProblem = ""
        for attempt in 0..<attempts {
            // Interrupted: the partial file stays for the next apply to resume.
            if Task.isCancelled { throw .failed(url: url, reason: "interrupted") }
            if attempt > 0 {
                try? await sleep(backoff.delay(attempt: attempt - 1, unit: Double.random(in: 0..<1)))
            }
            do {
                let (bytes, sha256) = try await attemptFetch(url, partial: partial, onStart: onStart)
                if let expected, sha256 != expected {
                    folder.removeOwnFile(partial)
                    throw DownloadError.refused("\(path): what came is not the recorded file (its SHA-256 differs)")
                }
                // Bytes from a server are media only when their first bytes say so: a playlist
                // or a list of files would have ffprobe and ffmpeg open what it names.
                if case .failure(let refusal) = MediaGate.admit(partial, in: folder, accepting: MediaType.videos) {
                    folder.removeOwnFile(partial)
                    throw DownloadError.refused("what the server sent for \(path) \(refusal.reason); it was removed")
                }
                try keepPrevious(path, unlessSHA256: sha256)
                try folder.rename(partial, to: path)
                return ManifestFile(path: path, bytes: bytes, sha256: sha256)
            } catch let error as KlingAPIError {
                if case .urlExpired(let status) = error { throw .expired(url: url, status: status) }
                if case .addressRefused(let reason) = error { throw .refused(reason) }
                // Not the API: the host the video is on.
                if case .notSent(let reason) = error {
                    lastProblem =
                        "cannot reach \(URLComponents(string: url).map { "\($0.host ?? "?")\($0.port.map { ":\($0)" } ?? "")" } ?? "the video's host"): \(reason)"
                    continue
                }
                // A resume the server cannot or will not serve (416, a lying Content-Range): start over.
                if case .unexpectedAnswer(let status, _) = error, status == 206 || status == 416 {
                    folder.removeOwnFile(partial)
                }
                lastProblem = "\(error)"
            } catch let error as DownloadError {
                if case .failed(_, let reason) = error {
                    lastProblem = reason
                    continue
                }
                throw error
            } catch let error as FolderError {
                throw .disk(error.description)
            } catch {
                lastProblem = "\(error)"
            }
        }
        throw .failed(url: url, reason: lastProblem)
    }

    /// One try: resume from what the partial file holds, append, hash, and check the length; cut
    /// off when it stalls or grows past the cap.
    private func attemptFetch(_ url: String, partial: String, onStart: @escaping @Sendable (Int64) -> Void) async throws
        -> (
            Int64, String
        )
    {
        let handle = try folder.openForWriting(partial)
        defer { try? handle.close() }
        let resumeAt = Int64(try handle.seekToEnd())
        let writer = ChunkWriter(handle: handle, maxBytes: limits.maxBytes)
        let limits = self.limits
        let api = self.api
        let progress = self.onProgress
        let total = try await withThrowingTaskGroup(of: Int64??.self, returning: Int64?.self) { group in
            group.addTask {
                var have = resumeAt
                var total: Int64?
                try await api.download(url, from: have) { head in
                    total = head.totalLength
                    if let length = head.totalLength, length > limits.maxBytes {
                        throw DownloadError.refused(
                            "the server offers \(length) bytes, more than the \(limits.maxBytes >> 30) GiB a video may have"
                        )
                    }
                    if head.offset == 0 {
                        // The server sent the whole file: start over.
                        try handle.truncate(atOffset: 0)
                        have = 0
                    }
                    try await writer.begin(keeping: have)
                    onStart(have)
                } receive: { chunk in
                    if let written = try await writer.write(chunk) { progress(written, total) }
                }
                return .some(total)
            }
            group.addTask {
                try await Self.watch(writer, limits: limits)
                return nil
            }
            // The first to end decides: the download (the watchdog is cancelled), or a stall.
            while let result = try await group.next() {
                if let total = result {
                    group.cancelAll()
                    return total
                }
            }
            return nil
        }
        let (written, sha256) = try await writer.finish()
        if let total, written != total {
            // More than the whole file is no resume of it: start over next time.
            if written > total { folder.removeOwnFile(partial) }
            throw DownloadError.failed(url: url, reason: "got \(written) of \(total) bytes")
        }
        if total == nil, written == 0 {
            throw DownloadError.failed(url: url, reason: "the server sent no bytes")
        }
        return (written, sha256)
    }

    /// Throws when a window of `stallSeconds` brings fewer than `stallBytes`; ends when cancelled.
    private static func watch(_ writer: ChunkWriter, limits: DownloadLimits) async throws {
        var seen = await writer.received
        while true {
            do {
                try await Task.sleep(for: .clamped(seconds: limits.stallSeconds))
            } catch {
                return
            }
            let now = await writer.received
            if now - seen < limits.stallBytes {
                throw DownloadError.failed(
                    url: "", reason: "stalled: fewer than \(limits.stallBytes) bytes in \(limits.stallSeconds) s")
            }
            seen = now
        }
    }

    /// Where a download in progress lives: beside its destination, hidden, named after the URL too,
    /// so that bytes of one render are never resumed into another.
    package static func partialFile(for path: String, url: String) -> String {
        let tag = Digest.sha256Hex(Data(url.utf8)).prefix(12)
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(folder).\(name).\(tag).part"
    }

    /// Moves a different file out of the way, into `previous/`, named by its hash. Only a regular
    /// file is moved: a link or anything else at the destination is refused, never followed.
    private func keepPrevious(_ path: String, unlessSHA256 sha256: String) throws {
        switch folder.entry(path) {
        case .missing: return
        case .refused(let error): throw DownloadError.disk(error.description)
        case .other(let kind):
            throw DownloadError.disk(
                "\(path) is \(kind.phrase), not a render; move it away (kling-render writes no video through it)")
        case .file:
            let old = try folder.sha256(path)
            if old == sha256 { return }
            let slash = path.lastIndex(of: "/")
            let parent = slash.map { String(path[...$0]) } ?? ""
            let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
            let stem = name.hasSuffix(".mp4") ? String(name.dropLast(4)) : name
            try folder.directory(parent + "previous", create: true)
            // A name already taken by other bytes (planted, or a collision) is never overwritten.
            for n in 1...100 {
                let kept = "\(parent)previous/\(stem)-\(old.prefix(12))\(n == 1 ? "" : "-\(n)").mp4"
                switch folder.entry(kept) {
                case .missing:
                    return try folder.rename(path, to: kept)
                case .file where (try? folder.sha256(kept)) == old:
                    return  // already kept: the destination's bytes are safe there
                default:
                    continue
                }
            }
            throw DownloadError.disk("cannot keep the previous \(name) under previous/: every name is taken")
        }
    }
}

/// Appends chunks to the partial file and hashes them, one chunk in memory at a time.
private actor ChunkWriter {
    let handle: FileHandle
    let maxBytes: Int64
    var hasher = StreamingSHA256()
    var written: Int64 = 0
    /// Bytes received in this try, for the stall watchdog.
    var received: Int64 = 0

    init(handle: FileHandle, maxBytes: Int64) {
        self.handle = handle
        self.maxBytes = maxBytes
    }

    /// Starts over, hashing the first `length` bytes already in the file (a resumed download).
    func begin(keeping length: Int64) throws {
        hasher = StreamingSHA256()
        written = 0
        try handle.seek(toOffset: 0)
        var left = length
        while left > 0, let chunk = try handle.read(upToCount: Int(min(left, 1 << 20))), !chunk.isEmpty {
            hasher.update(chunk)
            left -= Int64(chunk.count)
            written += Int64(chunk.count)
        }
        try handle.seek(toOffset: UInt64(written))
    }

    /// Returns the bytes written so far when another 256 KiB went to disk (for progress), else nil.
    func write(_ chunk: ByteBuffer) throws -> Int64? {
        guard written + Int64(chunk.readableBytes) <= maxBytes else {
            throw DownloadError.refused("the server sent more than the \(maxBytes >> 30) GiB a video may have")
        }
        received += Int64(chunk.readableBytes)
        let data = Data(buffer: chunk, byteTransferStrategy: .noCopy)
        try handle.write(contentsOf: data)
        hasher.update(data)
        let before = written
        written += Int64(data.count)
        return written / (256 << 10) != before / (256 << 10) ? written : nil
    }

    func finish() throws -> (Int64, String) {
        try handle.synchronize()
        return (written, hasher.finalize())
    }
}
