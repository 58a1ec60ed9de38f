import ArgumentParser
import KlingRenderCore

extension GraphExport.Format: ExpressibleByArgument {}

struct GraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the dependency graph as Graphviz DOT (default) or Mermaid.",
        discussion: "Render it with `kling-render graph film.yaml | dot -Tsvg > film.svg`."
    )

    @Argument(help: "The project file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Option(help: "dot or mermaid.")
    var format: GraphExport.Format = .dot

    @OptionGroup var stateOptions: StateOptions

    func run() async throws {
        let workspace = try await openWorkspace(file, simulated: false, state: stateOptions)
        print(GraphExport.render(workspace.project, format: format), terminator: "")
    }
}
