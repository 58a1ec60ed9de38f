import ArgumentParser
import Foundation
import KlingExport
import KlingRenderCore
import KlingReview

extension TimelineFormat: ExpressibleByArgument {}

/// `kling-render export FILE --format otio|fcpxml|edl`: the cut as a timeline for an editor.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the cut as a timeline for an editor: OpenTimelineIO, FCPXML or a CMX 3600 EDL.",
        discussion: """
            Each clip references its downloaded file at full length with the cut's in and out points, so a \
            trim can still be extended in the editor; crossfades and fades are dissolves. The default file \
            is beside the cut in the output folder: NAME.otio, NAME.fcpxml or NAME.edl.
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Option(help: "otio, fcpxml or edl.")
    var format: TimelineFormat

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Where to write it.", valueName: "path"))
    var output: String?

    @OptionGroup var stateOptions: StateOptions

    @Flag(help: "The simulator's manifest and folder.")
    var simulate = false

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: simulate, state: stateOptions)
        noteRehearsalOnly(workspace, simulated: simulate, command: "export")
        let timeline: Timeline
        do {
            timeline = try await Timeline.of(workspace, ffprobe: Executable.find("ffprobe"))
        } catch {
            throw fail(error.message)
        }
        let data = Data(format.render(timeline).utf8)
        let shown: String
        do {
            if let output {
                // Where the user says: their own command line.
                let target = URL(fileURLWithPath: output)
                shown = output
                try AtomicFile.write(
                    data, to: target.lastPathComponent, in: ProjectFolder(target.deletingLastPathComponent()))
            } else {
                // Beside the film, through the project's folder: a committed link on the way is not followed out.
                let cut = workspace.project.cut?.output ?? "cut.mp4"
                let name = (cut.hasSuffix(".mp4") ? String(cut.dropLast(4)) : cut) + "." + format.fileExtension
                let paths = workspace.paths
                let relative = paths.inOutput(name)
                shown = ReviewPage.folder(of: workspace.project.file) + relative
                try AtomicFile.write(data, to: relative, in: paths.root)
            }
        } catch {
            throw fail("cannot write the \(format.rawValue) file: \(error)")
        }
        let seconds = Double(timeline.frames) / Double(timeline.fps)
        print(
            "Exported \(timeline.clips.count) clip\(timeline.clips.count == 1 ? "" : "s") (\(Cut.seconds((seconds * 100).rounded() / 100)) s at \(timeline.fps) fps) to \(Printable.escaped(shown))"
        )
    }
}
