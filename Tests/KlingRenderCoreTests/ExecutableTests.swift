import Foundation
import Testing

@testable import KlingRenderCore

/// External programs run through one place: swift-subprocess, output streamed, stopped on time.
@Suite("Running a program")
struct ExecutableTests {
    @Test("stdout reaches the sink to the last byte; stderr's first 4 KB come back; the status is the program's")
    func output() async throws {
        let shell = try #require(Executable.find("sh"))
        let seen = Collected()
        let (status, said) = await Executable.run(
            shell, ["-c", "printf 'one\\ntwo\\n'; yes x | head -c 20000 | tr -d '\\n' >&2; exit 3"],
            timeout: .seconds(300), output: { seen.append($0) })
        #expect(status == 3)
        #expect(String(decoding: seen.data, as: UTF8.self) == "one\ntwo\n")
        #expect(said.count == 4096 && said.allSatisfy { $0 == "x" })
    }

    @Test("a program past its time-out is stopped, and says so")
    func timeout() async throws {
        let sleep = try #require(Executable.find("sleep"))
        let clock = ContinuousClock()
        let start = clock.now
        let (status, said) = await Executable.run(sleep, ["600"], timeout: .milliseconds(300))
        #expect(status == -1)
        #expect(said.contains("stopped"))
        #expect(clock.now - start < .seconds(120), "stopped, not waited for to the end of its 600 s")
    }

    @Test("a program that cannot start is a status, not a crash")
    func missing() async {
        let (status, _) = await Executable.run("/nonexistent/kling-program", [], timeout: .seconds(5))
        #expect(status == -1)
    }
}
