import Foundation

/// A manifest comes from version control, committed by anyone: before the tool trusts it, every
/// field that names a file, a URL, a task or a number is checked, and the first problem is named
/// by its field (`shots.a.files[0].path`).
package enum ManifestCheck {
    /// No render costs more than this many credits: larger numbers are someone's mistake or attack.
    package static let maxCredits = 1_000_000_000
    /// No video is larger than this (a 15 s 4K video is well under 1 GiB).
    package static let maxVideoBytes: Int64 = 4 << 30
    /// Task ids are short words; this bounds what a manifest or an answer may make us store and print.
    package static let maxTaskIDLength = 128

    package static func problem(in manifest: Manifest) -> String? {
        if let url = URLComponents(string: manifest.endpoint), url.user != nil || url.password != nil {
            return "`endpoint` holds a user name or password"
        }
        for (id, shot) in manifest.shots.sorted(by: { $0.key < $1.key }) {
            if let problem = problem(id: id, shot: shot, endpoint: manifest.endpoint) { return problem }
        }
        if let cut = manifest.cut {
            if !isHex64(cut.fingerprint) { return "cut.fingerprint is not a SHA-256" }
            guard let normalized = try? ProjectFolder.normalize(cut.file.path), normalized == cut.file.path,
                !normalized.isEmpty
            else { return "cut.file.path is not a path inside the project's folder" }
            if !(0...maxVideoBytes).contains(cut.file.bytes) || !isHex64(cut.file.sha256) {
                return "cut.file must have bytes from 0 to \(Int(maxVideoBytes).formatted) and a SHA-256"
            }
            if !cut.seconds.isFinite || !(0...86_400).contains(cut.seconds) {
                return "cut.seconds must be from 0 to 86,400"
            }
        }
        for (path, asset) in (manifest.assets ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let problem = problem(path: path, asset: asset) { return problem }
        }
        for (task, paid) in (manifest.ledger ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard isTaskID(task) else { return "`ledger` holds a key that is not a task id" }
            let known = Take.parse(paid.shot).map { isShotID($0.id) } ?? false
            guard known else { return "ledger.\(task).shot is not a shot or take id" }
            if !(0...maxCredits).contains(paid.credits) {
                return "ledger.\(task).credits must be from 0 to \(maxCredits.formatted)"
            }
        }
        return nil
    }

    /// An asset record: only ever compared (is this content stored?), but still data from outside.
    private static func problem(path: String, asset: ManifestAsset) -> String? {
        guard let normalized = try? ProjectFolder.normalize(path), normalized == path, !path.isEmpty else {
            return
                "`assets` holds `\(Printable.escaped(String(path.prefix(200))))`, which is not a path inside the project's folder"
        }
        let at = "assets.\(Printable.escaped(String(path.prefix(200))))"
        if !isHex64(asset.sha256) { return "\(at).sha256 is not a SHA-256" }
        if !(0...maxVideoBytes).contains(asset.bytes) {
            return "\(at).bytes must be from 0 to \(Int(maxVideoBytes).formatted)"
        }
        if asset.key.utf8.count > 1024 || asset.store.utf8.count > 1024 {
            return "\(at) has a key or store longer than S3 allows"
        }
        if let lifetime = asset.urlLifetime, !(1...AssetSettings.maxURLLifetime).contains(lifetime) {
            return "\(at).url_lifetime must be from 1 to \(AssetSettings.maxURLLifetime) seconds"
        }
        return nil
    }

    private static func problem(id: String, shot: ManifestShot, endpoint: String) -> String? {
        let known = Take.parse(id).map { isShotID($0.id) } ?? false
        let at = "shots.\(known ? id : "…")"
        if !known { return "`shots` holds a key that is not a shot id or a take of one (`sunrise.take2`)" }
        for (upstream, take) in shot.picks ?? [:] where !isShotID(upstream) || !(1...Take.maxNumber).contains(take) {
            return "\(at).picks must map shot ids to take numbers from 1 to \(Take.maxNumber)"
        }
        if !isHex64(shot.fingerprint) { return "\(at).fingerprint is not a SHA-256" }
        if let task = shot.taskID, !isTaskID(task) {
            return "\(at).task_id is not a task id (1 to \(maxTaskIDLength) letters, digits, `-`, `_`, `.` or `:`)"
        }
        if let task = shot.externalTaskID, !Provider.isExternalTaskID(task) {
            return
                "\(at).external_task_id is not one kling-render makes (`kr-HASH-HASH-NAME-ATTEMPT`, at most 64 characters)"
        }
        if !(0...maxCredits).contains(shot.estimatedCredits) {
            return "\(at).estimated_credits must be from 0 to \(maxCredits.formatted)"
        }
        if let consumed = shot.consumedCredits, !(0...maxCredits).contains(consumed) {
            return "\(at).consumed_credits must be from 0 to \(maxCredits.formatted)"
        }
        if shot.urls.count > URLPolicy.maxURLsPerRender {
            return "\(at).urls holds \(shot.urls.count) URLs; a render has at most \(URLPolicy.maxURLsPerRender)"
        }
        for (n, url) in shot.urls.enumerated() {
            if let problem = URLPolicy.problem(url, endpoint: endpoint) { return "\(at).urls[\(n)] \(problem)" }
        }
        for (n, file) in shot.files.enumerated() {
            let field = "\(at).files[\(n)]"
            guard let normalized = try? ProjectFolder.normalize(file.path), normalized == file.path,
                !normalized.isEmpty
            else {
                return
                    "\(field).path `\(Printable.escaped(String(file.path.prefix(200))))` is not a path inside the project's folder"
            }
            if !(0...maxVideoBytes).contains(file.bytes) {
                return "\(field).bytes must be from 0 to \(Int(maxVideoBytes).formatted)"
            }
            if !isHex64(file.sha256) { return "\(field).sha256 is not a SHA-256" }
        }
        return nil
    }

    /// The project file's rule for shot ids (`ProjectBuilder.isValidShotID`), with a length cap.
    package static func isShotID(_ id: String) -> Bool {
        id.unicodeScalars.count <= 200 && ProjectBuilder.isValidShotID(id)
    }

    package static func isTaskID(_ id: String) -> Bool {
        let scalars = id.unicodeScalars
        return !scalars.isEmpty && scalars.count <= maxTaskIDLength
            && scalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0))
            }
    }

    private static func isHex64(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// Says where a JSON document went wrong: the field for a wrong type, the byte offset for bad syntax.
package enum JSONProblem {
    package static func describe(_ error: any Error, in data: Data) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing `\(path(context.codingPath + [key]))`"
        case DecodingError.typeMismatch(let type, let context):
            return "`\(path(context.codingPath))` is not \(typeName(type))"
        case DecodingError.valueNotFound(let type, let context):
            return "`\(path(context.codingPath))` is null, not \(typeName(type))"
        case DecodingError.dataCorrupted(let context):
            if !context.codingPath.isEmpty {
                return
                    "`\(path(context.codingPath))`: \(Printable.escaped(String(context.debugDescription.prefix(200))))"
            }
            return syntax(context, in: data)
        default:
            return Printable.escaped(String("\(error)".prefix(200)))
        }
    }

    /// Foundation's decoder says only "not valid JSON" here, whatever went wrong: its parser
    /// finds the byte, and a walk finds a number that fits no whole-number field.
    private static func syntax(_ context: DecodingError.Context, in data: Data) -> String {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            if endsInsideValue(data) {
                return "not valid JSON: it ends at byte \(data.count) in the middle of a value (truncated?)"
            }
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            return "not valid JSON: "
                + Printable.short(detail.trimmingCharacters(in: CharacterSet(charactersIn: ".")), limit: 120)
        }
        if let path = unfitNumber(in: object, at: "") {
            return "`\(path)` is not a whole number in range"
        }
        return "not of the expected shape: " + Printable.short(context.debugDescription, limit: 120)
    }

    /// Whether the bytes stop inside a string, an object or an array: read by their structure,
    /// not by what a parser's message says.
    static func endsInsideValue(_ data: Data) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in data {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return inString || depth > 0
    }

    /// The first number outside request values that is not a whole number Int can hold.
    private static func unfitNumber(in value: Any, at path: String) -> String? {
        switch value {
        case let object as [String: Any]:
            for key in object.keys.sorted() where !["request", "before", "after"].contains(key) {
                let child =
                    path.isEmpty ? Printable.short(key, limit: 80) : path + "." + Printable.short(key, limit: 80)
                if let found = unfitNumber(in: object[key]!, at: child) { return found }
            }
        case let array as [Any]:
            for (n, item) in array.enumerated() {
                if let found = unfitNumber(in: item, at: path + "[\(n)]") { return found }
            }
        case let number as NSNumber:
            let double = number.doubleValue
            if double.rounded() != double || !(Double(Int.min)..<Double(Int.max)).contains(double) { return path }
        default: break
        }
        return nil
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += (out.isEmpty ? "" : ".") + Printable.escaped(String(key.stringValue.prefix(80)))
            }
        }
        // A path of many long keys is cut as a prompt is: it comes from someone else's file.
        return out.isEmpty ? "the document" : out.count > 200 ? String(out.prefix(200)) + "…" : out
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type: "a whole number in range"
        case is String.Type: "text"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        default: "of the expected type"
        }
    }
}
