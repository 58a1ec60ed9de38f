import Foundation
import Testing

/// Every task the project paid for stays in the manifest's ledger, superseded renders included:
/// `status` shows the spend to date, and `budget:` caps that spend plus the next plan.
@Suite("The spend ledger and the project's budget")
struct LedgerTests {
    static let film = """
        version: 1
        name: ledger
        shots:
          dawn:
            type: std-text-to-video
            prompt: a harbour at dawn
            duration: 5

        """

    func status(_ r: Rehearsal) async throws -> [String: Any] {
        let result = try await r.run(["status", r.file, "--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test(
        "two applies: spent_credits is the sum of both tasks' credits; a budget equal to it refuses the next paid plan")
    func twoApplies() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let first = try #require(r.shots["dawn"]?["consumed_credits"] as? Int)
        try r.edit("a harbour at dawn", with: "a harbour at dusk")
        #expect(try await r.apply().status == 0)
        let second = try #require(r.shots["dawn"]?["consumed_credits"] as? Int)
        #expect(first > 0 && second > 0)
        #expect(try await status(r)["spent_credits"] as? Int == first + second)
        let human = try await r.run(["status", r.file])
        #expect(human.stdout.contains("Spent \(first + second) credits to date."), "\(human.stdout)")
        let page = try String(contentsOf: r.scratch.url.appendingPathComponent("renders/review.html"), encoding: .utf8)
        #expect(page.contains("\(first + second) credits spent to date"), "the review page's header")

        // The budget is what was spent: nothing more may be paid; the message says where it went.
        try r.edit("name: ledger", with: "name: ledger\nbudget: \(first + second)")
        try r.edit("a harbour at dusk", with: "a harbour at night")
        let plan = try await r.run(["plan", r.file])
        #expect(plan.status == 1)
        #expect(
            plan.stderr.contains("spent \(first + second) of \(first + second) credits (`budget:` in film.yaml)"),
            "\(plan.stderr)")
        let requests = await r.stats().requests
        let apply = try await r.apply()
        #expect(apply.status == 1 && apply.stderr.contains("nothing was sent"), "\(apply.stderr)")
        #expect(await r.stats().requests == requests, "not one request")
    }

    @Test("a manifest from before the ledger starts it from the credits its shots record")
    func before() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        let credits = try #require(r.shots["dawn"]?["consumed_credits"] as? Int)
        var manifest = try #require(try JSONSerialization.jsonObject(with: r.manifestData ?? Data()) as? [String: Any])
        #expect(manifest["ledger"] != nil)
        manifest.removeValue(forKey: "ledger")
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted]).write(
            to: r.manifestURL)
        #expect(try await status(r)["spent_credits"] as? Int == credits)
        // The next write keeps the ledger again, and the superseded task stays in it.
        try r.edit("a harbour at dawn", with: "a harbour at noon")
        #expect(try await r.apply().status == 0)
        let now = try #require(r.shots["dawn"]?["consumed_credits"] as? Int)
        #expect(try await status(r)["spent_credits"] as? Int == credits + now)
    }
}

@Suite("A rehearsal-only project says so")
struct RehearsalHintTests {
    @Test(
        "status, review and export without --simulate name the rehearsal and --simulate; with --simulate it is not said"
    )
    func hint() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", LedgerTests.film)
        let rehearsal = try await CLI.run(["apply", "film.yaml", "--simulate", "--yes"], in: scratch.url)
        #expect(rehearsal.status == 0, "\(rehearsal.stdout)\(rehearsal.stderr)")
        for command in ["status", "review", "export"] {
            let extra = command == "export" ? ["--format", "otio"] : []
            let result = try await CLI.run([command, "film.yaml"] + extra, in: scratch.url)
            #expect(
                result.stderr.contains(
                    "note: only a rehearsal has been rendered (film.sim.manifest.json); `kling-render \(command) film.yaml --simulate` shows it"
                ), "\(command): \(result.stderr)")
            let simulated = try await CLI.run([command, "film.yaml", "--simulate"] + extra, in: scratch.url)
            #expect(!simulated.stderr.contains("only a rehearsal"), "\(command) --simulate")
        }
    }
}
