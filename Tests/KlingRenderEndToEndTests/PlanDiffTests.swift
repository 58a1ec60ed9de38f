import Foundation
import Testing

/// `plan` shows what changed before money is spent, as `terraform plan` does: the whole text with
/// the changed words marked, wrapped to the terminal; lists element by element.
@Suite("plan: readable diffs of what changed")
struct PlanDiffTests {
    static let head = "A young woman by a rainy window takes a letter from the drawer of an old oak desk, reads it"
    static let tail = "in the soft light of a late autumn afternoon, while the city hums far below her window"

    static let film = """
        version: 1
        name: letter
        shots:
          letter:
            type: std-text-to-video
            prompt: \(head) slowly \(tail)
            duration: 5
          rain:
            type: o3-std-reference-to-video
            prompt: rain on the glass
            images: ["https://cdn.example.com/a.png", "https://cdn.example.com/b.png"]

        """

    @Test(
        "a word changed in the middle of a 200-character prompt: both sides visible, the word marked; a list element by element"
    )
    func middleWord() async throws {
        let r = try await Rehearsal(Self.film)
        defer { Task { await r.stop() } }
        #expect(try await r.apply().status == 0)
        try r.edit("reads it slowly", with: "reads it twice")
        try r.edit(
            #""https://cdn.example.com/b.png"]"#,
            with: #""https://cdn.example.com/c.png", "https://cdn.example.com/d.png"]"#)
        let plan = try await r.run(["plan", r.file])
        #expect(plan.status == 0, "\(plan.stderr)")
        let words = plan.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("~ prompt: \(Self.head) [-slowly-]{+twice+} \(Self.tail)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("~ [2] https://cdn.example.com/b.png → https://cdn.example.com/c.png"))
        #expect(plan.stdout.contains("+ [3] https://cdn.example.com/d.png"))
        // Wrapped to the width: no line of the diff is wider than COLUMNS (100 here).
        #expect(plan.stdout.split(separator: "\n").allSatisfy { $0.count <= 100 }, "\(plan.stdout)")

        // `-o` saves the plan, as `--out` does; its JSON carries the same diff.
        let saved = try await r.run(["plan", r.file, "-o", "next.plan"])
        #expect(saved.status == 0, "\(saved.stderr)")
        let json = try String(contentsOf: r.scratch.url.appendingPathComponent("next.plan"), encoding: .utf8)
        #expect(
            json.contains(#""mark":"removed","text":"slowly""#) || json.contains(#""text" : "slowly""#),
            "\(json.prefix(600))")
    }
}
