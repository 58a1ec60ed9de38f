import Foundation
import KlingAPI
import KlingRenderCore

/// The answer of a probe: it came, and nothing more is read.
private struct ProbeAnswered: Error {}

extension RenderStep {
    /// Each media input's URL as sent: URLs as written; local files and frames at their place
    /// in the asset store; another shot's video at the URL the API gave, or — when that URL is
    /// older than `outputs_lifetime` or dead — at the store, its local file uploaded.
    func resolveInputs() async -> Result<[MediaInput: String], EndedEarly> {
        var sent: [MediaInput: String] = [:]
        for (_, input) in shot.mediaInputs where sent[input] == nil {
            switch input {
            case .url(let url):
                sent[input] = url
            case .file(let path):
                guard let url = await storedURL(path) else { return .failure(blocked(by: path)) }
                sent[input] = url
            case .frame(let upstream, let edge):
                let path = context.paths.framePath(shot: context.outputKey(upstream), edge: edge)
                guard let url = await storedURL(path) else { return .failure(blocked(by: path)) }
                sent[input] = url
            case .shotVideo(let upstream):
                switch await upstreamVideo(context.outputKey(upstream)) {
                case .success(let url): sent[input] = url
                case .failure(let ended): return .failure(ended)
                }
            }
        }
        return .success(sent)
    }

    private func storedURL(_ path: String) async -> String? {
        guard let store = context.store, let key = await context.assets.key(path) else { return nil }
        return store.store.url(for: key)
    }

    private func blocked(by what: String) -> EndedEarly {
        context.emit(RunEvent.blocked(shot: id, by: what))
        return EndedEarly(end: .ended(.blocked(by: what)))
    }

    /// The URL to send for `${shots.UPSTREAM.video}`.
    private func upstreamVideo(_ upstream: String) async -> Result<String, EndedEarly> {
        guard let url = await context.outputs.get(upstream)?.first else { return .failure(blocked(by: upstream)) }
        if await context.outputs.isFresh(upstream) { return .success(url) }
        let entry = await context.recorder.entry(upstream)
        let why: String
        if let received = AssetClock.date(entry?.urlsReceived),
            context.now().timeIntervalSince(received) > Double(context.outputsLifetime)
        {
            why = "its URL is older than outputs_lifetime (\(context.outputsLifetime) s)"
        } else if let dead = await probe(url) {
            why = dead
        } else {
            return .success(url)
        }
        return await hostOutput(upstream, entry: entry, why: why)
    }

    /// Seconds a recorded URL has to answer its probe.
    static let probeTimeout = 15.0

    /// Why a recorded video URL cannot be sent, or nil when it answers: its status line only,
    /// within `probeTimeout`, so that a server trickling its answer cannot hold a task's slot.
    private func probe(_ url: String) async -> String? {
        if let problem = URLPolicy.problem(url, endpoint: context.endpoint) { return "its URL \(problem)" }
        let api = context.api
        let answer = await Deadline.race(after: Self.probeTimeout, on: context.clock) { () async -> String? in
            do {
                try await api.download(url, from: 0, head: { _ in throw ProbeAnswered() }, receive: { _ in })
                return nil
            } catch is ProbeAnswered {
                return nil
            } catch KlingAPIError.urlExpired(let status) {
                return "its URL answers \(status)"
            } catch {
                return "its URL cannot be reached"
            }
        }
        return answer ?? "its URL did not answer within \(Int(Self.probeTimeout)) s"
    }

    /// Uploads the upstream shot's downloaded video (checked against the manifest's SHA-256) and
    /// returns its URL in the store.
    private func hostOutput(_ upstream: String, entry: ManifestShot?, why: String) async -> Result<String, EndedEarly> {
        func unavailable(_ reason: Reason) -> Result<String, EndedEarly> {
            context.emit(RunEvent.failed(shot: id, reason: reason))
            return .failure(EndedEarly(end: .ended(.failed(reason))))
        }
        func unavailable(_ detail: String) -> Result<String, EndedEarly> {
            unavailable(Reason.inputUnavailable(upstream: upstream, detail: detail))
        }
        guard let host = context.store else { return unavailable(.inputNeedsStore(upstream: upstream, why: why)) }
        let path = context.paths.videoPath(shot: upstream, number: 1)
        // Another shot of this run hosted it already.
        if let key = await context.assets.key(path) { return .success(host.store.url(for: key)) }
        guard let file = entry?.files.first, file.path == path else {
            return unavailable(why + "; and \(path) is not recorded as downloaded")
        }
        context.emit(RenderEvent.outputHosted(shot: id, upstream: upstream, why: why))
        let asset = LocalAsset(resolved: path, sha256: file.sha256, bytes: file.bytes, media: .mp4)
        do {
            let key = try await UploadStep.host(asset, paths: [path], on: host, context: context)
            return .success(host.store.url(for: key))
        } catch let error as UploadStep.UploadFailure {
            return unavailable(why + "; uploading \(path): " + error.detail)
        } catch {
            return unavailable(why + "; cannot write the manifest: \(error)")
        }
    }
}
