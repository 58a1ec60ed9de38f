import Foundation
import KlingAPI
import KlingRenderCore
import KlingRenderExecution
import Testing

/// A server that sends too much, or too slowly, is cut off: the downloader against a hostile
/// server over loopback.
@Suite("Downloads from a hostile server: a size cap and a stall time-out")
struct DownloadLimitTests {
    func downloader(_ server: HostileServer, folder: URL, _ configure: (inout DownloadLimits) -> Void) -> Downloader {
        var downloader = Downloader(
            api: KlingClient(baseURL: server.baseURL, apiKey: "k"), folder: ProjectFolder(folder),
            endpoint: server.baseURL
        ) { _ in }
        downloader.attempts = 2
        configure(&downloader.limits)
        return downloader
    }

    @Test("a byte every 300 ms stalls: cut off after the stall window, tried again, then given up")
    func stall() async throws {
        let server = try await HostileServer { _, _ in .drip(length: 1_000, interval: .milliseconds(300)) }
        defer { Task { await server.stop() } }
        let scratch = try Scratch()
        await #expect {
            _ = try await downloader(server, folder: scratch.url) {
                $0.stallSeconds = 1
                $0.stallBytes = 100
            }.fetch(server.baseURL + "/videos/a.mp4", to: "renders/a.mp4")
        } throws: { error in
            "\(error)".contains("stalled")
        }
        #expect(server.count("GET", "/videos/") == 2)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("renders/a.mp4")))
    }

    @Test("a video over the size cap is refused at its Content-Length, and not tried again")
    func sizeCap() async throws {
        let server = try await HostileServer { _, _ in .normal }
        defer { Task { await server.stop() } }
        let scratch = try Scratch()
        await #expect(throws: DownloadError.self) {
            _ = try await downloader(server, folder: scratch.url) { $0.maxBytes = 1_000 }
                .fetch(server.baseURL + "/videos/a.mp4", to: "a.mp4")
        }
        #expect(server.count("GET", "/videos/") == 1)
    }

    @Test("only http(s) URLs are fetched")
    func schemes() async throws {
        let server = try await HostileServer { _, _ in .normal }
        defer { Task { await server.stop() } }
        let scratch = try Scratch()
        for url in ["http+unix://%2Fvar%2Frun%2Fdocker.sock/v.mp4", "file:///etc/passwd", "ftp://x/v.mp4"] {
            await #expect(throws: DownloadError.self) {
                _ = try await downloader(server, folder: scratch.url) { _ in }.fetch(url, to: "a.mp4")
            }
        }
        #expect(server.calls.isEmpty)
    }
}
