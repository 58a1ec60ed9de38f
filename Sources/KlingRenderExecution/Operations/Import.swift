import Foundation
import KlingAPI
import KlingRenderCore

/// `import`, Terraform's, for renders: a shot or take whose request's answer was lost adopts the
/// task found in the Kling dashboard. With the manifest's lock held by the caller: the task is
/// asked for, checked against the shot, recorded as `apply` would have recorded it (the task id
/// first), then polled, downloaded and recorded. Nothing is submitted, nothing paid again.
package struct Import: Sendable {
    /// The shot's or take's manifest key (`sunrise`, `sunrise.take2`).
    package var key: String
    package var taskID: String
    /// Adopt the task even when the request it echoes is not the shot's.
    package var force = false

    package init(key: String, taskID: String, force: Bool = false) {
        self.key = key
        self.taskID = taskID
        self.force = force
    }

    /// The shot the take `key` belongs to.
    package var shotID: String { Take.parse(key)?.id ?? key }

    /// Adopts the task in the workspace (whose manifest is read again here, under the caller's lock).
    package func run(
        in opened: Workspace, api: APIAccess, writer: any ManifestWriter, delegate: any ImportDelegate,
        control: ApplyControl = ApplyControl()
    ) async throws -> ApplyReport {
        let workspace = try await Self.reload(opened)
        let planned = try plannedShot(in: workspace)
        guard let shot = workspace.project.shot(shotID) else { throw ImportFailure.noShot(shotID) }
        try checkEndpoint(workspace, current: api.label)
        let report = try await askForTask(api.client, shot: shot)
        let recordedExternal = workspace.manifest?.shots[key]?.externalTaskID
        // The official API echoes no request: a task found by this take's own external id is its.
        let foundByOwnID = api.client.namesTasks && recordedExternal != nil && recordedExternal == taskID
        if !force, !foundByOwnID { try Self.differences(report, shot: shot) }
        if let recorded = workspace.manifest?.shots[key], [.succeeded, .running].contains(recorded.status) {
            let what: ImportFailure.Replaced =
                recorded.status == .running ? .inFlight(taskID: recorded.taskID) : .finished
            guard try delegate.mayReplace(what, key: key, taskID: taskID) else { throw ImportFailure.declined }
        }
        try await record(report, shot: shot, planned: planned, in: workspace, writer: writer)
        // Made again from the manifest just written: the shot resumes its adopted task.
        let adopted = try await Self.reload(workspace)
        var plan: Plan
        do { plan = try adopted.plan() } catch { throw ImportFailure.plan(error) }
        plan.shots = plan.shots.filter { $0.key == key }
        plan.removed = []
        plan.totalCredits = 0
        guard plan.shots.first?.action == .resume else { throw ImportFailure.cannotResume }
        delegate.importing(key: key, taskID: taskID)
        return await Apply.render(
            plan, in: adopted, api: api, writer: writer, options: ExecutionOptions(), assets: AssetOptions(),
            delegate: delegate, control: control)
    }

    private static func reload(_ workspace: Workspace) async throws -> Workspace {
        do { return try await workspace.reloadingManifest() } catch { throw ImportFailure.workspace(error) }
    }

    private func plannedShot(in workspace: Workspace) throws -> Plan.PlannedShot {
        let plan: Plan
        do { plan = try workspace.plan(PlanOptions(targets: [shotID])) } catch { throw ImportFailure.plan(error) }
        guard let planned = plan.shots.first(where: { $0.key == key }) else {
            throw ImportFailure.noTake(
                shot: shotID, take: key, takes: plan.shots.filter { $0.id == shotID }.map(\.key))
        }
        return planned
    }

    /// The task, by the id given: on the official API either its own id (with or without its
    /// family) or the `external_task_id` it was created with.
    private func askForTask(_ client: any KlingService, shot: Shot) async throws -> TaskReport {
        let id = client.namesTasks ? OfficialWire.qualified(taskID, type: shot.type.name) ?? taskID : taskID
        do {
            return try await client.status(taskID: id)
        } catch .taskNotFound where client.namesTasks {
        } catch .unexpectedAnswer where client.namesTasks {
        } catch .taskNotFound {
            throw ImportFailure.taskUnknown
        } catch {
            throw ImportFailure.cannotAsk(detail: "\(error)")
        }
        do {
            let body = Data(#"{"type":"\#(shot.type.name)"}"#.utf8)
            guard let found = try await client.find(externalID: taskID, body: body) else {
                throw ImportFailure.taskUnknown
            }
            return try await client.status(taskID: found.taskID)
        } catch let failure as ImportFailure {
            throw failure
        } catch {
            throw ImportFailure.cannotAsk(detail: "\(error)")
        }
    }

    /// The echoed request must be the shot's: its type and its prompt.
    private static func differences(_ report: TaskReport, shot: Shot) throws {
        guard !report.echoedRequest.isEmpty else { throw ImportFailure.noEcho }
        var differences: [ImportFailure.Difference] = []
        let type = report.echoedRequest["type"]
        if type != shot.type.name { differences.append(.type(found: type, expected: shot.type.name)) }
        let prompt = report.echoedRequest["prompt"] ?? ""
        if let expected = shot.request(resolve: { _ in "" })["prompt"], JSONValue.string(prompt) != expected {
            differences.append(.prompt(found: prompt))
        }
        if !differences.isEmpty { throw ImportFailure.notThisShot(differences) }
    }

    /// Tasks of other shots recorded against another endpoint would be taken for this one's.
    private func checkEndpoint(_ workspace: Workspace, current: String) throws {
        let inFlight = workspace.manifest?.shots.contains { $0.key != key && $0.value.status == .running } ?? false
        if case .otherEndpoint(let state, let recorded, let current)? = Apply.otherEndpoint(
            in: workspace, current: current, inFlight: inFlight)
        {
            throw ImportFailure.otherEndpoint(state: state, recorded: recorded, current: current)
        }
    }

    /// The task id goes into the manifest first, as `apply` would have written it.
    private func record(
        _ report: TaskReport, shot: Shot, planned: Plan.PlannedShot, in workspace: Workspace, writer: any ManifestWriter
    ) async throws {
        let project = workspace.project
        var manifest = workspace.manifest ?? Manifest(project: project.name, endpoint: "", simulated: false)
        let sent = { (input: MediaInput) -> String in
            if case .shotVideo(let id) = input {
                return manifest.shots[project.shot(id)?.pickedKey ?? id]?.urls.first ?? ""
            }
            return input.source(project.inputFiles)
        }
        manifest.shots[key] = ManifestShot(
            type: shot.type.name, fingerprint: planned.fingerprint, request: shot.request(resolve: sent),
            inputs: shot.inputs, status: .running, taskID: report.taskID, estimatedCredits: planned.estimatedCredits,
            consumedCredits: report.consumedCredits)
        manifest.shots[key]?.picks = shot.upstreamPicks { project.shot($0)?.pick }
        do {
            try await writer.write(manifest)
        } catch {
            throw ImportFailure.manifestUnwritable(detail: "\(error)")
        }
    }
}

/// Where an import asks and tells: an apply's delegate, and the question of replacing a render.
package protocol ImportDelegate: ApplyDelegate {
    /// Whether the shot's finished render, or its task in flight, may be replaced by the task.
    /// Throws to stop the import in the caller's own words.
    func mayReplace(_ what: ImportFailure.Replaced, key: String, taskID: String) throws -> Bool
    /// The task is recorded and is about to be polled.
    func importing(key: String, taskID: String)
}

extension ImportDelegate {
    package func mayReplace(_ what: ImportFailure.Replaced, key: String, taskID: String) throws -> Bool { false }
    package func importing(key: String, taskID: String) {}
}

/// Why an import changed nothing (or, for `cannotResume`, recorded the task but cannot poll it).
/// Typed: the CLI words each case.
package enum ImportFailure: Error, Sendable {
    case plan(PlanError)
    case workspace(Workspace.Failure)
    case noShot(String)
    /// `take` is not one of the shot's takes.
    case noTake(shot: String, take: String, takes: [String])
    /// The API does not know the task.
    case taskUnknown
    case cannotAsk(detail: String)
    /// The API does not echo the task's request, so it cannot be checked.
    case noEcho
    /// The task's request is not the shot's.
    case notThisShot([Difference])
    case otherEndpoint(state: String, recorded: String, current: String)
    /// Replacing the shot's render was not agreed to.
    case declined
    case manifestUnwritable(detail: String)
    case cannotResume

    package enum Difference: Sendable, Equatable {
        case type(found: String?, expected: String)
        case prompt(found: String)
    }

    /// What the shot has that the import would replace.
    package enum Replaced: Sendable, Equatable {
        /// A task in flight: already paid for.
        case inFlight(taskID: String?)
        case finished
    }
}
