import Foundation
import JWTKit
import KlingAPI
import KlingSimulator
import Testing

/// `simulator --api kling`: the official API's wire format over loopback, its JWT checked, its
/// `external_task_id` unique per account and found by query, its concurrency limit answered 1303.
@Suite("The simulator speaks the official Kling API")
struct OfficialAPITests {
    static let access = SimulatorConfiguration.demoAccessKey
    static let secret = SimulatorConfiguration.demoSecretKey

    static func official(_ configure: @escaping (inout SimulatorConfiguration) -> Void = { _ in }) -> (
        inout SimulatorConfiguration
    ) -> Void {
        { c in
            c.api = .kling
            configure(&c)
        }
    }

    static func token(at time: Date = Date(), secret: String = secret) async throws -> String {
        try await KlingOfficialClient.token(access: access, secret: secret, at: time)
    }

    static let text =
        #"{"model_name":"kling-v3","prompt":"A cute little rabbit","duration":"5","mode":"pro","sound":"on","aspect_ratio":"1:1","external_task_id":"kr-test-1"}"#

    @Test("a signed create answers code 0 with the task and its external_task_id; a query by either id finds it")
    func createAndQuery() async throws {
        try await withSimulator(Self.official()) { sim in
            let token = try await Self.token()
            let created = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: token)
            #expect(
                created.status == 200 && created.json["code"] as? Int == 0,
                "\(String(decoding: created.body, as: UTF8.self))")
            let id = try #require(created.data["task_id"] as? String)
            #expect((created.data["task_info"] as? [String: String])?["external_task_id"] == "kr-test-1")
            #expect(["submitted", "processing"].contains(created.data["task_status"] as? String))
            let byID = try await send(sim, .GET, "/v1/videos/text2video/\(id)", key: token)
            let byExternal = try await send(sim, .GET, "/v1/videos/text2video/kr-test-1", key: token)
            #expect(byID.data["task_id"] as? String == id && byExternal.data["task_id"] as? String == id)
            // Under another family's path it is not found.
            let elsewhere = try await send(sim, .GET, "/v1/videos/omni-video/\(id)", key: token)
            #expect(elsewhere.status == 404 && elsewhere.json["code"] as? Int == 1203)
            await sim.advance(seconds: 10_000)
            let done = try await send(sim, .GET, "/v1/videos/text2video/\(id)", key: token)
            #expect(done.data["task_status"] as? String == "succeed")
            let videos = (done.data["task_result"] as? [String: Any])?["videos"] as? [[String: Any]]
            #expect(videos?.first?["url"] as? String == "\(sim.baseURL)/videos/\(id)/1.mp4")
            #expect(done.data["final_unit_deduction"] as? String == "400")
        }
    }

    @Test("an API key (Kling's single key) is sent as it is, and is an account of its own")
    func apiKey() async throws {
        try await withSimulator(Self.official()) { sim in
            let client = KlingOfficialClient(baseURL: sim.baseURL, credentials: .apiKey(SimulatorConfiguration.demoKey))
            let created = try await client.generate(
                body: Data(#"{"type":"std-text-to-video","prompt":"p","duration":5}"#.utf8), label: nil,
                externalID: "kr-key-1")
            #expect(created.taskID.hasPrefix("text2video:"))
            #expect(await sim.stats().tasksCreatedPerKey[SimulatorConfiguration.demoKey] == 1)
            let found = try await client.find(
                externalID: "kr-key-1", body: Data(#"{"type":"std-text-to-video"}"#.utf8))
            #expect(found?.taskID == created.taskID)
            let report = try await client.status(taskID: created.taskID)
            #expect(report.phase == .running || report.phase == .succeeded && report.urls.count == 1, "\(report)")
        }
    }

    @Test("a second task with the same external_task_id is refused (1201) and nothing is charged")
    func duplicate() async throws {
        try await withSimulator(Self.official()) { sim in
            let token = try await Self.token()
            _ = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: token)
            let again = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: token)
            #expect(again.status == 400 && again.json["code"] as? Int == 1201)
            #expect((again.json["message"] as? String)?.contains("kr-test-1") == true)
            #expect(await sim.stats().tasksCreated == 1)
        }
    }

    @Test(
        "the token is checked: none 1001, a bad signature 1002, not yet valid 1003, expired 1004; nothing is created"
    )
    func tokens() async throws {
        try await withSimulator(Self.official()) { sim in
            let none = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: nil)
            #expect(none.status == 401 && none.json["code"] as? Int == 1001)
            let forged = try await Self.token(secret: String(Self.secret.reversed()))
            let bad = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: forged)
            #expect(bad.status == 401 && bad.json["code"] as? Int == 1002)
            let early = try await Self.token(at: Date().addingTimeInterval(600))
            let notYet = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: early)
            #expect(notYet.status == 401 && notYet.json["code"] as? Int == 1003)
            let old = try await Self.token(at: Date().addingTimeInterval(-1900))
            let expired = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: old)
            #expect(expired.status == 401 && expired.json["code"] as? Int == 1004)
            #expect(await sim.stats().tasksCreated == 0)
        }
    }

    @Test("over the account's tasks in flight: 429 code 1303; a used-up balance: 429 code 1102")
    func limits() async throws {
        try await withSimulator(
            Self.official {
                $0.maxTasksInFlight = 1
                $0.timeScale = 1
            }
        ) { sim in
            let token = try await Self.token()
            let first = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: token)
            #expect(first.json["code"] as? Int == 0)
            let second = try await send(
                sim, .POST, "/v1/videos/text2video",
                json: Self.text.replacingOccurrences(of: "kr-test-1", with: "kr-test-2"),
                key: token)
            #expect(second.status == 429 && second.json["code"] as? Int == 1303)
        }
        try await withSimulator(Self.official { $0.keys[Self.access] = 10 }) { sim in
            let poor = try await send(sim, .POST, "/v1/videos/text2video", json: Self.text, key: try await Self.token())
            #expect(poor.status == 429 && poor.json["code"] as? Int == 1102)
        }
    }

    @Test(
        "the documented request shapes are read: image2video with image_tail, omni with frames, a base video, references"
    )
    func shapes() async throws {
        try await withSimulator(Self.official()) { sim in
            let token = try await Self.token()
            let bodies: [(String, String)] = [
                (
                    "image2video",
                    #"{"model_name":"kling-v3","mode":"std","prompt":"p","image":"https://example.com/a.png","image_tail":"https://example.com/b.png","duration":"5"}"#
                ),
                (
                    "omni-video",
                    #"{"model_name":"kling-v3-omni","prompt":"p","image_list":[{"image_url":"https://example.com/a.png","type":"first_frame"}],"mode":"pro"}"#
                ),
                (
                    "omni-video",
                    #"{"model_name":"kling-v3-omni","prompt":"p","video_list":[{"video_url":"https://example.com/v.mp4","refer_type":"base","keep_original_sound":"yes"}],"mode":"pro"}"#
                ),
                (
                    "omni-video",
                    #"{"model_name":"kling-v3-omni","prompt":"p","image_list":[{"image_url":"https://example.com/r.png"}],"video_list":[{"video_url":"https://example.com/v.mp4","refer_type":"feature"}],"mode":"std","duration":"5"}"#
                ),
            ]
            for (family, body) in bodies {
                let answer = try await send(sim, .POST, "/v1/videos/\(family)", json: body, key: token)
                #expect(answer.json["code"] as? Int == 0, "\(family): \(String(decoding: answer.body, as: UTF8.self))")
            }
            let types = await sim.dashboard().tasks.compactMap(\.type).sorted()
            #expect(
                types == [
                    "o3-pro-image-to-video", "o3-pro-video-edit", "o3-std-reference-to-video", "std-image-to-video",
                ])
            // A duration as a number, as the gateway takes it, is not the official API's.
            let number = try await send(
                sim, .POST, "/v1/videos/text2video", json: #"{"model_name":"kling-v3","prompt":"p","duration":5}"#,
                key: token)
            #expect(number.status == 400 && number.json["code"] as? Int == 1201)
        }
    }
}
