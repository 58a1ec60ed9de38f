import Foundation
import KlingRenderCore
import KlingStore

/// What this machine has that a run may need, found once: the programs, the environment's AWS
/// settings. Tests make one by hand.
package struct Machine: Sendable {
    package var ffmpeg: String?
    package var ffprobe: String?
    package var environment: [String: String]

    package init(ffmpeg: String?, ffprobe: String?, environment: [String: String]) {
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
        self.environment = environment
    }

    package static var current: Machine {
        Machine(
            ffmpeg: Executable.find("ffmpeg"), ffprobe: Executable.find("ffprobe"),
            environment: ProcessInfo.processInfo.environment)
    }

    /// AWS_REGION, else AWS_DEFAULT_REGION, when set.
    var region: String? {
        (environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"]).flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Why a plan cannot run on this machine or with this project's settings, before anything is sent.
package enum AssetProblem: Sendable, Equatable {
    /// What a missing program was needed for.
    package enum Need: Sendable, Equatable {
        /// The cut at this path.
        case cut(String)
        /// These continuity frames.
        case frames([String])
    }

    /// A program the plan needs is missing: what needs it.
    case missing(Program, Need)
    /// Local files or frames must be hosted, and the project (this file) names no store.
    case noStore(paths: [String], project: String)
    /// The store's credentials are not in the environment.
    case noCredentials
    /// AWS_REGION is not a region name.
    case badRegion(String)
}

/// How `apply` hosts a project's assets: the store named by `assets:` with the user's AWS
/// credentials, or in a rehearsal without one the simulator's loopback store; ffmpeg for frames
/// and the cut. Every refusal comes before anything is sent.
package enum AssetRequirements {
    /// The rehearsal store's bucket.
    package static let rehearsalBucket = "rehearsal"

    /// What the plan needs that this machine or project lacks; nil when it has it all.
    package static func problem(_ plan: Plan, project: Project, machine: Machine) -> AssetProblem? {
        if let cut = plan.cut, cut.action == .assemble {
            if machine.ffmpeg == nil || machine.ffprobe == nil { return .missing(.ffmpeg, .cut(cut.path)) }
        }
        let work = plan.assets
        if !work.frames.isEmpty, machine.ffmpeg == nil {
            return .missing(.ffmpeg, .frames(work.frames))
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
        guard let settings = project.assets else {
            let paths = Array((work.uploads.map(\.path) + work.frames).prefix(3))
            return plan.simulated ? nil : .noStore(paths: paths, project: project.file)
        }
        if CredentialChain.resolve(machine.environment) == nil { return .noCredentials }
        if settings.region == nil, let region = machine.region, !AssetSettings.isRegion(region) {
            return .badRegion(region)
        }
        return nil
    }

    /// The store and programs a run uses.
    package static func options(for project: Project, machine: Machine, rehearsalStore: String?) -> AssetOptions {
        var options = AssetOptions(ffmpeg: machine.ffmpeg)
        options.ffprobe = machine.ffprobe
        if let settings = project.assets, let credentials = CredentialChain.resolve(machine.environment) {
            options.store = AssetHost(
                store: S3Store(
                    bucket: settings.bucket, prefix: settings.prefix, endpoint: settings.endpoint,
                    region: settings.region ?? machine.region ?? "us-east-1", publicURL: settings.publicURL,
                    urlLifetime: settings.urlLifetime, credentials: credentials))
        } else if project.assets == nil, let rehearsalStore {
            options.store = AssetHost(
                store: S3Store(
                    bucket: rehearsalBucket, prefix: "", endpoint: rehearsalStore, region: "us-east-1", publicURL: nil,
                    urlLifetime: AssetSettings.defaultURLLifetime,
                    credentials: StoreCredentials(accessKeyID: "rehearsal", secretAccessKey: "rehearsal")))
        }
        return options
    }
}
