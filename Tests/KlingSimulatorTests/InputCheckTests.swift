import Foundation
import KlingSimulator
import NIOHTTP1
import Testing

/// The simulator fetches the inputs it can reach, as the real service must, so that an expired
/// upstream URL or a file of the wrong kind shows up in a rehearsal and in tests, before a task
/// is created or charged.
@Suite("The simulator checks its input URLs before it creates a task")
struct InputCheckTests {
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + Data(repeating: 1, count: 64)

    func imageTask(_ url: String) -> String {
        #"{"type":"std-image-to-video","prompt":"x","duration":5,"image":"\#(url)"}"#
    }

    @Test("its own store's object is fetched and taken; the task is created")
    func storedImage() async throws {
        try await withSimulator { sim in
            let put = try await send(sim, .PUT, "/_store/rehearsal/k/abc.png", body: Self.png, key: nil)
            #expect(put.status == 200)
            let head = try await send(sim, .HEAD, "/_store/rehearsal/k/abc.png", key: nil)
            #expect(head.status == 200)
            let answer = try await send(
                sim, .POST, "/api/generate",
                json: imageTask("\(sim.baseURL)/_store/rehearsal/k/abc.png?X-Amz-Signature=x"))
            #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
            #expect(await sim.stats().tasksCreated == 1)
        }
    }

    @Test(
        "unreachable, expired and wrong-kind inputs are refused with a 400 and their code; no task is created",
        arguments: ["INPUT_EXPIRED", "INPUT_UNREACHABLE", "INPUT_MEDIA_TYPE"])
    func refused(_ code: String) async throws {
        // A refused connection is retried until the deadline, so it is short for that case; the
        // simulator fetching from itself gets all the time a loaded test machine may need.
        try await withSimulator({ $0.inputTimeout = code == "INPUT_UNREACHABLE" ? 2 : 60 }) { sim in
            // A video where an image goes: the simulator's own clip, as `image`.
            let created = try await send(sim, .POST, "/api/generate", json: quickStart)
            let task = try #require(created.data["task_id"] as? String)
            _ = try await waitForTask(sim, task)
            let url =
                switch code {
                case "INPUT_EXPIRED": "\(sim.baseURL)/_store/rehearsal/missing.png"
                case "INPUT_UNREACHABLE": "http://127.0.0.1:1/board.png"
                default: "\(sim.baseURL)/videos/\(task)/1.mp4"
                }
            let answer = try await send(sim, .POST, "/api/generate", json: imageTask(url))
            #expect(answer.status == 400)
            #expect(answer.json["error"] as? String == code, "\(String(decoding: answer.body, as: UTF8.self))")
            #expect(await sim.stats().tasksCreated == 1, "only the first task")
        }
    }

    @Test("a URL on another host is not fetched unless asked (rehearsals have no network)")
    func otherHosts() async throws {
        try await withSimulator { sim in
            let answer = try await send(sim, .POST, "/api/generate", json: imageTask("https://example.com/eagle.jpg"))
            #expect(answer.status == 200)
        }
        try await withSimulator({
            $0.fetchInputs = true
            $0.inputTimeout = 0.5
        }) { sim in
            // A host that cannot resolve: fetched because asked, and refused.
            let answer = try await send(
                sim, .POST, "/api/generate", json: imageTask("http://no-such-host.invalid/eagle.jpg"))
            #expect(answer.json["error"] as? String == "INPUT_UNREACHABLE")
        }
    }
}
