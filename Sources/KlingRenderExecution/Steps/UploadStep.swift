import Foundation
import KlingRenderCore
import KlingStore

/// What happens to a local file a render needs: its bytes checked against the hash the plan
/// was made with, then put in the asset store under its content hash — unless the store already
/// holds it (HEAD first, PUT only when absent). Each content is one step however many paths,
/// shots or takes use it.
package struct UploadStep: Step {
    /// The paths that hold this content; the first is read.
    package var paths: [String]
    package var context: RunContext

    package init(paths: [String], context: RunContext) {
        self.paths = paths
        self.context = context
    }

    package var resource: Resource { .transfers }

    package func run() async -> StepEnd {
        let path = paths[0]
        guard let host = context.store else { return fail(path, "no asset store is configured") }
        guard let asset = await context.assets.file(path) else { return fail(path, "it was not found") }
        do {
            _ = try await Self.host(asset, paths: paths, on: host, context: context)
        } catch let error as UploadFailure {
            return fail(path, error.detail)
        } catch {
            return fail(path, "cannot write the manifest: \(error)")
        }
        return .success
    }

    private func fail(_ path: String, _ detail: String) -> StepEnd {
        let reason = Reason.asset(path: path, detail: detail)
        context.emit(AssetEvent.failed(path: path, reason: reason))
        return .ended(.failed(reason))
    }

    struct UploadFailure: Error {
        var detail: String
    }

    /// Hosts one content under all its paths: uploaded (or found), its key on the board for the
    /// renders that use it, and recorded in the manifest. Its key.
    static func host(_ asset: LocalAsset, paths: [String], on host: AssetHost, context: RunContext) async throws
        -> String
    {
        let key = try await upload(asset, as: paths[0], to: host, context: context)
        await context.assets.stored(paths, key: key)
        try await context.recorder.recordAsset(paths, host.record(asset, key: key))
        return key
    }

    /// Puts one content in the store unless it is there; its key. The file is read through the
    /// project folder (never through a link) and hashed first: what is uploaded is what the plan
    /// showed. The upload then streams it, signed with that hash, which S3 checks the bytes against.
    static func upload(_ asset: LocalAsset, as path: String, to host: AssetHost, context: RunContext) async throws
        -> String
    {
        let root = context.paths.root
        let hash = try? await Task.detached { try root.sha256(asset.resolved) }.value
        guard let hash else { throw UploadFailure(detail: "it cannot be read") }
        guard hash == asset.sha256, case .file(asset.bytes) = root.entry(asset.resolved) else {
            throw UploadFailure(detail: "it changed since the plan was made (its SHA-256 differs); plan again")
        }
        let key = host.key(sha256: asset.sha256, media: asset.media)
        do {
            if try await host.store.exists(key, bytes: asset.bytes) {
                context.emit(AssetEvent.stored(path: path, bytes: asset.bytes, uploaded: false))
                return key
            }
            context.emit(AssetEvent.uploading(path: path, bytes: asset.bytes))
            guard let file = try? root.openForReading(asset.resolved) else {
                throw UploadFailure(detail: "it cannot be read")
            }
            defer { try? file.close() }
            try await host.store.put(
                key, file: file, bytes: asset.bytes, sha256: asset.sha256, contentType: asset.media.contentType)
        } catch {
            throw UploadFailure(detail: "\(error)")
        }
        context.emit(AssetEvent.stored(path: path, bytes: asset.bytes, uploaded: true))
        return key
    }
}
