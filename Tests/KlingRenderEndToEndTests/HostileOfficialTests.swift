import Foundation
import KlingAPI
import KlingSimulator
import Testing

/// A server that answers as the official API would not: the client adopts no task that is not
/// the one asked for, and no token or key it sends reaches an error.
@Suite("A hostile server behind provider: kling")
struct HostileOfficialTests {
    static let secret = "a-secret-key-of-thirty-two-bytes-or-more"

    static func client(_ server: HostileServer) -> KlingOfficialClient {
        KlingOfficialClient(baseURL: server.baseURL, credentials: .keys(access: "AK-hostile", secret: secret))
    }

    static let body = Data(#"{"type":"std-text-to-video","prompt":"p","duration":5}"#.utf8)

    @Test("a lookup answered with another task (another external id, or none) is not adopted")
    func otherTask() async throws {
        for info in [#""task_info":{"external_task_id":"kr-someone-else"},"#, ""] {
            let server = try await HostileServer { call, _ in
                HostileServer.json(
                    200, #"{"code":0,"message":"ok","data":{"task_id":"999",\#(info)"task_status":"succeed"}}"#)
            }
            defer { Task { await server.stop() } }
            await #expect(throws: KlingAPIError.self) {
                _ = try await Self.client(server).find(externalID: "kr-mine", body: Self.body)
            }
            #expect(server.calls.first?.path == "/v1/videos/text2video/kr-mine")
        }
    }

    @Test("an id with dots is escaped in the query's path: never `..`")
    func escaped() async throws {
        let server = try await HostileServer { _, _ in HostileServer.json(404, #"{"code":1203,"message":"no"}"#) }
        defer { Task { await server.stop() } }
        let found = try await Self.client(server).find(externalID: "..", body: Self.body)
        #expect(found == nil)
        #expect(server.calls.first?.path.hasSuffix("/%2E%2E") == true, "\(server.calls.map(\.path))")
    }

    @Test("a refusal that quotes the request's token and key back, however long: neither is in the error")
    func echoedSecrets() async throws {
        let server = try await HostileServer { call, _ in
            let token = call.authorization ?? ""
            let padding = String(repeating: "x", count: 190)
            return HostileServer.json(
                400, #"{"code":1201,"message":"\#(padding) \#(token) \#(Self.secret)"}"#)
        }
        defer { Task { await server.stop() } }
        do {
            _ = try await Self.client(server).generate(body: Self.body, label: nil, externalID: "kr-x")
            Issue.record("a refusal was taken for a task")
        } catch {
            let text = String(describing: error)
            let token = try #require(server.calls.first?.authorization?.dropFirst("Bearer ".count))
            #expect(!text.contains(token.prefix(20)), "no part of the token: \(text)")
            #expect(!text.contains(Self.secret.prefix(12)), "\(text)")
            #expect(text.contains("1201"))
        }
    }
}
