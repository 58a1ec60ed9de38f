import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import KlingSimulator
import KlingTestSupport
import Testing

@Suite("Downloads: streamed, resumed with Range, verified, renamed into place")
struct DownloaderTests {
    func rendered(_ bytes: Int) async throws -> (SimulatorServer.Running, KlingClient, String) {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.timeScale = 100_000
        configuration.videoBytes = bytes
        let simulator = try await SimulatorServer.start(configuration)
        let client = KlingClient(baseURL: simulator.baseURL, apiKey: SimulatorConfiguration.demoKey)
        let task = try await client.generate(body: Data(#"{"type":"std-text-to-video","prompt":"fox"}"#.utf8))
        let report = try await eventually(within: .seconds(10), every: .milliseconds(5)) { () async throws -> TaskReport? in
            let report = try await client.status(taskID: task.taskID)
            return report.phase == .running ? nil : report
        }
        return (simulator, client, try #require(report?.urls.first))
    }

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kling-dl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("a whole download: length, SHA-256, no partial file left")
    func whole() async throws {
        let (simulator, client, url) = try await rendered(3_000_000)
        defer { Task { await simulator.stop() } }
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let destination = dir.appendingPathComponent("renders/fox.mp4")
        let file = try await Downloader(api: client, folder: ProjectFolder(dir), endpoint: client.baseURL) { _ in }
            .fetch(
                url, to: "renders/fox.mp4")
        let data = try Data(contentsOf: destination)
        #expect(file.bytes == 3_000_000 && data.count == 3_000_000)
        #expect(file.sha256 == Digest.sha256Hex(data))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/renders") == ["fox.mp4"])
    }

    @Test("a partial file is resumed from where it stopped, and the result is the same file")
    func resumed() async throws {
        let (simulator, client, url) = try await rendered(2_000_000)
        defer { Task { await simulator.stop() } }
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let destination = dir.appendingPathComponent("fox.mp4")
        let whole = try await Downloader(api: client, folder: ProjectFolder(dir), endpoint: client.baseURL) { _ in }
            .fetch(url, to: "fox.mp4")
        let full = try Data(contentsOf: destination)
        try FileManager.default.removeItem(at: destination)
        // A download cut off at 1.2 MB.
        try full.prefix(1_200_000).write(
            to: dir.appendingPathComponent(Downloader.partialFile(for: "fox.mp4", url: url)))
        let offsets = OffsetLog()
        let again = try await Downloader(api: client, folder: ProjectFolder(dir), endpoint: client.baseURL) { _ in }
            .fetch(url, to: "fox.mp4") {
                offsets.append($0)
            }
        #expect(offsets.values == [1_200_000], "asked only for the rest")
        #expect(again == whole)
        let stats = await simulator.stats()
        #expect(stats.requests["GET /videos"] == 2)
    }

    @Test("a file already there with other bytes is kept under previous/, never deleted")
    func keepsPrevious() async throws {
        let (simulator, client, url) = try await rendered(10_000)
        defer { Task { await simulator.stop() } }
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let destination = dir.appendingPathComponent("fox.mp4")
        try Data("an older render".utf8).write(to: destination)
        _ = try await Downloader(api: client, folder: ProjectFolder(dir), endpoint: client.baseURL) { _ in }.fetch(
            url, to: "fox.mp4")
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("previous").path)
        #expect(kept.count == 1 && kept[0].hasPrefix("fox-"))
        let old = try Data(contentsOf: dir.appendingPathComponent("previous").appendingPathComponent(kept[0]))
        #expect(old == Data("an older render".utf8))
    }

    @Test("an expired URL is reported as expired at once, not retried")
    func expired() async throws {
        let (simulator, client, url) = try await rendered(1000)
        defer { Task { await simulator.stop() } }
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let gone = url.replacingOccurrences(of: "/videos/", with: "/videos/n75nosuch")
        await #expect(throws: DownloadError.expired(url: gone, status: 404)) {
            try await Downloader(api: client, folder: ProjectFolder(dir), endpoint: client.baseURL) { _ in }.fetch(
                gone, to: "x.mp4")
        }
    }
}

final class OffsetLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int64] = []
    func append(_ value: Int64) { lock.withLock { list.append(value) } }
    var values: [Int64] { lock.withLock { list } }
}
