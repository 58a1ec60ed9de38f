import Foundation

/// Where a row of the live table stands: its word on screen, and its colour.
enum RowState: String, Sendable {
    case waiting, unchanged, submitting, rendering, rendered, downloading, done, failed, blocked, uncertain
    case inFlight = "in flight"
    case assembling

    var style: Terminal.Style {
        switch self {
        case .done, .unchanged: .green
        case .failed, .uncertain: .red
        case .blocked, .inFlight: .yellow
        case .waiting: .dim
        case .submitting, .rendering, .rendered, .downloading, .assembling: .cyan
        }
    }
}
