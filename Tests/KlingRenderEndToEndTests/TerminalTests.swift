import Foundation
import KlingTestSupport
import Testing

/// Runs a command under a pseudo-terminal (util-linux `script`), typing `input`.
func onTerminal(_ command: String, in directory: URL, input: String, environment: [String: String] = [:]) throws
    -> String
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
    process.arguments = ["-qec", command, "/dev/null"]
    process.currentDirectoryURL = directory
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "NO_COLOR")
    env["TERM"] = "xterm"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe()
    let inPipe = Pipe()
    process.standardOutput = out
    process.standardInput = inPipe
    try process.run()
    // Typed ahead: the terminal keeps it until apply reads its answer.
    inPipe.fileHandleForWriting.write(Data(input.utf8))
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try? inPipe.fileHandleForWriting.close()
    return String(decoding: data, as: UTF8.self)
}

/// `onTerminal` on a thread of its own: a test blocking the cooperative pool for seconds starves
/// the in-process simulators of the tests running beside it.
func onTerminal(_ command: String, in directory: URL, input: String, environment: [String: String] = [:]) async throws
    -> String
{
    try await offPool { try onTerminal(command, in: directory, input: input, environment: environment) as String }
}

@Suite("apply on a terminal", .serialized)
struct TerminalTests {
    @Test("on a terminal apply asks, and anything but `yes` sends nothing")
    func declined() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", ApplyCommandTests.pair)
        let output = try await onTerminal(
            "\(CLI.binary.path) apply --simulate film.yaml", in: scratch.url, input: "no\n")
        #expect(output.contains("Only `yes` is taken"))
        #expect(output.contains("Apply cancelled; nothing was sent."))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("film.sim.manifest.json")))
    }

    @Test("`yes` renders with a live table, in colour unless NO_COLOR is set")
    func acceptedWithColour() async throws {
        for noColor in [false, true] {
            let scratch = try Scratch()
            try scratch.write("film.yaml", ApplyCommandTests.pair)
            let output = try await onTerminal(
                "\(CLI.binary.path) apply --simulate --time-scale 2000 film.yaml", in: scratch.url, input: "yes\n",
                environment: noColor ? ["NO_COLOR": "1"] : [:])
            #expect(output.contains("Apply complete: 2 rendered."), "\(output)")
            #expect(output.contains("2 done"), "the live table's closing count")
            #expect(output.contains("\u{1B}[32m") == !noColor, "colour only without NO_COLOR")
        }
    }

    @Test("a large download shows its bytes and rate in the live table; plain lines stay as they are")
    func downloadProgress() async throws {
        let r = try await Rehearsal("version: 1\nshots:\n  big:\n    type: std-text-to-video\n    prompt: a big one\n")
        {
            $0.videoBytes = 200 << 20
        }
        defer { Task { await r.stop() } }
        let command = "\(CLI.binary.path) apply film.yaml --yes " + r.arguments.joined(separator: " ")
        let output = try await onTerminal(command, in: r.scratch.url, input: "", environment: ["KLING_API_KEY": r.key])
        #expect(output.contains("Apply complete: 1 rendered."), "\(output.suffix(2000))")
        #expect(output.contains("MB of 209.7 MB"), "the bytes so far, of the whole")
        #expect(output.range(of: #"MB/s"#) != nil, "and the rate")
        let plain = try await r.apply(["--replace", "big"])
        #expect(plain.status == 0)
        #expect(!plain.stdout.contains("MB of"), "no progress in plain lines")
    }
}
