import Foundation

/// What loading a project file gave: the project when it has no errors, and every diagnostic.
package struct LoadResult: Sendable {
    package var project: Project?
    package var diagnostics: [Diagnostic]
    /// The file's text, for printing source lines under diagnostics.
    package var source: String?
    /// The file's raw bytes hashed, so that a saved plan can tell the file changed.
    package var sourceDigest: String?
}

/// Reads a project file from disk or text into a checked `Project`.
package struct ProjectLoader: Sendable {
    /// Larger files are refused before they are read.
    package var maxFileSize = 64 << 20
    package var composerLimits = YAMLComposer.Limits()

    package init() {}

    package func load(path: String) -> LoadResult {
        let fail = { (message: String) in
            LoadResult(project: nil, diagnostics: [Diagnostic(.error, file: path, at: nil, message)])
        }
        // A project file committed as a link to a file elsewhere (`~/.aws/credentials`) would have
        // its lines echoed in diagnostics: it is not followed out of its folder.
        let url = URL(fileURLWithPath: path)
        let folder = ProjectFolder(url.deletingLastPathComponent())
        if case .other(.link) = folder.entry(url.lastPathComponent),
            !folder.isInside(url.resolvingSymlinksInPath().path)
        {
            return fail("is a symbolic link to a file outside its folder; kling-render does not follow it")
        }
        // What the path is, before a byte is read: a FIFO would block, `/dev/zero` never ends.
        guard let kind = ProjectFolder.kind(ofPath: path) else { return fail("no such file") }
        switch kind {
        case .file: break
        case .folder: return fail("is a folder, not a project file")
        default: return fail("is \(kind.phrase), not a project file; name a regular YAML file")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maxFileSize {
            return fail("file is \(size.formatted) bytes; project files are limited to \(maxFileSize.formatted) bytes")
        }
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoPermission) }
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxFileSize + 1) ?? Data()
        } catch {
            return fail("cannot read the file (permission denied?)")
        }
        if data.count > maxFileSize {
            return fail("file is larger than \(maxFileSize.formatted) bytes")
        }
        return load(data: data, file: path)
    }

    package func load(data: Data, file: String) -> LoadResult {
        let fail = { (message: String) in
            LoadResult(project: nil, diagnostics: [Diagnostic(.error, file: file, at: nil, message)])
        }
        if data.isEmpty { return fail("file is empty; a project starts with `version: 1`") }
        if let encoding = Self.wideEncoding(data) {
            return fail("file is \(encoding) text; save it as UTF-8")
        }
        if data.withUnsafeBytes({ raw in raw.baseAddress.map { memchr($0, 0, raw.count) != nil } ?? false }) {
            return fail("file looks binary (it holds NUL bytes); expected a YAML project file")
        }
        guard var text = String(validating: data, as: UTF8.self) else {
            return fail("file is not UTF-8 text; save it as UTF-8")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var result = load(text: text, file: file)
        result.sourceDigest = Digest.sha256Hex(data)
        return result
    }

    package func load(text: String, file: String) -> LoadResult {
        var sink = DiagnosticSink(file: file)
        let root: YAMLNode?
        do {
            root = try YAMLComposer(limits: composerLimits).compose(text, into: &sink)
        } catch {
            sink.error(error.location, error.message)
            return LoadResult(project: nil, diagnostics: sink.diagnostics.sortedByPosition(), source: text)
        }
        guard let root, !(root.isNullScalar) else {
            sink.error(nil, "file holds no YAML content; a project starts with `version: 1`")
            return LoadResult(project: nil, diagnostics: sink.diagnostics, source: text)
        }
        var builder = ProjectBuilder(file: file, sink: sink)
        let project = builder.build(root)
        let diagnostics = builder.sink.diagnostics.sortedByPosition()
        return LoadResult(
            project: diagnostics.hasErrors ? nil : project, diagnostics: diagnostics, source: text)
    }
}

extension ProjectLoader {
    /// UTF-16 or UTF-32, by byte-order mark or by the NUL bytes ASCII text has in them.
    static func wideEncoding(_ data: Data) -> String? {
        let head = [UInt8](data.prefix(4))
        if head.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || head.starts(with: [0xFF, 0xFE, 0x00, 0x00]) {
            return "UTF-32"
        }
        if head.starts(with: [0xFE, 0xFF]) { return "UTF-16 (big-endian)" }
        if head.starts(with: [0xFF, 0xFE]) { return "UTF-16 (little-endian)" }
        if head.count >= 4 {
            if head[0] == 0, head[1] == 0, head[2] == 0, head[3] != 0 { return "UTF-32" }
            if head[0] != 0, head[1] == 0, head[2] == 0, head[3] == 0 { return "UTF-32" }
            if head[0] == 0, head[1] != 0, head[2] == 0, head[3] != 0 { return "UTF-16 (big-endian)" }
            if head[0] != 0, head[1] == 0, head[2] != 0, head[3] == 0 { return "UTF-16 (little-endian)" }
        }
        return nil
    }
}

extension YAMLNode {
    var isNullScalar: Bool {
        if case .scalar(let s) = self { return s.isNull }
        return false
    }
}

extension Int {
    /// 1,234,567: thousands separated, independent of locale.
    package var formatted: String {
        let digits = String(self.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return self < 0 ? "-" + out : out
    }
}
