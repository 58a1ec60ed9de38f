import AsyncHTTPClient
import Foundation
import KlingSimulator
import KlingTestSupport
import NIOCore
import NIOHTTP1

/// A raw answer: what a client sees on the wire.
struct WireAnswer {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
}

/// Starts a simulator on a free loopback port for one test, and stops it afterwards.
func withSimulator<T>(
    _ configure: (inout SimulatorConfiguration) -> Void = { _ in }, _ body: (SimulatorServer.Running) async throws -> T
) async throws -> T {
    var configuration = SimulatorConfiguration()
    configuration.port = 0
    configuration.timeScale = 10_000
    configuration.useFFmpeg = false
    configure(&configuration)
    let simulator = try await SimulatorServer.start(configuration)
    do {
        let result = try await body(simulator)
        await simulator.stop()
        return result
    } catch {
        await simulator.stop()
        throw error
    }
}

/// Sends one request as curl would, with the demo key unless told otherwise.
func send(
    _ simulator: SimulatorServer.Running, _ method: HTTPMethod, _ path: String, json: String? = nil, body: Data? = nil,
    key: String? = SimulatorConfiguration.demoKey, headers extra: [(String, String)] = []
) async throws -> WireAnswer {
    var request = HTTPClientRequest(url: simulator.baseURL + path)
    request.method = method
    if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
    for (name, value) in extra { request.headers.add(name: name, value: value) }
    if let json {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
    } else if let body {
        request.body = .bytes(ByteBuffer(bytes: body))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
    let bytes = try await response.body.collect(upTo: 64 << 20)
    return WireAnswer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
}

/// Polls a task until it leaves IN_PROGRESS.
func waitForTask(_ simulator: SimulatorServer.Running, _ id: String) async throws -> WireAnswer {
    let done = try await eventually(within: .seconds(10)) { () async throws -> WireAnswer? in
        let answer = try await send(simulator, .GET, "/api/status?task_id=\(id)")
        return answer.data["status"] as? String != "IN_PROGRESS" ? answer : nil
    }
    guard let done else { throw CancellationError() }
    return done
}

let quickStart =
    #"{"type":"pro-text-to-video","prompt":"A golden eagle soaring through clouds at sunrise","duration":5,"aspect_ratio":"16:9","sound":true}"#
