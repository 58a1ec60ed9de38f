import ArgumentParser
import Foundation
import KlingRenderCore

struct AcceptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept",
        abstract: "Keep a changed shot's existing render: record its new fingerprint, render nothing.",
        discussion: """
            For edits you call cosmetic (a reworded prompt you do not want to pay for). Shots downstream \
            whose only change is an accepted shot are accepted with it. The manifest keeps the request \
            that was actually sent.
            """
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Argument(help: "The shots to accept.")
    var ids: [String]

    @Flag(help: "Accept in the simulator's manifest.")
    var simulate = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("name at least one shot to accept") }
    }

    func run() async throws {
        let workspace = try openWorkspace(file, simulated: simulate)
        let lock = try lockManifest(of: workspace)
        defer { lock.release() }
        do {
            let accepted = try Acceptance.accept(ids, in: workspace)
            for id in accepted { print("accepted \(id): its existing render now stands for the file's version") }
        } catch let error as PlanError {
            throw fail(error.message)
        }
    }
}
