import Foundation

/// A project file opened with its manifest: what every command starts from.
package struct Workspace: Sendable {
    package var project: Project
    package var paths: ProjectPaths
    package var manifest: Manifest?
    /// SHA-256 of the project file and of the manifest ("none" when absent): a saved plan's staleness check.
    package var projectDigest: String
    package var manifestDigest: String
    package var diagnostics: [Diagnostic]
    /// Where the manifest is kept: the file beside the project, or a shared database.
    package var state: any ManifestState

    package enum Failure: Error, Sendable {
        /// The file has errors: print them.
        case invalid(LoadResult)
        case manifest(ManifestError)
    }

    /// The project with the manifest file beside it, read at once (a file needs no waiting).
    package static func open(_ file: String, simulated: Bool) throws(Failure) -> Workspace {
        var workspace = try loaded(file, simulated: simulated)
        do {
            let read = try ManifestStore.read(workspace.paths)
            (workspace.manifest, workspace.manifestDigest) = (read?.manifest, read?.digest ?? "none")
        } catch {
            throw .manifest(error)
        }
        return workspace
    }

    /// The project with its manifest wherever `state` says it is kept (nil: the file beside it).
    package static func open(
        _ file: String, simulated: Bool,
        state: (Project, ProjectPaths) throws(ManifestError) -> (any ManifestState)?
    ) async throws(Failure) -> Workspace {
        var workspace = try loaded(file, simulated: simulated)
        do {
            workspace.state = try state(workspace.project, workspace.paths) ?? workspace.state
        } catch {
            throw .manifest(error)
        }
        return try await workspace.reloadingManifest()
    }

    /// The project loaded, its paths, the file beside it as its state; no manifest read yet.
    private static func loaded(_ file: String, simulated: Bool) throws(Failure) -> Workspace {
        let result = ProjectLoader().load(path: file)
        guard let project = result.project else { throw .invalid(result) }
        let paths = ProjectPaths(projectFile: file, output: project.output, simulated: simulated)
        return Workspace(
            project: project, paths: paths, manifest: nil, projectDigest: result.sourceDigest ?? "",
            manifestDigest: "none", diagnostics: result.diagnostics, state: FileState(paths: paths))
    }

    /// Where the manifest is, for a person: the file as named beside the project, or the database.
    package var stateDisplay: String {
        state is FileState ? paths.display(paths.manifest, beside: project.file) : state.label
    }

    /// The plan of this project against its manifest, naming where the manifest is kept.
    package func plan(_ options: PlanOptions = PlanOptions()) throws(PlanError) -> Plan {
        var plan = try Planner(options: options).plan(project, manifest: manifest, paths: paths)
        plan.manifest = stateDisplay
        return plan
    }

    /// The same project with its manifest read again (under a lock just taken, or after a write).
    package func reloadingManifest() async throws(Failure) -> Workspace {
        var reloaded = self
        do {
            let read = try await state.read()
            reloaded.manifest = read?.manifest
            reloaded.manifestDigest = read?.digest ?? "none"
        } catch {
            throw .manifest(error)
        }
        return reloaded
    }
}

/// `plan --out`: a plan with what it was made from. A saved plan is data from someone else:
/// `apply` takes from it only the project file (a path inside the plan's folder) and the options,
/// makes the plan again from the project and the manifest, and applies it only if it is exactly
/// the saved one — as Terraform does. Nothing in the file can add a shot, lower a price, or change
/// a fingerprint that the project and the manifest do not say.
package struct SavedPlan: Codable, Sendable {
    package static let currentFormat = "kling-render-plan/3"

    package var format: String
    /// The project file, relative to the plan file's folder.
    package var projectFile: String
    package var projectDigest: String
    package var manifestDigest: String
    package var options: PlanOptions
    package var plan: Plan

    enum CodingKeys: String, CodingKey {
        case format, options, plan
        case projectFile = "project_file"
        case projectDigest = "project_digest"
        case manifestDigest = "manifest_digest"
    }

    /// Fails when the plan file would not sit in the project file's folder or one above it.
    package init(workspace: Workspace, options: PlanOptions, plan: Plan, planFile: String) throws(PlanError) {
        let planFolder = URL(fileURLWithPath: planFile).deletingLastPathComponent().standardizedFileURL.path
        let project = URL(fileURLWithPath: workspace.project.file).standardizedFileURL.path
        let prefix = planFolder == "/" ? "/" : planFolder + "/"
        guard project.hasPrefix(prefix) else {
            throw PlanError(
                message:
                    "save the plan beside \(workspace.project.file) or in a folder above it, so that it names the project by a relative path"
            )
        }
        format = Self.currentFormat
        projectFile = String(project.dropFirst(prefix.count))
        projectDigest = workspace.projectDigest
        manifestDigest = workspace.manifestDigest
        self.options = options
        self.plan = plan
    }

    /// Reads a saved plan, refusing anything that is not one (or is too large to be one).
    package static func read(_ file: String) throws(PlanError) -> SavedPlan {
        let folder = ProjectFolder(URL(fileURLWithPath: file).deletingLastPathComponent())
        let data: Data
        do {
            let handle = try folder.openForReading(URL(fileURLWithPath: file).lastPathComponent)
            defer { try? handle.close() }
            data = try handle.read(upToCount: ManifestStore.maxSize + 1) ?? Data()
        } catch {
            throw PlanError(message: "cannot read \(file): \(error)")
        }
        let saved: SavedPlan
        do {
            saved = try JSONDecoder().decode(SavedPlan.self, from: data)
        } catch {
            throw PlanError(
                message:
                    "\(file) is not a plan saved by this version of `kling-render plan --out` (\(JSONProblem.describe(error, in: data)))"
            )
        }
        guard saved.format == currentFormat else {
            throw PlanError(
                message: "\(file) is not a plan saved by this version of `kling-render plan --out`; make it again")
        }
        return saved
    }

    /// The project file named by the plan, resolved inside the plan file's folder.
    package func projectPath(planFile: String) throws(PlanError) -> String {
        let folder = URL(fileURLWithPath: planFile).deletingLastPathComponent()
        // Through the plan's folder: a committed link on the way out of it is not followed.
        guard let relative = try? ProjectFolder.normalize(projectFile), !relative.isEmpty,
            case .file = ProjectFolder(folder).entry(relative)
        else {
            throw PlanError(
                message:
                    "\(planFile) names the project file `\(Printable.short(projectFile))`, which is not a file inside its folder; it is not applied"
            )
        }
        return folder.appendingPathComponent(relative).relativePath
    }

    /// Why this plan may no longer be applied, or nil when it may.
    package func staleness(against workspace: Workspace) -> String? {
        if workspace.projectDigest != projectDigest {
            return "\(workspace.project.file) changed since this plan was made"
        }
        if workspace.manifestDigest != manifestDigest {
            return "\(workspace.state.label) changed since this plan was made (another apply ran?)"
        }
        return nil
    }

    /// Where the saved plan differs from the plan made now, or nil when they are the same work.
    package func difference(from fresh: Plan) -> String? {
        if plan.shots.map(\.id) != fresh.shots.map(\.id) {
            return "its shots are not the ones the project and the manifest give"
        }
        for (saved, now) in zip(plan.shots, fresh.shots) where saved != now {
            return "shot `\(now.id)` differs from what the project and the manifest give"
        }
        if plan.removed != fresh.removed || plan.totalCredits != fresh.totalCredits || plan.budget != fresh.budget
            || plan.simulated != fresh.simulated || plan.project != fresh.project
        {
            return "its totals are not the ones the project and the manifest give"
        }
        return nil
    }
}
