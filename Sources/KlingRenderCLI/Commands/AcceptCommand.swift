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

    @OptionGroup var stateOptions: StateOptions

    @OptionGroup var locking: LockOptions

    func validate() throws {
        if ids.isEmpty { throw ValidationError("name at least one shot to accept") }
    }

    func run() async throws {
        let opened = try await openWorkspace(file, simulated: simulate, state: stateOptions)
        // The lock first, then the manifest: what is read is what is written back.
        let accepted = try await locking.withLock(opened, command: "accept") { writer in
            let workspace = try await reloadManifest(of: opened)
            let manifest: Manifest
            let accepted: [String]
            do {
                (manifest, accepted) = try Acceptance.accept(ids, in: workspace)
            } catch let error as PlanError {
                throw fail(error.message)
            }
            do {
                try await writer.write(manifest)
            } catch {
                throw fail("cannot write the manifest: \(error). Nothing was changed.")
            }
            return accepted
        }
        for id in accepted { print("accepted \(id): its existing render now stands for the file's version") }
    }
}
