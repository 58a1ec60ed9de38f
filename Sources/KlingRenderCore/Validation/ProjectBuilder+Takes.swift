/// `takes:` and `pick:`. Whether a pick names a take that exists depends on the manifest too (a
/// take made by `--retake` exists beyond `takes:`): the plan checks that.
extension ProjectBuilder {
    /// `takes: N`, from 1 to `Take.maxTakes`.
    mutating func takeCount(_ node: YAMLNode) -> Int? {
        let range = " from 1 to \(Take.maxTakes)"
        guard let n = integer(node, field: "takes", range: range) else { return nil }
        guard (1...Take.maxTakes).contains(n) else {
            sink.error(node.location, "`takes` must be a whole number\(range), not \(n)")
            return nil
        }
        return n
    }

    /// `pick: K`, a take number.
    mutating func takeNumber(_ node: YAMLNode, field: String = "pick") -> Int? {
        let range = " from 1 to \(Take.maxNumber)"
        guard let n = integer(node, field: field, range: range) else { return nil }
        guard (1...Take.maxNumber).contains(n) else {
            sink.error(node.location, "`\(field)` must be a whole number\(range), not \(n)")
            return nil
        }
        return n
    }
}
