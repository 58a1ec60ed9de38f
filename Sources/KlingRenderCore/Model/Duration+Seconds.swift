extension Duration {
    /// The duration as seconds, attoseconds included.
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
