import AsyncHTTPClient
import Foundation
import KlingSimulator
import KlingTestSupport
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The manifest shared in PostgreSQL: a real server in a throwaway cluster (one for the suite,
/// a schema per test; a cluster of its own for the test that stops it), the built binary, the
/// simulator over loopback. The simulator's counters say whether a task was ever created twice.
@Suite("Team state on PostgreSQL", .serialized)
struct TeamStateTests {
    static let film = """
        version: 1
        name: harbour
        shots:
          a:
            type: std-text-to-video
            prompt: A harbour at dawn
          b:
            type: std-text-to-video
            prompt: Gulls over the pier
          c:
            type: std-text-to-video
            prompt: Fishing boats return
          d:
            type: o3-std-video-edit
            prompt: Add rain
            video: ${shots.a.video}
        """

    /// Renders slow enough (about a second each) for a second process to meet the first.
    static let scale = 60.0

    static func rehearsal(_ yaml: String = film) async throws -> Rehearsal {
        try await Rehearsal(yaml) {
            $0.timeScale = scale
            $0.expireAfter = 1e7
        }
    }

    /// A simulator whose clock all but stands still: no render finishes until the test moves it
    /// on (`finish`), so an apply holds its lock for as long as a test needs, however loaded the
    /// machine is.
    static func frozen() async throws -> Rehearsal {
        try await Rehearsal(film) {
            $0.timeScale = 0.001
            $0.expireAfter = 1e7
        }
    }

    /// Moves a frozen simulator's clock past every render.
    static func finish(_ r: Rehearsal) async throws { try await r.simulator.advance(seconds: 100_000) }

    /// Moves a frozen simulator's clock on, again and again, until `process` ends (renders that
    /// start later, downstream of others, need their own turn).
    static func finish(_ r: Rehearsal, until process: Process) async throws {
        while process.isRunning {
            try await finish(r)
            try await Task.sleep(for: .milliseconds(200))
        }
        await process.exited()
    }

    /// `apply` on a frozen simulator, its clock moved on until the run ends.
    static func applyFinishing(_ r: Rehearsal, _ cluster: PostgresCluster, schema: String) async throws -> CLI.Result {
        let (output, errors) = (Pipe(), Pipe())
        let process = try launch(r, cluster, schema: schema, output: output, errors: errors)
        async let said = offPool { text(output) }
        async let warned = offPool { text(errors) }
        try await finish(r, until: process)
        return CLI.Result(status: process.terminationStatus, stdout: await said, stderr: await warned)
    }

    /// Sessions of `kling-render apply` connected to the cluster (a run holding or awaiting a lock).
    static func applying(_ cluster: PostgresCluster) -> Int {
        Int(
            (try? cluster.query(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kling-render apply'")) ?? "") ?? 0
    }

    /// `apply` started in the background against `cluster`, in `folder`.
    static func launch(
        _ r: Rehearsal, _ cluster: PostgresCluster, schema: String, in folder: URL? = nil, extra: [String] = [],
        output: Pipe? = nil, errors: Pipe? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments =
            [
                "apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--time-scale", String(scale), "--state",
                cluster.url(schema: schema),
            ] + extra
        process.currentDirectoryURL = folder ?? r.scratch.url
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in r.environment.merging(cluster.environment, uniquingKeysWith: { $1 }) { env[k] = v }
        process.environment = env
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = errors ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    static func run(
        _ r: Rehearsal, _ cluster: PostgresCluster, _ arguments: [String], in folder: URL? = nil,
        environment: [String: String] = [:]
    ) async throws -> CLI.Result {
        try await CLI.run(
            arguments, in: folder ?? r.scratch.url,
            environment: r.environment.merging(cluster.environment) { $1 }.merging(environment) { $1 })
    }

    static func apply(
        _ r: Rehearsal, _ cluster: PostgresCluster, schema: String, in folder: URL? = nil, extra: [String] = []
    ) async throws -> CLI.Result {
        try await run(
            r, cluster,
            [
                "apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--time-scale", String(scale), "--state",
                cluster.url(schema: schema),
            ] + extra, in: folder)
    }

    /// Counts the takes recorded in `schema` with `status` (any status when nil).
    static func count(_ cluster: PostgresCluster, _ schema: String, _ status: String? = nil) -> Int {
        let filter = status.map { " WHERE entry->>'status' = '\($0)'" } ?? ""
        return Int((try? cluster.query("SELECT count(*) FROM \(schema).shots\(filter)")) ?? "") ?? 0
    }

    /// Waits on a thread of its own until `condition` holds (true) or 30 s pass (false), then does
    /// `action` on that thread at once.
    static func waitUntil(
        _ condition: @escaping @Sendable () -> Bool, then action: @escaping @Sendable () -> Void = {}
    ) async -> Bool {
        await eventually(condition, then: action)
    }

    static func text(_ pipe: Pipe) -> String {
        String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test("two applies at once: one renders, the other is refused naming the holder, then finds nothing to do")
    func secondApplyRefused() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.frozen()
        defer { Task { await r.stop() } }
        let first = try Self.launch(r, cluster, schema: "refused")
        let held = await Self.waitUntil {
            (try? cluster.query("SELECT count(*) FROM refused.locks")) == "1"
        }
        #expect(held, "the first apply took the lock")
        let second = try await Self.apply(r, cluster, schema: "refused")
        #expect(second.status == 1)
        #expect(second.stderr.contains("is locked by"), "\(second.stderr)")
        #expect(second.stderr.contains("pid \(first.processIdentifier), kling-render apply"), "\(second.stderr)")
        #expect(second.stderr.contains("nothing was sent"))
        try await Self.finish(r, until: first)
        #expect(first.terminationStatus == 0)
        let again = try await Self.apply(r, cluster, schema: "refused")
        #expect(again.status == 0)
        #expect(again.stdout.contains("Nothing to do: no request was sent."), "\(again.stdout)")
        #expect(await r.stats().tasksCreated == 4, "every shot rendered exactly once")
        #expect(!FileManager.default.fileExists(atPath: r.manifestURL.path), "no local manifest is written")
    }

    @Test("with --lock-timeout the second apply waits, then sends no request")
    func lockTimeoutWaits() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.frozen()
        defer { Task { await r.stop() } }
        let first = try Self.launch(r, cluster, schema: "waits")
        #expect(await Self.waitUntil { Self.count(cluster, "waits", "running") >= 1 })
        let (output, errors) = (Pipe(), Pipe())
        let second = try Self.launch(
            r, cluster, schema: "waits", extra: ["--lock-timeout", "2m"], output: output, errors: errors)
        // The second run's connection is open while it waits for the lock.
        #expect(await Self.waitUntil { Self.applying(cluster) == 2 }, "the second apply waits")
        async let said = offPool { Self.text(output) }
        async let warned = offPool { Self.text(errors) }
        try await Self.finish(r, until: first)
        try await Self.finish(r, until: second)
        let (saidText, warnedText) = (await said, await warned)
        #expect(first.terminationStatus == 0)
        #expect(second.terminationStatus == 0, "\(saidText)\(warnedText)")
        #expect(warnedText.contains("waiting for the lock"), "\(warnedText)")
        #expect(saidText.contains("Nothing left to do"), "\(saidText)")
        let stats = await r.stats()
        #expect(stats.tasksCreated == 4)
        #expect(stats.requests["POST /api/generate"] == 4, "the second apply sent no request")
    }

    @Test("kill -9 of the holder: the next apply starts at once and resumes its tasks, none created twice")
    func killNineReleases() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.frozen()
        defer { Task { await r.stop() } }
        let first = try Self.launch(r, cluster, schema: "killed", extra: ["--parallelism", "2"])
        let pid = first.processIdentifier
        let killed = await Self.waitUntil(
            { Self.count(cluster, "killed", "running") == 2 && Self.count(cluster, "killed", "submitting") == 0 },
            then: { kill(pid, SIGKILL) })
        #expect(killed)
        await first.exited()
        let next = try await Self.applyFinishing(r, cluster, schema: "killed")
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        #expect(!next.stderr.contains("locked"), "the lock died with its holder's connection")
        #expect(next.stdout.contains("resume"), "\(next.stdout)")
        #expect(await r.stats().tasksCreated == 4, "no task created twice")
        #expect(Self.count(cluster, "killed", "succeeded") == 4)
        for id in ["a", "b", "c", "d"] {
            #expect(FileManager.default.fileExists(atPath: r.scratch.path("renders/\(id).mp4")))
        }
    }

    @Test("the database stopped mid-apply: the run stops submitting and says so; the next apply resumes")
    func databaseStops() async throws {
        let cluster = try await PostgresCluster.make()
        let r = try await Self.frozen()
        defer { Task { await r.stop() } }
        let output = Pipe()
        let errors = Pipe()
        let first = try Self.launch(
            r, cluster, schema: "stopped", extra: ["--parallelism", "1"], output: output, errors: errors)
        nonisolated(unsafe) var stopped = false
        #expect(
            await Self.waitUntil(
                { Self.count(cluster, "stopped", "running") == 1 },
                then: { stopped = (try? cluster.stop(immediate: true)) != nil }))
        #expect(stopped)
        // The render finishes while the database is down: what follows cannot be recorded.
        try await Self.finish(r)
        async let out = offPool { Self.text(output) }
        async let err = offPool { Self.text(errors) }
        let said = await out + err
        await first.exited()
        #expect(first.terminationStatus == 1)
        #expect(said.contains("cannot write the shared state"), "\(said)")
        #expect(said.contains("Stopped: "), "\(said)")
        let created = await r.stats().tasksCreated
        #expect(created == 1, "nothing was submitted once the state could not be written")
        try await cluster.restart()
        let next = try await Self.applyFinishing(r, cluster, schema: "stopped")
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        #expect(await r.stats().tasksCreated == 4, "the recorded task was resumed, not submitted again")
    }

    @Test(
        "two working copies applying at once render each shot exactly once; state pull gives a manifest the file backend takes as its own"
    )
    func twoWorkingCopies() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        let other = try Scratch()
        try other.write(r.file, Self.film)
        let mine = try Self.launch(r, cluster, schema: "team", extra: ["--lock-timeout", "2m"])
        let theirs = try Self.launch(r, cluster, schema: "team", in: other.url, extra: ["--lock-timeout", "2m"])
        await mine.exited()
        await theirs.exited()
        #expect(mine.terminationStatus == 0)
        #expect(theirs.terminationStatus == 0)
        #expect(await r.stats().tasksCreated == 4, "each shot rendered once, whoever started first")
        for folder in [r.scratch.url, other.url] {
            for id in ["a", "b", "c", "d"] {
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("renders/\(id).mp4").path))
            }
        }
        let pulled = try await Self.run(
            r, cluster, ["state", "pull", r.file, "--state", cluster.url(schema: "team")], in: other.url)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout.contains("wrote film.manifest.json"), "\(pulled.stdout)")
        let plan = try await Self.run(
            r, cluster, ["plan", r.file, "--state", "file", "--detailed-exitcode"], in: other.url)
        #expect(plan.status == 0, "the pulled manifest is current for the file backend: \(plan.stdout)\(plan.stderr)")
        let status = try await Self.run(r, cluster, ["status", r.file, "--state", "file", "--verify"], in: other.url)
        #expect(status.status == 0, "\(status.stdout)")
    }

    @Test("state push then pull round-trips the manifest byte for byte; push refuses to drop newer state")
    func pushPull() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        let local = try await Self.run(
            r, cluster,
            ["apply", r.file, "--yes", "--endpoint", r.simulator.baseURL, "--time-scale", String(Self.scale)])
        #expect(local.status == 0, "\(local.stdout)\(local.stderr)")
        let original = try #require(r.manifestData)
        let url = cluster.url(schema: "moved")
        let push = try await Self.run(r, cluster, ["state", "push", r.file, "--state", url])
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.contains("pushed film.manifest.json"), "\(push.stdout)")
        let copy = try Scratch()
        try copy.write(r.file, Self.film)
        let pull = try await Self.run(r, cluster, ["state", "pull", r.file, "--state", url], in: copy.url)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(try Data(contentsOf: copy.url.appendingPathComponent("film.manifest.json")) == original)
        // A teammate renders a new shot into the shared state; the old file would drop it.
        try copy.write(r.file, Self.film + "\n  e:\n    type: std-text-to-video\n    prompt: Nets drying\n")
        #expect(try await Self.apply(r, cluster, schema: "moved", in: copy.url).status == 0)
        let stale = try await Self.run(r, cluster, ["state", "push", r.file, "--state", url])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("records what film.manifest.json does not: e (task "), "\(stale.stderr)")
        #expect(Self.count(cluster, "moved") == 5, "nothing was written")
        let forced = try await Self.run(r, cluster, ["state", "push", r.file, "--state", url, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(Self.count(cluster, "moved") == 4)
    }

    @Test(
        "a draft's record is kept in the shared state beside the film's (tables of version 2 migrated): a second apply --draft has nothing to do"
    )
    func draftInState() async throws {
        let cluster = try await PostgresCluster.shared()
        let film = Self.film + "\ncut:\n  clips:\n    - shot: b\n    - shot: c\n      transition: crossfade 0.5\n"
        let r = try await Rehearsal(film) {
            $0.timeScale = Self.scale
            $0.expireAfter = 1e7
            $0.useFFmpeg = true
        }
        defer { Task { await r.stop() } }
        // Tables as a kling-render of version 2 left them: no column for the draft.
        #expect(try await Self.apply(r, cluster, schema: "drafts", extra: ["--target", "b"]).status == 0)
        try cluster.query("ALTER TABLE drafts.projects DROP COLUMN draft_cut")
        try cluster.query("UPDATE drafts.state_version SET version = 2")
        let draft = try await Self.apply(r, cluster, schema: "drafts", extra: ["--draft"])
        #expect(draft.status == 0, "\(draft.stdout)\(draft.stderr)")
        #expect(draft.stdout.contains("3 of 3 segments encoded"), "\(draft.stdout)")
        #expect(
            try cluster.query("SELECT draft_cut->'file'->>'path' FROM drafts.projects") == "renders/harbour.draft.mp4")
        #expect(try cluster.query("SELECT version FROM drafts.state_version") == "3")
        let again = try await Self.apply(r, cluster, schema: "drafts", extra: ["--draft"])
        #expect(again.status == 0 && again.stdout.contains("Nothing to do"), "\(again.stdout)\(again.stderr)")
        // The film's own record is apart from it.
        #expect(try cluster.query("SELECT cut IS NULL FROM drafts.projects") == "t")
    }

    @Test("rows doctored in the database are refused as a doctored manifest is, and nothing is sent")
    func doctoredRows() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        #expect(try await Self.apply(r, cluster, schema: "doctored").status == 0)
        try cluster.query(
            """
            UPDATE doctored.shots SET entry = jsonb_set(entry, '{files,0,path}', '"../../outside.mp4"') WHERE key = 'a'
            """)
        let plan = try await Self.run(r, cluster, ["plan", r.file, "--state", cluster.url(schema: "doctored")])
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("postgres://127.0.0.1:\(cluster.port)/postgres?"), "\(plan.stderr)")
        #expect(plan.stderr.contains("nothing is written over it"), "\(plan.stderr)")
        let before = await r.stats().requests
        let apply = try await Self.apply(r, cluster, schema: "doctored", extra: ["--replace", "b"])
        #expect(apply.status == 1)
        #expect(await r.stats().requests == before, "nothing was sent")
        // Tables migrated by a newer kling-render are not read as if they were ours.
        try cluster.query("UPDATE doctored.state_version SET version = 4")
        let newer = try await Self.run(r, cluster, ["status", r.file, "--state", cluster.url(schema: "doctored")])
        #expect(newer.status == 1)
        #expect(
            newer.stderr.contains("its tables are at version 4, newer than this kling-render knows (3)"),
            "\(newer.stderr)")
    }

    @Test(
        "a teammate's render whose URL has expired is fetched from the asset store (keep_outputs), not rendered again; a doctored copy never reaches the render's path"
    )
    func expiredFromStore() async throws {
        let cluster = try await PostgresCluster.shared()
        // URLs die 30 simulated seconds after a render.
        let r = try await Rehearsal(Self.film) {
            $0.timeScale = Self.scale
            $0.expireAfter = 30
            $0.faults[.expire] = 1
        }
        defer { Task { await r.stop() } }
        let yaml = Self.film + "\n" + r.storeBlock + "  keep_outputs: true\n"
        try r.scratch.write(r.file, yaml)
        let other = try Scratch()
        try other.write(r.file, yaml)
        #expect(try await Self.apply(r, cluster, schema: "kept").status == 0)
        #expect(
            (try? cluster.query("SELECT count(*) FROM kept.assets WHERE path LIKE 'renders/%.mp4'")) == "4",
            "every render is kept in the store")
        // Past the URLs' 30 simulated seconds: the simulated clock moved on, not a real wait.
        try await r.simulator.advance(seconds: 60)
        let theirs = try await Self.apply(r, cluster, schema: "kept", in: other.url)
        #expect(theirs.status == 0, "\(theirs.stdout)\(theirs.stderr)")
        #expect(theirs.stdout.contains("fetching the copy kept in s3://rehearsal/kling/"), "\(theirs.stdout)")
        #expect(await r.stats().tasksCreated == 4, "nothing rendered twice")
        for id in ["a", "b", "c", "d"] {
            let mine = try Data(contentsOf: r.scratch.url.appendingPathComponent("renders/\(id).mp4"))
            let copy = try Data(contentsOf: other.url.appendingPathComponent("renders/\(id).mp4"))
            #expect(mine == copy, "\(id) is the same video on both machines")
        }

        // Someone with write access to the bucket replaces every kept copy.
        let hashes = try cluster.query("SELECT entry->>'sha256' FROM kept.assets WHERE path LIKE 'renders/%.mp4'")
        for sha256 in hashes.split(separator: "\n") {
            var put = HTTPClientRequest(url: "\(r.simulator.baseURL)/_store/rehearsal/kling/\(sha256).mp4")
            put.method = .PUT
            put.body = .bytes(ByteBuffer(string: "doctored"))
            #expect(try await HTTPClient.shared.execute(put, timeout: .seconds(30)).status == .ok)
        }
        let third = try Scratch()
        try third.write(r.file, yaml)
        let refused = try await Self.apply(r, cluster, schema: "kept", in: third.url)
        #expect(refused.status == 1)
        #expect((refused.stdout + refused.stderr).contains("not the recorded file"), "\(refused.stdout)")
        let renders = third.url.appendingPathComponent("renders")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: renders.path)) ?? []
        #expect(left.filter { $0.hasSuffix(".mp4") }.isEmpty, "nothing unverified at a render's path: \(left)")
        let recorded = try cluster.query(
            """
            SELECT count(*) FROM kept.shots s JOIN kept.assets a ON a.path = s.entry->'files'->0->>'path'
            WHERE s.entry->'files'->0->>'sha256' = a.entry->>'sha256'
            """)
        #expect(recorded == "4", "the failure keeps each render's file record, for the next teammate")
        #expect(await r.stats().tasksCreated == 4, "and nothing rendered")
    }

    @Test(
        "a statement stuck behind someone else's table lock is cancelled after 19 s: plan and apply end, saying so, and leave no session behind"
    )
    func stuckStatement() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        #expect(try await Self.apply(r, cluster, schema: "stuck").status == 0)
        // A teammate's session sits in a transaction holding the tables (a migration gone quiet).
        let holder = try cluster.hold("LOCK TABLE stuck.projects, stuck.locks IN ACCESS EXCLUSIVE MODE")
        defer { holder.terminate() }
        #expect(
            await Self.waitUntil {
                (try? cluster.query(
                    "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation IS NOT NULL")) == "2"
            })
        let started = Date()
        async let plan = Self.run(r, cluster, ["plan", r.file, "--state", cluster.url(schema: "stuck")])
        async let apply = Self.apply(r, cluster, schema: "stuck")
        let (planned, applied) = try await (plan, apply)
        #expect(Date().timeIntervalSince(started) < 60, "each gave up, neither waited for the lock's end")
        #expect(planned.status == 1)
        let cancelled = "canceling statement due to statement timeout"
        #expect(planned.stderr.contains("cannot read the shared state: \(cancelled)"), "\(planned.stderr)")
        #expect(applied.status == 1)
        #expect(applied.stderr.contains(cancelled), "\(applied.stderr)")
        #expect(await r.stats().tasksCreated == 4, "nothing sent")
        #expect(
            await Self.waitUntil {
                (try? cluster.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'kling-render%'")) == "0"
            }, "no statement of theirs runs on after they gave up")
    }

    @Test("credentials: a password in --state works and is never printed; a wrong one is named without it")
    func credentials() async throws {
        let cluster = try await PostgresCluster.shared()
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        let url = "postgres://\(cluster.user):\(cluster.password)@127.0.0.1:\(cluster.port)/postgres?schema=creds"
        let apply = try await CLI.run(
            [
                "apply", r.file, "--yes", "--state", url, "--endpoint", r.simulator.baseURL, "--time-scale",
                String(Self.scale),
            ],
            in: r.scratch.url, environment: r.environment)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(!(apply.stdout + apply.stderr).contains(cluster.password))
        #expect(apply.stdout.contains("Manifest: postgres://127.0.0.1:\(cluster.port)/postgres?schema=creds"))
        let wrong = "postgres://\(cluster.user):not-\(cluster.password)@127.0.0.1:\(cluster.port)/postgres?schema=creds"
        let refused = try await CLI.run(["status", r.file, "--state", wrong], in: r.scratch.url)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("password authentication failed"), "\(refused.stderr)")
        #expect(!(refused.stdout + refused.stderr).contains(cluster.password))
        // A password file others can read is ignored, as libpq ignores it; at 0600 it is used.
        let passfile = r.scratch.url.appendingPathComponent("pgpass")
        try "127.0.0.1:\(cluster.port):*:\(cluster.user):\(cluster.password)\n".write(
            to: passfile, atomically: true, encoding: .utf8)
        chmod(passfile.path, 0o644)
        let environment = ["PGPASSFILE": passfile.path, "PGUSER": cluster.user]
        let open = try await CLI.run(
            ["status", r.file, "--state", cluster.url(schema: "creds")], in: r.scratch.url, environment: environment)
        #expect(open.status == 1)
        #expect(open.stderr.contains("can be read by others, so it is ignored"), "\(open.stderr)")
        chmod(passfile.path, 0o600)
        let closed = try await CLI.run(
            ["status", r.file, "--state", cluster.url(schema: "creds")], in: r.scratch.url, environment: environment)
        #expect(closed.status == 0, "\(closed.stderr)")
    }
}
