import Foundation
import KlingRenderCore
import KlingRenderExecution
import Testing

@Suite("The manifest during a run")
struct ManifestRecorderTests {
    @Test("200 concurrent changes: each is on disk when its call returns, and none is lost")
    func concurrentChanges() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kling-rec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let paths = ProjectPaths(
            projectFile: folder.appendingPathComponent("film.yaml").path, output: "renders", simulated: false)
        let url = paths.manifest
        let recorder = ManifestRecorder(
            manifest: Manifest(project: "film", endpoint: "simulator", simulated: true),
            writer: FileManifestWriter(paths: paths))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<200 {
                group.addTask {
                    try await recorder.record("shot-\(n)") { entry in
                        entry = ManifestShot(
                            type: "std-text-to-video", fingerprint: String(n), request: [:], inputs: [:],
                            status: .running,
                            taskID: "n75task\(n)", estimatedCredits: 300)
                    }
                    // What this call wrote is on disk now, whatever the others are doing.
                    let onDisk = try Manifest.decode(Data(contentsOf: url))
                    #expect(onDisk.shots["shot-\(n)"]?.taskID == "n75task\(n)")
                }
            }
            try await group.waitForAll()
        }
        let final = try Manifest.decode(Data(contentsOf: url))
        #expect(final.shots.count == 200)
        #expect(final.totals.estimatedCredits == 60_000)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["film.manifest.json"],
            "no temporary file left")
    }
}
