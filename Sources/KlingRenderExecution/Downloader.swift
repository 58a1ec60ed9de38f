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
    /// The disk refused (full, read-only).
    case disk(String)

    package var description: String {
        switch self {
        case .expired(_, let status): "the video URL has expired (HTTP \(status))"
        case .failed(_, let reason): "download failed: \(reason)"
        case .disk(let reason): "cannot write the video: \(reason)"
        }
    }
}

/// Streams a video to `OUTPUT/.ID.mp4.TAG.part`, resuming it with `Range` when it is there, checks
/// its length, hashes it on the way (SHA-256), and renames it into place. Memory stays flat
/// whatever the size: each chunk goes to disk as it arrives. A file already at the destination
/// that the new one would replace is moved to `OUTPUT/previous/`, never deleted.
package struct Downloader: Sendable {
    package var client: KlingClient
    package var attempts = 5
    package var backoff = Backoff(base: 0.5, cap: 8)
    package var sleep: @Sendable (Double) async throws -> Void

    package init(client: KlingClient, sleep: @escaping @Sendable (Double) async throws -> Void) {
        self.client = client
        self.sleep = sleep
    }

    package func fetch(
        _ url: String, to destination: URL, relativePath: String, onStart: @Sendable (Int64) -> Void = { _ in }
    ) async throws(DownloadError) -> ManifestFile {
        let folder = destination.deletingLastPathComponent()
        let partial = Self.partialFile(for: destination, url: url)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw .disk(error.localizedDescription)
        }
        var lastProblem = ""
        for attempt in 0..<attempts {
            // Interrupted: the partial file stays for the next apply to resume.
            if Task.isCancelled { throw .failed(url: url, reason: "interrupted") }
            if attempt > 0 {
                try? await sleep(backoff.delay(attempt: attempt - 1, unit: Double.random(in: 0..<1)))
            }
            do {
                let (bytes, sha256) = try await attemptFetch(url, partial: partial, onStart: onStart)
                try keepPrevious(destination, unlessSHA256: sha256)
                guard rename(partial.path, destination.path) == 0 else {
                    throw DownloadError.disk("cannot rename \(partial.lastPathComponent) into place")
                }
                AtomicFile.syncFolder(folder)
                return ManifestFile(path: relativePath, bytes: bytes, sha256: sha256)
            } catch let error as KlingAPIError {
                if case .urlExpired(let status) = error { throw .expired(url: url, status: status) }
                lastProblem = "\(error)"
            } catch let error as DownloadError {
                if case .failed(_, let reason) = error {
                    lastProblem = reason
                    continue
                }
                throw error
            } catch {
                lastProblem = "\(error)"
            }
        }
        throw .failed(url: url, reason: lastProblem)
    }

    /// One try: resume from what the partial file holds, append, hash, and check the length.
    private func attemptFetch(_ url: String, partial: URL, onStart: @Sendable (Int64) -> Void) async throws -> (
        Int64, String
    ) {
        if !FileManager.default.fileExists(atPath: partial.path) {
            guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
                throw DownloadError.disk("cannot create \(partial.path)")
            }
        }
        let handle = try FileHandle(forUpdating: partial)
        defer { try? handle.close() }
        var have = Int64(try handle.seekToEnd())
        let writer = ChunkWriter(handle: handle)
        var total: Int64?
        try await client.download(url, from: have) { head in
            total = head.totalLength
            if head.offset == 0 {
                // The server sent the whole file: start over.
                try handle.truncate(atOffset: 0)
                have = 0
            }
            try await writer.begin(keeping: have)
            onStart(have)
        } receive: { chunk in
            try await writer.write(chunk)
        }
        let (written, sha256) = try await writer.finish()
        if let total, written != total {
            throw DownloadError.failed(url: url, reason: "got \(written) of \(total) bytes")
        }
        if total == nil, written == 0 {
            throw DownloadError.failed(url: url, reason: "the server sent no bytes")
        }
        return (written, sha256)
    }

    /// Where a download in progress lives: beside its destination, hidden, named after the URL too,
    /// so that bytes of one render are never resumed into another.
    package static func partialFile(for destination: URL, url: String) -> URL {
        let tag = Digest.sha256Hex(Data(url.utf8)).prefix(12)
        return destination.deletingLastPathComponent().appendingPathComponent(
            ".\(destination.lastPathComponent).\(tag).part")
    }

    /// Moves a different file out of the way, into `previous/`, named by its hash.
    private func keepPrevious(_ destination: URL, unlessSHA256 sha256: String) throws {
        guard FileManager.default.fileExists(atPath: destination.path) else { return }
        let old = (try? FileHash.sha256(of: destination)) ?? ""
        if old == sha256 { return }
        let folder = destination.deletingLastPathComponent().appendingPathComponent("previous")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stem = destination.deletingPathExtension().lastPathComponent
        let kept = folder.appendingPathComponent("\(stem)-\(old.prefix(12)).\(destination.pathExtension)")
        if FileManager.default.fileExists(atPath: kept.path) { return }
        guard rename(destination.path, kept.path) == 0 else {
            throw DownloadError.disk("cannot move the previous \(destination.lastPathComponent) to previous/")
        }
    }
}

/// Appends chunks to the partial file and hashes them, one chunk in memory at a time.
private actor ChunkWriter {
    let handle: FileHandle
    var hasher = StreamingSHA256()
    var written: Int64 = 0

    init(handle: FileHandle) { self.handle = handle }

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

    func write(_ chunk: ByteBuffer) throws {
        let data = Data(buffer: chunk, byteTransferStrategy: .noCopy)
        try handle.write(contentsOf: data)
        hasher.update(data)
        written += Int64(data.count)
    }

    func finish() throws -> (Int64, String) {
        try handle.synchronize()
        return (written, hasher.finalize())
    }
}
