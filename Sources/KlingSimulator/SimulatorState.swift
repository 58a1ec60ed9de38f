import Foundation

/// Everything the simulator remembers: accounts, tasks, counters, and its seeded randomness.
actor SimulatorState {
    struct SimTask {
        var id: String
        var key: String
        var type: String
        var request: [String: SimJSON]
        var credits: Int
        var duration: Int
        var aspectRatio: String
        var prompt: String
        var createdAt: Double
        var renderSeconds: Double
        var fails: Bool
        var expires: Bool
        /// Ends SUCCESS with no video URL.
        var empty = false
        /// The shot and take a rehearsal named (`X-Kling-Render-Shot`), drawn on the clip.
        var label: String?
        /// The id the client gave it (`external_task_id`, official API): unique per account.
        var externalID: String?

        var finishesAt: Double { createdAt + renderSeconds }
    }

    enum GenerateOutcome {
        case created(SimTask)
        case rejected(SimulatorRules.Rejection, retryAfter: Int?)
        /// Close the connection without answering (after creating the task when `lost`).
        case dropConnection
        /// A 502 HTML page, as a gateway in front of the API gives.
        case gatewayPage
    }

    let configuration: SimulatorConfiguration
    private var random: SeededRandom
    private var balances: [String: Int]
    private(set) var tasks: [String: SimTask] = [:]
    /// Account → external task id → task id.
    private var external: [String: [String: String]] = [:]
    private var requestTimes: [String: [Double]] = [:]
    private var burstRemaining: [String: Int] = [:]
    private let started = ContinuousClock.now

    private var tasksCreated: [String: Int] = [:]
    private var creditsCharged: [String: Int] = [:]
    private var requests: [String: Int] = [:]
    private var faults: [String: Int] = [:]

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        self.random = SeededRandom(seed: configuration.seed)
        self.balances = configuration.keys
    }

    /// Simulated seconds since the simulator started.
    func now() -> Double {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds * configuration.timeScale + skipped
    }

    /// Simulated seconds skipped by `advance`: tests fast-forward renders instead of waiting.
    private var skipped = 0.0

    func advance(by seconds: Double) {
        if seconds > 0, seconds.isFinite { skipped += seconds }
    }

    func count(_ endpoint: String) {
        requests[endpoint, default: 0] += 1
    }

    private func strikes(_ fault: SimulatorFault) -> Bool {
        guard let p = configuration.faults[fault], p > 0 else { return false }
        let hit = random.nextUnit() < p
        if hit { faults[fault.rawValue, default: 0] += 1 }
        return hit
    }

    /// Whether this answer is delayed (`slow`).
    func slowAnswer() -> Bool { strikes(.slow) }

    func authenticate(_ key: String?) -> Bool {
        guard let key else { return false }
        return balances[key] != nil
    }

    /// The request-rate limit and `ratelimit` bursts; a retry-after in seconds when refused.
    func rateLimit(_ key: String) -> Int? {
        let t = now() / configuration.timeScale
        var times = requestTimes[key, default: []]
        times.removeAll { $0 < t - 1 }
        times.append(t)
        requestTimes[key] = times
        if times.count > configuration.requestsPerSecond { return 1 }
        if let left = burstRemaining[key], left > 0 {
            burstRemaining[key] = left - 1
            return 1
        }
        if strikes(.ratelimit) {
            burstRemaining[key] = 2
            return 1
        }
        return nil
    }

    func generate(key: String, body: [String: SimJSON], label: String? = nil, externalID: String? = nil)
        -> GenerateOutcome
    {
        let accepted: SimulatorRules.Accepted
        do {
            accepted = try SimulatorRules.check(body)
        } catch {
            return .rejected(error, retryAfter: nil)
        }
        let balance = balances[key] ?? 0
        if balance < accepted.credits {
            return .rejected(
                .init(
                    status: 402, code: "INSUFFICIENT_CREDITS",
                    message: "Insufficient credits: \(balance) left, \(accepted.credits) needed"),
                retryAfter: nil)
        }
        let t = now()
        let inFlight = tasks.values.filter { $0.key == key && $0.finishesAt > t }.count
        if inFlight >= configuration.maxTasksInFlight {
            return .rejected(
                .init(
                    status: 429, code: configuration.api == .gateway ? "RATE_LIMITED" : "TASKS_IN_FLIGHT",
                    message: "Too many tasks in flight (\(inFlight))"),
                retryAfter: 5)
        }
        // An account's external task ids are unique: a second task with one is refused.
        if let externalID, external[key]?[externalID] != nil {
            return .rejected(
                .init(
                    status: 400, code: "DUPLICATE_EXTERNAL_ID",
                    message: "external_task_id \(externalID) already exists"),
                retryAfter: nil)
        }
        if strikes(.internalError) {
            return .rejected(
                .init(status: 500, code: "INTERNAL_ERROR", message: "Internal server error"), retryAfter: nil)
        }
        if strikes(.gateway) { return .gatewayPage }
        if strikes(.drop) { return .dropConnection }
        let lost = strikes(.lost)
        var id = accepted.info.idPrefix
        for _ in 0..<5 { id += String(random.next() & 0xFFFF_FFFF, radix: 16) }
        let task = SimTask(
            id: String(id.prefix(24)), key: key, type: accepted.type, request: body, credits: accepted.credits,
            duration: accepted.duration, aspectRatio: accepted.aspectRatio, prompt: body["prompt"]?.string ?? "",
            createdAt: t, renderSeconds: accepted.renderSeconds, fails: strikes(.fail) || failsOnPurpose(body),
            expires: strikes(.expire), empty: strikes(.empty), label: label, externalID: externalID)
        tasks[task.id] = task
        if let externalID { external[key, default: [:]][externalID] = task.id }
        balances[key] = balance - accepted.credits
        tasksCreated[key, default: 0] += 1
        creditsCharged[key, default: 0] += accepted.credits
        return lost ? .dropConnection : .created(task)
    }

    func task(_ id: String) -> SimTask? { tasks[id] }

    /// An account's task by its task id or its external task id (the official API's query).
    func task(official id: String, key: String) -> SimTask? {
        if let task = tasks[id], task.key == key { return task }
        return external[key]?[id].flatMap { tasks[$0] }
    }

    private func failsOnPurpose(_ body: [String: SimJSON]) -> Bool {
        guard let prompt = body["prompt"]?.string else { return false }
        return configuration.failPrompts.contains { !$0.isEmpty && prompt.contains($0) }
    }

    /// The task, or, when `adoptUnknownTasks` is on, a task of an earlier simulator process taken
    /// over as if submitted now: a rehearsal interrupted mid-render resumes in the next one.
    func task(_ id: String, key: String) -> SimTask? {
        if let task = tasks[id] { return task }
        guard configuration.adoptUnknownTasks, id.hasPrefix("n75") || id.hasPrefix("n71"), id.count <= 64 else {
            return nil
        }
        let task = SimTask(
            id: id, key: key, type: "adopted", request: [:], credits: 0, duration: 5, aspectRatio: "16:9",
            prompt: "adopted task", createdAt: now(), renderSeconds: 60, fails: false, expires: false)
        tasks[id] = task
        return task
    }

    /// A video's availability: the task, or why it cannot be served.
    enum VideoLookup {
        case found(SimTask)
        case notFound
        case expired
    }

    func video(_ id: String) -> VideoLookup {
        guard let task = tasks[id], !task.fails, now() >= task.finishesAt else { return .notFound }
        if task.expires, now() >= task.finishesAt + configuration.expireAfter { return .expired }
        return .found(task)
    }

    func stats() -> SimulatorStats {
        SimulatorStats(
            tasksCreated: tasksCreated.values.reduce(0, +), creditsCharged: creditsCharged.values.reduce(0, +),
            tasksCreatedPerKey: tasksCreated, creditsChargedPerKey: creditsCharged, requests: requests, faults: faults,
            balances: balances)
    }

    /// `GET /_sim/tasks`: every task, oldest first, as an account's dashboard lists them.
    func dashboard() -> SimulatorDashboard {
        let t = now()
        let list = tasks.values.filter { $0.type != "adopted" }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        return SimulatorDashboard(
            tasks: list.map { task in
                let status = t < task.finishesAt ? "IN_PROGRESS" : task.fails ? "FAILED" : "SUCCESS"
                return SimulatorDashboard.Entry(
                    taskID: task.id, account: task.key, request: task.request, status: status,
                    consumedCredits: task.credits, createdAt: SimulatorServer.timestamp(task.createdAt),
                    label: task.label)
            })
    }

    func reset() {
        tasks = [:]
        external = [:]
        balances = configuration.keys
        requestTimes = [:]
        burstRemaining = [:]
        tasksCreated = [:]
        creditsCharged = [:]
        requests = [:]
        faults = [:]
        random = SeededRandom(seed: configuration.seed)
    }
}

/// `GET /_sim/tasks`: the simulator's "dashboard", where a user (or a test) finds a task by its
/// request and time, to `import` it.
public struct SimulatorDashboard: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var taskID: String
        /// The key the task was charged to.
        public var account: String
        var request: [String: SimJSON]
        public var status: String
        public var consumedCredits: Int
        public var createdAt: String
        /// The shot and take a rehearsal named.
        public var label: String?

        /// The echoed request's prompt, for finding a task.
        public var prompt: String? {
            if case .string(let text) = request["prompt"] { return text }
            return nil
        }

        /// The task type it was created as (the official API's requests read back into one).
        public var type: String? {
            if case .string(let text) = request["type"] { return text }
            return nil
        }

        enum CodingKeys: String, CodingKey {
            case account, request, status, label
            case taskID = "task_id"
            case consumedCredits = "consumed_credits"
            case createdAt = "created_at"
        }
    }

    public var tasks: [Entry]
}

/// `GET /_sim/stats`: what tests read to prove nothing was submitted twice.
public struct SimulatorStats: Codable, Sendable, Equatable {
    public var tasksCreated: Int
    public var creditsCharged: Int
    public var tasksCreatedPerKey: [String: Int]
    public var creditsChargedPerKey: [String: Int]
    /// "POST /api/generate", "GET /api/status", "GET /videos", "other" → count.
    public var requests: [String: Int]
    /// Fault name → times it struck.
    public var faults: [String: Int]
    public var balances: [String: Int]

    public init(
        tasksCreated: Int = 0, creditsCharged: Int = 0, tasksCreatedPerKey: [String: Int] = [:],
        creditsChargedPerKey: [String: Int] = [:], requests: [String: Int] = [:], faults: [String: Int] = [:],
        balances: [String: Int] = [:]
    ) {
        self.tasksCreated = tasksCreated
        self.creditsCharged = creditsCharged
        self.tasksCreatedPerKey = tasksCreatedPerKey
        self.creditsChargedPerKey = creditsChargedPerKey
        self.requests = requests
        self.faults = faults
        self.balances = balances
    }

    enum CodingKeys: String, CodingKey {
        case requests, faults, balances
        case tasksCreated = "tasks_created"
        case creditsCharged = "credits_charged"
        case tasksCreatedPerKey = "tasks_created_per_key"
        case creditsChargedPerKey = "credits_charged_per_key"
    }
}

/// SplitMix64: small, fast and the same on every machine, so a seed gives the same schedule.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
