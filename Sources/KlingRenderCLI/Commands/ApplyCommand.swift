import ArgumentParser
import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import KlingSimulator

#if canImport(Glibc)
    import Glibc
#endif

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Render what the plan says: in dependency order, in parallel; download; write the manifest.",
        discussion: """
            FILE is a project file, or a plan saved by `plan --out`, which is applied exactly and \
            without asking, or refused if the project or the manifest changed since. The key comes from \
            KLING_API_KEY (or --api-key-file); the endpoint from --endpoint, KLING_API_BASE, or \
            https://kling3api.com. --simulate rehearses against a simulator started in this process, \
            writing FILE.sim.manifest.json and OUTPUT-sim/ instead. Exit status: 0 when every shot is \
            rendered and on disk, 1 otherwise.
            """
    )

    @Argument(help: "The project file, or a saved plan.", completion: .file(extensions: ["yaml", "yml", "plan"]))
    var file: String

    @OptionGroup var planning: PlanningOptions

    @Flag(help: "Apply without asking.")
    var yes = false

    @Option(
        help: ArgumentHelp("Tasks in flight at once (default: `parallelism:` in the file, else 4).", valueName: "n"))
    var parallelism: Int?

    @Option(
        help: ArgumentHelp(
            "Stop polling after this long (90s, 30m, 2h); tasks stay in flight for the next apply.", valueName: "time"))
    var timeout: String?

    @Flag(help: "Stop submitting at the first failed shot.")
    var failFast = false

    @Option(help: ArgumentHelp("The API's base URL (overrides KLING_API_BASE).", valueName: "url"))
    var endpoint: String?

    @Option(help: ArgumentHelp("Read the API key from this file instead of KLING_API_KEY.", valueName: "file"))
    var apiKeyFile: String?

    @Option(
        help: ArgumentHelp(
            "Simulated seconds per real second: compresses render times (--simulate: 100).", valueName: "x"))
    var timeScale: Double?

    @Flag(help: "Print events as JSON lines.")
    var json = false

    func validate() throws {
        if let parallelism, !(1...256).contains(parallelism) { throw ValidationError("--parallelism takes 1 to 256") }
        if let timeout, Self.seconds(timeout) == nil {
            throw ValidationError(
                "--timeout takes a time of at most 30 days, such as 90s, 30m, 2h or 1d; got `\(Printable.short(timeout, limit: 40))`"
            )
        }
        if let timeScale, !Self.timeScales.contains(timeScale) {
            throw ValidationError("--time-scale takes a number from 0.001 to 1000000")
        }
    }

    /// Simulated seconds per real second that a wait can be divided by without a trap or a hang.
    static let timeScales = 0.001...1_000_000.0

    /// `90`, `90s`, `30m`, `2h`, `1d`: a time above 0 and at most 30 days, else nil.
    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let u = units[last] {
            number = text.dropLast()
            unit = u
        }
        // Decimal digits only: `inf`, `nan`, `0x10` and `1e300` are not times.
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let n = Double(number)
        else { return nil }
        let seconds = n * unit
        return seconds > 0 && seconds <= 30 * 86_400 ? seconds : nil
    }

    func run() async throws {
        // 1. What to apply: a saved plan, exactly, or a plan made now.
        let saved = try readSavedPlan()
        if saved != nil, !planning.targets.isEmpty || !planning.replace.isEmpty {
            throw fail(
                "a saved plan is applied as it was made; make a new one with `kling-render plan --target/--replace … --out`"
            )
        }
        if let saved, planning.simulate, !saved.options.simulated {
            throw fail(
                "\(file) was planned for real renders; make a rehearsal plan with `kling-render plan --simulate --out`")
        }
        let simulated = saved?.options.simulated ?? planning.simulate
        let projectFile: String
        do {
            projectFile = try saved?.projectPath(planFile: file) ?? file
        } catch {
            throw fail(error.message)
        }
        let workspace = try openWorkspace(projectFile, simulated: simulated)
        let plan: Plan
        do {
            // A saved plan is made again from the project and the manifest, and applied only if the same.
            plan = try Planner(options: saved?.options ?? planning.planOptions).plan(
                workspace.project, manifest: workspace.manifest, paths: workspace.paths)
        } catch {
            throw fail(error.message)
        }
        if let saved {
            if let problem = saved.staleness(against: workspace) ?? saved.difference(from: plan) {
                throw fail(
                    "\(file) is stale: \(problem); nothing was sent. Make a new plan with `kling-render plan \(workspace.project.file) --out \(file)`"
                )
            }
        }
        if !json { print(PlanView(terminal: .standardOutput).render(plan), terminator: "") }
        if saved != nil, let budget = workspace.project.budget, plan.totalCredits > budget {
            throw fail(
                "\(file) costs \(plan.totalCredits.formatted) credits, above `budget: \(budget)` in \(workspace.project.file); a saved plan cannot raise the budget. Nothing was sent."
            )
        }
        if let problem = plan.budgetProblem {
            throw fail("\(problem); nothing was sent. Raise `budget:` or pass --max-credits, or --target fewer shots")
        }
        let uncertain = plan.shots.filter { $0.action == .uncertain }.map(\.id)
        guard plan.hasChanges else {
            if json {
                let shots = plan.shots.map { shot in
                    ApplyReport.ShotResult(
                        id: shot.id, outcome: shot.action == .uncertain ? .uncertain(.recordedUncertain) : .unchanged)
                }
                let report = ApplyReport(
                    shots: shots, estimatedCredits: 0, consumedCredits: 0, files: [], stopReason: nil)
                print(
                    SummaryView(terminal: .standardOutput, json: true).render(report, plan: plan, workspace: workspace),
                    terminator: "")
            } else {
                print("Nothing to do: no request was sent.")
            }
            if !uncertain.isEmpty {
                throw fail(
                    "\(uncertain.joined(separator: ", ")) uncertain: check your Kling account, then `--replace ID` to submit again"
                )
            }
            return
        }

        // 2. Output folder, consent, key and endpoint: all before anything is sent.
        if let problem = outputProblem(workspace) { throw fail(problem) }
        if saved == nil, !yes, plan.totalCredits > 0 { try confirm(plan) }
        let connection = try await connect(simulated: simulated)
        defer { Task { await connection.simulator?.stop() } }
        if let manifest = workspace.manifest, manifest.endpoint != connection.label,
            plan.shots.contains(where: { $0.action == .resume })
        {
            // The manifest may come from someone else: never advise sending the key to the host it names.
            throw fail(
                "tasks in \(workspace.paths.manifest.lastPathComponent) were recorded against \(Printable.short(manifest.endpoint, limit: 120)), "
                    + "and this run uses \(connection.label). Check which of the two is your Kling API before resuming them; nothing was sent"
            )
        }
        let lock = try lockManifest(of: workspace)
        defer { lock.release() }
        do {
            try workspace.paths.root.directory(workspace.paths.outputPath, create: true)
        } catch {
            throw fail("the output folder cannot be used: \(error); nothing was sent")
        }

        // 3. Render.
        var manifest =
            workspace.manifest
            ?? Manifest(project: workspace.project.name, endpoint: connection.label, simulated: simulated)
        manifest.endpoint = connection.label
        manifest.project = workspace.project.name
        var options = ExecutionOptions()
        options.parallelism = parallelism ?? workspace.project.parallelism ?? 4
        options.timeout = timeout.flatMap(Self.seconds)
        options.failFast = failFast
        options.timeScale = connection.timeScale
        let progress = ProgressView(terminal: .standardOutput, json: json, shots: plan.shots)
        let engine = Engine(
            project: workspace.project, plan: plan, paths: workspace.paths, manifest: manifest,
            api: connection.client, options: options, events: { progress.handle($0) })
        let run = Task { await engine.run() }
        let interrupts = InterruptHandler {
            progress.note("interrupted: no new task is submitted; waiting for answers already on their way…")
            run.cancel()
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                progress.tick()
            }
        }
        let report = await run.value
        ticker.cancel()
        interrupts.stop()
        progress.finish()
        print(
            SummaryView(terminal: .standardOutput, json: json).render(report, plan: plan, workspace: workspace),
            terminator: "")
        if !report.succeeded { throw ExitCode.failure }
    }

    private func readSavedPlan() throws -> SavedPlan? {
        guard file.hasSuffix(".plan") else { return nil }
        do {
            return try SavedPlan.read(file)
        } catch {
            throw fail(error.message)
        }
    }

    private func confirm(_ plan: Plan) throws {
        guard isatty(0) == 1 else {
            throw fail(
                "apply asks before it spends credits, and standard input is not a terminal: pass --yes to apply this plan (\(plan.totalCredits.formatted) credits)"
            )
        }
        print(
            "\nApply this plan and spend up to \(plan.totalCredits.formatted) credits? Only `yes` is taken: ",
            terminator: "")
        fflush(nil)
        guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
            print("Apply cancelled; nothing was sent.")
            throw ExitCode.failure
        }
    }

    /// Why the output folder cannot take the videos (a file, a link out of the project), checked
    /// before anything is sent; a folder that does not exist yet is made after consent.
    private func outputProblem(_ workspace: Workspace) -> String? {
        let error: FolderError
        do {
            try workspace.paths.root.directory(workspace.paths.outputPath, create: false)
            return nil
        } catch let refused {
            error = refused
        }
        if error.reason == "no such folder" { return nil }
        return "the output folder cannot be used: \(error); nothing was sent"
    }

    /// The key from a file: a regular file, warned about when others may read it (as ssh does).
    private func readKeyFile(_ path: String) throws -> String {
        guard let kind = ProjectFolder.kind(ofPath: path) else {
            throw fail("cannot read the API key file \(path): no such file. Nothing was sent.")
        }
        guard kind == .file else {
            throw fail("the API key file \(path) is \(kind.phrase), not a regular file. Nothing was sent.")
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            printError(
                "warning: the API key file \(path) can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); `chmod 600 \(path)`"
            )
        }
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: 64 << 10) else {
            throw fail("cannot read the API key file \(path) (permission denied?). Nothing was sent.")
        }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if key.isEmpty { throw fail("the API key file \(path) is empty. Nothing was sent.") }
        return key
    }

    private struct Connection {
        var client: KlingClient
        /// What the manifest records: the base URL, or "simulator".
        var label: String
        var timeScale: Double
        var simulator: SimulatorServer.Running?
    }

    private func connect(simulated: Bool) async throws -> Connection {
        if simulated {
            var configuration = SimulatorConfiguration()
            configuration.port = 0
            configuration.timeScale = timeScale ?? 100
            configuration.adoptUnknownTasks = true
            // Task ids differ from one rehearsal to the next, as real ones do.
            configuration.seed = UInt64(Date().timeIntervalSince1970 * 1000)
            let simulator: SimulatorServer.Running
            do {
                simulator = try await SimulatorServer.start(configuration)
            } catch {
                throw fail("cannot start the simulator on a loopback port: \(error)")
            }
            if !json { print("Rehearsing against a simulator at \(simulator.baseURL) (no key, no credits spent).") }
            return Connection(
                client: KlingClient(baseURL: simulator.baseURL, apiKey: SimulatorConfiguration.demoKey),
                label: "simulator", timeScale: configuration.timeScale, simulator: simulator)
        }
        let environment = ProcessInfo.processInfo.environment
        let base =
            endpoint ?? environment["KLING_API_BASE"].flatMap { $0.isEmpty ? nil : $0 } ?? KlingClient.defaultBaseURL
        guard let url = URL(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw fail("the endpoint `\(base)` is not an http(s) URL")
        }
        let key: String
        let source: String
        if let apiKeyFile {
            key = try readKeyFile(apiKeyFile)
            source = "the API key file \(apiKeyFile)"
        } else {
            key = environment["KLING_API_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            source = "KLING_API_KEY"
            guard !key.isEmpty else {
                throw fail(
                    "KLING_API_KEY is not set: export it (or pass --api-key-file FILE), or rehearse for free with --simulate. Nothing was sent."
                )
            }
        }
        if let problem = KlingClient.keyProblem(key) {
            throw fail("the API key in \(source) \(problem); nothing was sent")
        }
        let client = KlingClient(baseURL: base, apiKey: key)
        return Connection(client: client, label: client.baseURL, timeScale: timeScale ?? 1, simulator: nil)
    }
}

/// SIGINT and SIGTERM: the first stops the run gracefully, the second exits at once (the manifest
/// is whole at every moment, so nothing is lost either way).
final class InterruptHandler: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private var count = 0
    private let queue = DispatchQueue(label: "kling-render.signals")

    init(_ onFirst: @escaping @Sendable () -> Void) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [unowned self] in
                count += 1
                if count == 1 { onFirst() } else { exit(130) }
            }
            source.resume()
            sources.append(source)
        }
    }

    func stop() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
