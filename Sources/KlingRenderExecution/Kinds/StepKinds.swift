/// Every kind of step `apply` knows, registered once. A new kind is a type of its own and a line
/// here; the engine, the views and the report iterate over these.
package enum StepKinds {
    /// In the order they add their steps: a kind's steps may wait for those of the kinds before it
    /// (a render waits for a recorded upstream; a frame for a download; the cut for all).
    package static let all: [any StepKind] = [RecordedKind(), DownloadKind(), RenderKind(), CutKind()]

    /// The kinds that host a render's inputs, asked in order for each input.
    package static let inputs: [any InputKind.Type] = [UploadKind.self, FrameKind.self]
}
