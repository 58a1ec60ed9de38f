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

    package enum Failure: Error, Sendable {
        /// The file has errors: print them.
        case invalid(LoadResult)
        case manifest(ManifestError)
    }

    package static func open(_ file: String, simulated: Bool) throws(Failure) -> Workspace {
        let result = ProjectLoader().load(path: file)
        guard let project = result.project else { throw .invalid(result) }
        let paths = ProjectPaths(projectFile: file, output: project.output, simulated: simulated)
        let read: (manifest: Manifest, digest: String)?
        do {
            read = try ManifestStore.read(paths.manifest)
        } catch {
            throw .manifest(error)
        }
        return Workspace(
            project: project, paths: paths, manifest: read?.manifest, projectDigest: result.sourceDigest ?? "",
            manifestDigest: read?.digest ?? "none", diagnostics: result.diagnostics)
    }
}

/// `plan --out`: a plan with what it was made from, so that `apply` can refuse it once stale.
package struct SavedPlan: Codable, Sendable {
    package static let currentFormat = "kling-render-plan/1"

    package var format: String
    /// The project file, as an absolute path.
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

    package init(workspace: Workspace, options: PlanOptions, plan: Plan) {
        format = Self.currentFormat
        projectFile = URL(fileURLWithPath: workspace.project.file).standardizedFileURL.path
        projectDigest = workspace.projectDigest
        manifestDigest = workspace.manifestDigest
        self.options = options
        self.plan = plan
    }

    /// Why this plan may no longer be applied, or nil when it may.
    package func staleness(against workspace: Workspace) -> String? {
        if workspace.projectDigest != projectDigest {
            return "\(workspace.project.file) changed since this plan was made"
        }
        if workspace.manifestDigest != manifestDigest {
            return "\(workspace.paths.manifest.lastPathComponent) changed since this plan was made (another apply ran?)"
        }
        return nil
    }
}
