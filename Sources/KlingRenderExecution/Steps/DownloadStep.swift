import Foundation
import KlingAPI
import KlingRenderCore

/// What happens to a rendered shot's videos: each fetched to its place under the output folder
/// (`ID.mp4`, `ID.2.mp4`…), checked, hashed, and recorded. Bounded by `--timeout`; a partial
/// file stays for the next apply to resume.
package struct DownloadStep: Step {
    package var id: String
    package var context: RunContext

    package init(id: String, context: RunContext) {
        self.id = id
        self.context = context
    }

    package var resource: Resource { .transfers }

    package func run() async -> StepEnd {
        let urls = await context.outputs.get(id) ?? []
        guard !urls.isEmpty else {
            context.events(.failed(shot: id, reason: .noVideoURL))
            return .ended(.downloadFailed(.noVideoURL))
        }
        var files: [ManifestFile] = []
        for (n, url) in urls.enumerated() {
            let path = context.paths.videoPath(shot: id, number: n + 1)
            do {
                let file = try await fetch(url, to: path)
                files.append(file)
                context.events(.downloaded(shot: id, file: file))
            } catch {
                return await failed(error, kept: files)
            }
        }
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
                entry?.files = files
                entry?.error = "\(error)"
            }
        }
        context.events(.failed(shot: id, reason: reason))
        return .ended(.downloadFailed(reason))
    }

    /// One video, cut off at `--timeout`.
    private func fetch(_ url: String, to path: String) async throws(DownloadError) -> ManifestFile {
        let context = self.context
        var downloader = Downloader(api: context.api, folder: context.paths.root, endpoint: context.endpoint) {
            try await context.sleep(apiSeconds: $0)
        }
        downloader.limits = context.options.downloadLimits
        let shot = id
        downloader.onProgress = { bytes, total in
            context.events(.downloadProgress(shot: shot, file: path, bytes: bytes, total: total))
        }
        let configured = downloader
        let id = self.id
        let fetch = { @Sendable () async throws(DownloadError) -> ManifestFile in
            try await configured.fetch(url, to: path) { offset in
                context.events(.downloading(shot: id, file: path, resumedAt: offset))
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
