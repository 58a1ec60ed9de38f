import Foundation
import KlingAPI
import KlingRenderCore

/// What happens to a rendered shot's videos: each fetched to its place under the output folder
/// (`ID.mp4`, `ID.2.mp4`…), checked, hashed, and recorded. Bounded by `--timeout`; a partial
/// file stays for the next apply to resume. With `assets.keep_outputs`, each is also put in the
/// asset store, and a video whose URL has expired (a teammate's render, fetched days later) comes
/// from there instead.
package struct DownloadStep: Step {
    package var id: String
    package var context: RunContext

    package init(id: String, context: RunContext) {
        self.id = id
        self.context = context
    }

    package var resource: Resource { .transfers }

    /// A shot whose render ended but whose download never ran has no file.
    package func notRun(blockedBy: String?, stop: Reason?) -> ShotOutcome {
        .downloadFailed(.stopped(stop ?? .interrupted))
    }

    package func run() async -> StepEnd {
        let urls = await context.outputs.get(id) ?? []
        guard !urls.isEmpty else {
            context.emit(RunEvent.failed(shot: id, reason: .noVideoURL))
            return .ended(.downloadFailed(.noVideoURL))
        }
        var files: [ManifestFile] = []
        for (n, url) in urls.enumerated() {
            let path = context.paths.videoPath(shot: id, number: n + 1)
            do {
                let file = try await fetchOrRecover(url, to: path)
                files.append(file)
                context.emit(DownloadEvent.downloaded(shot: id, file: file))
            } catch {
                return await failed(error, kept: files)
            }
        }
        await keep(files)
        do {
            let kept = files
            try await context.recorder.record(id) { entry in
                entry?.files = kept
                entry?.error = nil
            }
        } catch {
            return .ended(.downloadFailed(.manifestUnwritable(detail: "\(error)")))
        }
        return .success
    }

    private func failed(_ error: DownloadError, kept files: [ManifestFile]) async -> StepEnd {
        let reason: Reason =
            switch error {
            case .expired(_, let status): .urlExpired(status: status)
            default: .download(detail: "\(error)")
            }
        if !Task.isCancelled {
            try? await context.recorder.record(id) { entry in
                // What this run fetched replaces its record; what it did not keeps its record (a
                // teammate's file, its hash the only way to tell a kept copy from a forged one).
                var merged = entry?.files ?? []
                for file in files {
                    if let i = merged.firstIndex(where: { $0.path == file.path }) {
                        merged[i] = file
                    } else {
                        merged.append(file)
                    }
                }
                entry?.files = merged
                entry?.error = "\(error)"
            }
        }
        context.emit(RunEvent.failed(shot: id, reason: reason))
        return .ended(.downloadFailed(reason))
    }

    /// One video from its URL, or, when the URL has expired and the store keeps this file (as
    /// recorded, by its hash), from the store.
    private func fetchOrRecover(_ url: String, to path: String) async throws(DownloadError) -> ManifestFile {
        do {
            return try await fetch(url, to: path)
        } catch .expired(let expiredURL, let status) {
            // Only the very file this render records (a kept copy of an older render of the same
            // shot has another hash), and only under the key its hash gives.
            guard let host = context.store, let kept = await context.recorder.manifest.assets?[path],
                kept.store == host.store.label,
                await context.recorder.entry(id)?.files.contains(where: { $0.path == path && $0.sha256 == kept.sha256 })
                    == true
            else { throw .expired(url: expiredURL, status: status) }
            context.emit(
                RunEvent.warning("\(path): its URL has expired (\(status)); fetching the copy kept in \(kept.store)"))
            // Checked before it replaces anything at `path`.
            return try await fetch(
                host.store.url(for: host.key(sha256: kept.sha256, media: .mp4)), to: path, expecting: kept.sha256)
        }
    }

    /// Each downloaded video put in the store (`keep_outputs`), unless it is there: a failure is a
    /// warning, as the file is safe on disk.
    private func keep(_ files: [ManifestFile]) async {
        guard context.keepOutputs, let host = context.store else { return }
        for file in files where await context.recorder.manifest.assets?[file.path]?.sha256 != file.sha256 {
            let asset = LocalAsset(resolved: file.path, sha256: file.sha256, bytes: file.bytes, media: .mp4)
            do {
                _ = try await UploadStep.host(asset, paths: [file.path], on: host, context: context)
            } catch {
                let detail = (error as? UploadStep.UploadFailure)?.detail ?? "\(error)"
                context.emit(RunEvent.warning("\(file.path) was not kept in the asset store: \(detail)"))
            }
        }
    }

    /// One video, cut off at `--timeout`.
    private func fetch(_ url: String, to path: String, expecting sha256: String? = nil) async throws(DownloadError)
        -> ManifestFile
    {
        let context = self.context
        var downloader = Downloader(api: context.api, folder: context.paths.root, endpoint: context.endpoint) {
            try await context.sleep(apiSeconds: $0)
        }
        downloader.limits = context.options.downloadLimits
        let shot = id
        downloader.onProgress = { bytes, total in
            context.emit(DownloadEvent.progress(shot: shot, file: path, bytes: bytes, total: total))
        }
        let configured = downloader
        let id = self.id
        let fetch = { @Sendable () async throws(DownloadError) -> ManifestFile in
            try await configured.fetch(url, to: path, expecting: sha256) { offset in
                context.emit(DownloadEvent.downloading(shot: id, file: path, resumedAt: offset))
            }
        }
        guard let timeout = context.options.timeout else { return try await fetch() }
        let result = await Deadline.race(after: timeout, on: context.clock) {
            () async -> Result<ManifestFile, DownloadError> in
            do throws(DownloadError) {
                return .success(try await fetch())
            } catch {
                return .failure(error)
            }
        }
        guard let result else {
            if Task.isCancelled { throw .failed(url: url, reason: "interrupted") }
            throw .failed(url: url, reason: "--timeout reached; the partial file stays for the next apply")
        }
        return try result.get()
    }
}
