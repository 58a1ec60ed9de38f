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

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: simulate, state: stateOptions)
        noteRehearsalOnly(workspace, simulated: simulate, command: "review")
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
