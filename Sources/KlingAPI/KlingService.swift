import Foundation
import NIOCore

/// What the engine needs of the Kling API: create a task, ask for its status, fetch a video.
/// `KlingClient` is the real one over HTTP; tests put an in-memory stand-in behind the same
/// protocol, so the engine runs unchanged in virtual time.
public protocol KlingService: Sendable {
    func generate(body: Data) async throws(KlingAPIError) -> CreatedTask
    /// The same, with a label for people (`wave, take 2`) that a rehearsal's simulator draws on
    /// its clip. Only a rehearsal passes one: a real API is never told the storyboard's names.
    func generate(body: Data, label: String?) async throws(KlingAPIError) -> CreatedTask
    /// Whether a task can be given an id of the client's before it exists and be found by it
    /// (`external_task_id`): then a lost answer is looked up, never left uncertain.
    var namesTasks: Bool { get }
    /// The same, the task given `externalID` (when `namesTasks`; ignored otherwise).
    func generate(body: Data, label: String?, externalID: String?) async throws(KlingAPIError) -> CreatedTask
    /// The task given `externalID`, with `body` the request it was sent with; nil when the API
    /// has none. Only when `namesTasks`.
    func find(externalID: String, body: Data) async throws(KlingAPIError) -> CreatedTask?
    func status(taskID: String) async throws(KlingAPIError) -> TaskReport
    /// Fetches a video from `offset`, handing each chunk to `receive` as it arrives. No key is sent.
    func download(
        _ url: String, from offset: Int64, head: (DownloadHead) async throws -> Void,
        receive: (ByteBuffer) async throws -> Void
    ) async throws
}

/// What a download answer said before its bytes.
public struct DownloadHead: Sendable {
    /// Where the bytes start: the requested offset for a 206, 0 when the server sent all.
    public var offset: Int64
    /// The whole file's length, when the server said it.
    public var totalLength: Int64?

    public init(offset: Int64, totalLength: Int64?) {
        self.offset = offset
        self.totalLength = totalLength
    }
}

extension KlingService {
    public func generate(body: Data, label: String?) async throws(KlingAPIError) -> CreatedTask {
        try await generate(body: body)
    }

    public var namesTasks: Bool { false }

    public func generate(body: Data, label: String?, externalID: String?) async throws(KlingAPIError) -> CreatedTask {
        try await generate(body: body, label: label)
    }

    public func find(externalID: String, body: Data) async throws(KlingAPIError) -> CreatedTask? {
        throw .notSent(reason: "this API cannot find a task by an id of the client's")
    }
}

extension KlingClient: KlingService {}
