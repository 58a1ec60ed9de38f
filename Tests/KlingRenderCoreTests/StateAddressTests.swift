import Foundation
import Testing

@testable import KlingRenderCore

@Suite("Where the manifest is shared: state addresses and libpq's conventions")
struct StateAddressTests {
    @Test("a postgres URL is read as libpq reads it; its label never holds a user or password")
    func parse() throws {
        let url = try StateURL.parse(
            "postgresql://alice:s%40cret@db.studio:6543/films?schema=team_a&sslmode=verify-full"
        )
        .get()
        #expect(url.user == "alice")
        #expect(url.password == "s@cret")
        #expect(url.host == "db.studio")
        #expect(url.port == 6543)
        #expect(url.database == "films")
        #expect(url.schema == "team_a")
        #expect(url.sslMode == .verifyFull)
        #expect(url.label == "postgres://db.studio:6543/films?schema=team_a")
        let socket = try StateURL.parse("postgres:///films?host=/run/postgresql").get()
        #expect(socket.socketFolder == "/run/postgresql")
        #expect(socket.schema == "kling")
    }

    @Test("what is not a state address is refused with what to write")
    func refusals() {
        let cases: [(String, StateURLProblem)] = [
            ("mysql://db/films", .notPostgres),
            ("./film.manifest.json", .notPostgres),
            (
                "postgres://db/films?schema=Team",
                .badValue("schema", "a lowercase name of letters, digits and `_`, such as `kling`")
            ),
            (
                "postgres://db/films?schema=a;drop",
                .badValue("schema", "a lowercase name of letters, digits and `_`, such as `kling`")
            ),
            (
                "postgres://db/films?sslmode=sometimes",
                .badValue("sslmode", "disable, allow, prefer, require, verify-ca, verify-full")
            ),
            ("postgres://db/films?pool=3", .unknownParameter("pool")),
            ("postgres://db/films/extra", .malformed),
        ]
        for (text, problem) in cases {
            guard case .failure(let got) = StateURL.parse(text) else {
                Issue.record("\(text) was taken")
                continue
            }
            #expect(got == problem, "\(text)")
        }
    }

    @Test("what the URL leaves out comes from PG* variables; the password from PGPASSWORD before the password file")
    func environment() throws {
        let url = try StateURL.parse("postgres:///?schema=kling").get()
        let target = PostgresTarget(
            url,
            environment: [
                "PGHOST": "pg.local", "PGPORT": "6000", "PGUSER": "bob", "PGDATABASE": "films", "PGPASSWORD": "pw",
                "PGSSLMODE": "require",
            ], home: nil)
        #expect(target.host == "pg.local")
        #expect(target.port == 6000)
        #expect(target.user == "bob")
        #expect(target.database == "films")
        #expect(target.password == "pw")
        #expect(target.sslMode == .require)
        let written = PostgresTarget(
            try StateURL.parse("postgres://carol@db:5433/x").get(), environment: ["PGUSER": "bob"], home: nil)
        #expect(written.user == "carol", "the URL wins over the environment")
        #expect(written.database == "x")
        #expect(written.sslMode == .prefer, "libpq's default")
        #expect(written.problem == nil)
        let mistyped = PostgresTarget(
            try StateURL.parse("postgres://db/x").get(), environment: ["PGSSLMODE": "verify_full"], home: nil)
        #expect(mistyped.problem?.contains("PGSSLMODE `verify_full` is not one of") == true, "not quietly `prefer`")
    }

    @Test("the password file: first match wins, * matches anything, \\: and \\\\ are escaped, comments skipped")
    func passwordFile() {
        let text = """
            # studio database
            db.studio:5432:films:alice:first\\:pass
            *:*:*:alice:fallback
            db.studio:5432:*:bob:back\\\\slash:with:colons
            """
        #expect(
            PasswordFile.password(in: text, host: "db.studio", port: 5432, database: "films", user: "alice")
                == "first:pass")
        #expect(PasswordFile.password(in: text, host: "other", port: 1, database: "x", user: "alice") == "fallback")
        #expect(
            PasswordFile.password(in: text, host: "db.studio", port: 5432, database: "any", user: "bob")
                == "back\\slash:with:colons")
        #expect(PasswordFile.password(in: text, host: "db.studio", port: 5432, database: "films", user: "carol") == nil)
    }

    @Test("`state:` in the project file: a password there is refused where it is written; a bad address is located")
    func projectField() {
        let base = "version: 1\nshots:\n  a:\n    type: std-text-to-video\n    prompt: dawn\n"
        let withPassword = load(base + "state: postgres://alice:hunter2@db.studio/films\n")
        #expect(withPassword.project == nil)
        let text = describe(withPassword.diagnostics)
        #expect(text.contains("6:8: error: `state` holds a password, and this file is committed"), "\(text)")
        #expect(text.contains("PGPASSWORD or ~/.pgpass"))
        #expect(!text.contains("hunter2"), "the password is not echoed")
        let wrong = describe(load(base + "state: mysql://db/films\n").diagnostics)
        #expect(
            wrong.contains("6:8: error: `state`: a shared state is `postgres://HOST:PORT/DATABASE?schema=NAME`"),
            "\(wrong)")
        let good = load(base + "state: postgres://db.studio:5432/films?schema=team\n")
        #expect(good.project?.state?.label == "postgres://db.studio:5432/films?schema=team")
    }
}
