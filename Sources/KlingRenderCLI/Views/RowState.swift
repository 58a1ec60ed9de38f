import KlingRenderExecution

extension RowState {
    /// The colour of a row in this state.
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
