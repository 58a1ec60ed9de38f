import Foundation
import KlingRenderCore
import KlingRenderExecution
import KlingStore

/// How `apply` hosts a project's assets: the store named by `assets:` with the user's AWS
/// credentials, or in a rehearsal without one the simulator's loopback store; ffmpeg for frames.
/// Every refusal comes before anything is sent.
enum AssetWiring {
    /// The rehearsal store's bucket and (public, never checked) credentials.
    static let rehearsalBucket = "rehearsal"

    /// What the plan needs that this machine lacks, as a message; nil when it has it all.
    /// A cut to assemble on a machine without ffmpeg.
    static func cutProblem(_ plan: Plan) -> String? {
        guard let cut = plan.cut, cut.action == .assemble,
            Executable.find("ffmpeg") == nil || Executable.find("ffprobe") == nil
        else { return nil }
        return
            "the cut (\(cut.path)) is assembled by ffmpeg, which is not installed: `apt-get install ffmpeg` (Debian's package ffmpeg). Nothing was sent."
    }

    static func problem(_ plan: Plan, project: Project, simulated: Bool) -> String? {
        let work = plan.assets
        if let problem = cutProblem(plan) { return problem }
        if !work.frames.isEmpty, Executable.find("ffmpeg") == nil {
            return
                "continuity frames (\(work.frames.joined(separator: ", "))) need ffmpeg, which is not installed: `apt-get install ffmpeg` (Debian's package ffmpeg). Nothing was sent."
        }
        // Every shot that submits with a file or a frame needs the store, even when the manifest
        // says its content is there already: its URL is signed now, with the credentials.
        let hosted = plan.shots.filter { $0.action.submits }.contains { planned in
            project.shot(planned.id)?.mediaInputs.contains { input in
                switch input.input {
                case .file, .frame: true
                case .url, .shotVideo: false
                }
            } ?? false
        }
        guard hosted || !work.isEmpty else { return nil }
        if project.assets == nil, !simulated {
            let what = (work.uploads.map(\.path) + work.frames).prefix(3).joined(separator: ", ")
            return
                "\(what) must be hosted for the API to fetch: add `assets:` with `store: s3://BUCKET/PREFIX/` to \(project.file), or rehearse with --simulate. Nothing was sent."
        }
        if project.assets != nil, CredentialChain.resolve(ProcessInfo.processInfo.environment) == nil {
            return
                "the asset store needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in ~/.aws/credentials. Nothing was sent."
        }
        if project.assets != nil, project.assets?.region == nil, let region = environmentRegion,
            !isRegion(region)
        {
            return
                "AWS_REGION `\(Printable.short(region, limit: 40))` is not a region name such as us-east-1. Nothing was sent."
        }
        return nil
    }

    static var environmentRegion: String? {
        let environment = ProcessInfo.processInfo.environment
        return (environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    static func isRegion(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64
            && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    static func options(for project: Project, session: Session) -> AssetOptions {
        let environment = ProcessInfo.processInfo.environment
        var options = AssetOptions(ffmpeg: Executable.find("ffmpeg"))
        options.ffprobe = Executable.find("ffprobe")
        if let settings = project.assets, let credentials = CredentialChain.resolve(environment) {
            let region = settings.region ?? environmentRegion ?? "us-east-1"
            options.store = AssetHost(
                store: S3Store(
                    bucket: settings.bucket, prefix: settings.prefix, endpoint: settings.endpoint, region: region,
                    publicURL: settings.publicURL, urlLifetime: settings.urlLifetime, credentials: credentials))
        } else if project.assets == nil, let simulator = session.simulator {
            options.store = AssetHost(
                store: S3Store(
                    bucket: rehearsalBucket, prefix: "", endpoint: simulator.baseURL + "/_store", region: "us-east-1",
                    publicURL: nil, urlLifetime: AssetSettings.defaultURLLifetime,
                    credentials: StoreCredentials(accessKeyID: "rehearsal", secretAccessKey: "rehearsal")))
        }
        return options
    }
}
