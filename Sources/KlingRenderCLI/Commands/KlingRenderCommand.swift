import ArgumentParser
import Foundation

/// `kling-render`: the storyboard, planned and rendered through the Kling API.
package struct KlingRenderCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "kling-render",
        abstract: "Render a storyboard of Kling video shots, as Terraform applies infrastructure.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, PlanCommand.self, ApplyCommand.self, StatusCommand.self, GraphCommand.self,
            ReviewCommand.self, PickCommand.self, ExportCommand.self, AcceptCommand.self, ImportCommand.self,
            StateCommand.self, SimulatorCommand.self,
        ]
    )

    package init() {}

    /// Runs the command line; usage errors exit 2, as the README documents.
    package static func runMain() async {
        Output.survivePipes()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // Printed through `Output`, as everything else is, so past the registry of secrets.
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if code == .success { Output.write(message + "\n") } else { printError(message) }
            }
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
