/// One thing the user wrote wrong (or suspicious), located in their file.
package struct Diagnostic: Sendable, Hashable, Codable {
    package enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    package var severity: Severity
    package var file: String
    /// Absent for problems of the file as a whole (missing, unreadable, binary).
    package var location: SourceLocation?
    package var message: String
    /// A hint: what to write instead.
    package var note: String?
    /// The source line may hold a secret (a password in an address): it is never echoed.
    package var hidesLine: Bool?

    package init(
        _ severity: Severity, file: String, at location: SourceLocation?, _ message: String,
        note: String? = nil
    ) {
        self.severity = severity
        self.file = file
        self.location = location
        self.message = message
        self.note = note
    }

    /// `FILE:LINE:COLUMN: error: MESSAGE`, the form compilers and editors understand.
    package var headline: String {
        var text = file
        if let location { text += ":\(location.line):\(location.column)" }
        text += ": \(severity.rawValue): \(message)"
        return text
    }
}

extension [Diagnostic] {
    /// Errors before nothing: sorted by file, then position, then message, so that output is stable.
    package func sortedByPosition() -> [Diagnostic] {
        sorted { a, b in
            if a.file != b.file { return a.file < b.file }
            let la = a.location ?? SourceLocation(line: 0, column: 0)
            let lb = b.location ?? SourceLocation(line: 0, column: 0)
            if la != lb { return la < lb }
            return a.message < b.message
        }
    }

    package var hasErrors: Bool { contains { $0.severity == .error } }
}

/// Collects diagnostics for one file.
package struct DiagnosticSink: Sendable {
    package let file: String
    package private(set) var diagnostics: [Diagnostic] = []

    package init(file: String) { self.file = file }

    package mutating func error(_ location: SourceLocation?, _ message: String, note: String? = nil) {
        diagnostics.append(Diagnostic(.error, file: file, at: location, message, note: note))
    }

    /// An error on a line that may hold a secret: shown without the line.
    package mutating func errorHidingLine(_ location: SourceLocation?, _ message: String, note: String? = nil) {
        var diagnostic = Diagnostic(.error, file: file, at: location, message, note: note)
        diagnostic.hidesLine = true
        diagnostics.append(diagnostic)
    }

    package mutating func warning(_ location: SourceLocation?, _ message: String, note: String? = nil) {
        diagnostics.append(Diagnostic(.warning, file: file, at: location, message, note: note))
    }

    package var hasErrors: Bool { diagnostics.hasErrors }
}
