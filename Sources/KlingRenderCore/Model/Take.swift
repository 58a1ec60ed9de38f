/// One of a shot's renders. A shot with `takes: 3` is three tasks of one request; `pick:` names
/// the take its users get. Take 1 is the shot itself, so a project without takes keeps its
/// manifest keys and file names: take 1 is `sunrise`, take 2 `sunrise.take2`.
package enum Take {
    /// The most `takes:` a shot may ask for.
    package static let maxTakes = 8
    /// The highest take number there can be, one more take (`--retake`) at a time.
    package static let maxNumber = 99

    /// The manifest key, and the file stem, of take `number` of shot `id`. Shot ids hold no `.`,
    /// so no key of one shot's take is another shot's id.
    package static func key(_ id: String, _ number: Int) -> String {
        number == 1 ? id : "\(id).take\(number)"
    }

    /// How messages name a take: `sunrise`, `sunrise take 2`.
    package static func label(_ id: String, _ number: Int) -> String {
        number == 1 ? id : "\(id) take \(number)"
    }

    /// The shot and take a manifest key names; nil for a key no take has (`a.take1`, `a.take007`).
    package static func parse(_ key: String) -> (id: String, number: Int)? {
        guard let dot = key.firstIndex(of: ".") else { return (key, 1) }
        let id = String(key[..<dot])
        let rest = key[key.index(after: dot)...]
        guard rest.hasPrefix("take"), let number = Int(rest.dropFirst(4)), (2...maxNumber).contains(number),
            key == Self.key(id, number)
        else { return nil }
        return (id, number)
    }
}

extension Shot {
    /// The manifest key of the take this shot's users get.
    package var pickedKey: String { Take.key(id, pick) }

    /// What a render of this shot records as `picks`: the take of each upstream shot whose
    /// output it takes in, where that is not take 1; nil when every one is.
    package func upstreamPicks(_ pick: (String) -> Int?) -> [String: Int]? {
        var picks: [String: Int] = [:]
        for dependency in dependencies where dependency.kind != .after {
            if let take = pick(dependency.id), take != 1 { picks[dependency.id] = take }
        }
        return picks.isEmpty ? nil : picks
    }
}

extension Manifest {
    /// The take numbers the manifest records for shot `id`, in order.
    package func takeNumbers(of id: String) -> [Int] {
        var numbers: [Int] = []
        if shots[id] != nil { numbers.append(1) }
        let prefix = id + ".take"
        for key in shots.keys where key.hasPrefix(prefix) {
            if let take = Take.parse(key), take.id == id { numbers.append(take.number) }
        }
        return numbers.sorted()
    }
}
