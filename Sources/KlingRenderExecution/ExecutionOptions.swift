import Foundation

/// How `apply` runs: the options of the command, in one place.
package struct ExecutionOptions: Sendable {
    /// Tasks in flight at once (submitted and not finished). Status requests do not count.
    package var parallelism = 4
    /// Seconds after which polling and downloading stop; the tasks stay in flight for the next apply.
    package var timeout: Double?
    /// Stop submitting at the first failure.
    package var failFast = false
    /// API seconds per real second: expected render times, back-offs and Retry-After are divided by
    /// it (a compressed simulator; 1 against the real API).
    package var timeScale = 1.0
    /// Tries of one request that may be sent again (429, 5xx, connection refused).
    package var submitAttempts = 8
    /// Downloads at once.
    package var downloads = 4
    /// Size cap and stall time-out of each download.
    package var downloadLimits = DownloadLimits()
    /// Consecutive status answers that cannot be used (HTML, oversized, 4xx/5xx, a foreign task id)
    /// after which a shot stops being polled: it stays in flight, and the next apply polls it again.
    package var maxUnusableAnswers = 10

    /// Ceiling on local CPU work at once (ffmpeg, later): the core count.
    package var cpu = ProcessInfo.processInfo.activeProcessorCount

    package init() {}
}
