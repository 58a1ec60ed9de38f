import ArgumentParser
import Foundation
import KlingRenderCore
import KlingReview

/// `kling-render review FILE`: the review page, written beside the renders.
struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Write OUTPUT/review.html: every shot's takes side by side, to look at and choose from.",
        discussion: """
            One static page in storyboard order: each shot's takes playable side by side (poster frames by \
            ffmpeg), the picked take marked, the request, type, length, credits and status, what it uses, and \
            the dependency graph drawn by Graphviz on top. It needs no server and no network: open it from \
            disk, or zip the output folder and send it. `apply` writes it too when it finishes.
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @OptionGroup var stateOptions: StateOptions

    @Flag(help: "The simulator's manifest and folder.")
    var simulate = false

    @Flag(help: "Print what was written as JSON.")
    var json = false

    @Flag(help: "Serve the page on 127.0.0.1 with a Pick button under each take, until Ctrl-C.")
    var serve = false

    @Option(help: "The port to serve on (0: a free one).")
    var port = 8765

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port takes 0 to 65535, not \(port)") }
    }

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: simulate, state: stateOptions)
        noteRehearsalOnly(workspace, simulated: simulate, command: "review")
        if serve { return try await served(workspace) }
        let written: ReviewPage.Written
        do {
            written = try await ReviewPage.write(workspace)
        } catch {
            throw fail(error.message)
        }
        if json {
            try JSONOutput.write(written)
        } else {
            print(ReviewPage.describe(written, workspace: workspace), terminator: "")
        }
    }
}

extension ReviewCommand {
    /// The page on loopback until Ctrl-C, the project read again for each page and pick.
    private func served(_ first: Workspace) async throws {
        let (file, simulated, state) = (self.file, simulate, stateOptions)
        let load: @Sendable () async throws -> Workspace = {
            do {
                return try await Workspace.open(file, simulated: simulated) { project, _ throws(ManifestError) in
                    try state.resolve(project, simulated: simulated)
                }
            } catch let error as Workspace.Failure {
                switch error {
                case .invalid(let result):
                    let errors = result.diagnostics.filter { $0.severity == .error }.count
                    throw ReviewPage.Failure(
                        message:
                            "\(file) has \(errors) error\(errors == 1 ? "" : "s") now: `kling-render validate \(file)` shows where"
                    )
                case .manifest(let problem): throw ReviewPage.Failure(message: problem.description)
                }
            }
        }
        let server = ReviewServer(load: load, ffmpeg: Executable.find("ffmpeg"), dot: Executable.find("dot"))
        do {
            try await server.serve(port: port) { url in
                print("Review: \(url)")
                print(
                    "Serving on loopback only; a Pick button under each take sets its `pick:` in \(file). Ctrl-C stops."
                )
                fflush(nil)
            }
        } catch {
            throw fail("cannot serve on 127.0.0.1:\(port): \(error)")
        }
    }
}

extension ReviewPage {
    /// The folder of a file as the user named it, with its `/`: what paths under it are shown after.
    static func folder(of file: String) -> String {
        file.lastIndex(of: "/").map { String(file[...$0]) } ?? ""
    }

    /// "Review: renders/review.html (5 takes, 4 videos)" and a line per thing the page lacks.
    static func describe(_ written: Written, workspace: Workspace) -> String {
        let folder = Self.folder(of: workspace.project.file)
        var out =
            "Review: \(Printable.escaped(folder + written.path)) (\(written.takes) take\(written.takes == 1 ? "" : "s"), "
            + "\(written.videos) video\(written.videos == 1 ? "" : "s") on disk)\n"
        for note in written.notes { out += "  \(note)\n" }
        return out
    }
}
