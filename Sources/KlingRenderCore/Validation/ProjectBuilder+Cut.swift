import Foundation

/// `cut:`, checked rule by rule where each is written. What only a render tells (the length of an
/// edit's video) is checked when the cut is assembled.
extension ProjectBuilder {
    static let cutKeys = ["output", "size", "fps", "quality", "exports", "clips", "audio"]
    static let clipKeys = ["shot", "take", "in", "out", "transition"]
    static let audioKeys = ["shots", "music", "music_volume", "fade_out"]

    /// `ids` are every shot written, valid or not: a clip of a shot with errors of its own is not
    /// also reported as naming no shot.
    /// `lengths`: each shot's length where the file says it, shots with errors included, so that
    /// every trim and transition is checked in the one run.
    mutating func readCut(
        _ node: YAMLNode, shots: [Shot], ids: Set<String>, lengths: [String: Double], name: String
    ) -> Cut? {
        guard case .mapping(let m) = node else {
            sink.error(node.location, "`cut` must be a mapping (output, size, fps, clips, audio)")
            return nil
        }
        unknownKeys(m, allowed: Self.cutKeys, in: "cut")
        var cut = Cut(output: Self.defaultCutName(name), clips: [], location: node.location)
        var ok = true
        if let n = m["output"] {
            if let output = cutOutput(n) { cut.output = output } else { ok = false }
        }
        if let n = m["size"] {
            if let size = cutSize(n) { cut.size = size } else { ok = false }
        }
        if let n = m["fps"] {
            if let fps = integer(n, field: "cut.fps", range: " from 1 to 120"), (1...120).contains(fps) {
                cut.fps = fps
            } else {
                if case .scalar(let s) = n, let v = Int(s.text), !(1...120).contains(v) {
                    sink.error(n.location, "`cut.fps` must be a whole number from 1 to 120, not \(v)")
                }
                ok = false
            }
        }
        if let n = m["quality"] {
            if let quality = cutQuality(n) { cut.quality = quality } else { ok = false }
        }
        if let n = m["exports"] {
            if let exports = cutExports(n) { cut.exports = exports } else { ok = false }
        }
        guard let clipsNode = m["clips"] else {
            sink.error(node.location, "`cut` needs `clips:`, a list of `- shot: ID`")
            return nil
        }
        guard case .sequence(let list) = clipsNode, !list.items.isEmpty else {
            sink.error(clipsNode.location, "`cut.clips` must be a list of one clip or more (`- shot: ID`)")
            return nil
        }
        let byID = Dictionary(shots.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Each clip that could be read, by its place in the list: transitions are checked between
        // neighbours that both were, whatever the others' errors.
        var read: [Int: Cut.Clip] = [:]
        for (n, item) in list.items.enumerated() {
            switch cutClip(item, number: n, valid: byID, ids: ids, lengths: lengths) {
            case .valid(let clip):
                read[n] = clip
                cut.clips.append(clip)
            case .ofInvalidShot(let clip):
                read[n] = clip
                ok = false
            case .invalid: ok = false
            }
        }
        if !checkTransitions(read, count: list.items.count, lengths: lengths) { ok = false }
        if ok { ok = checkOutput(cut, shots: byID, at: m["output"]?.location ?? node.location) }
        if let n = m["audio"] {
            if let audio = cutAudio(n) { cut.audio = audio } else { ok = false }
        }
        return ok ? cut : nil
    }

    /// `NAME.mp4`, from the project's name, in the characters a file name keeps everywhere.
    static func defaultCutName(_ name: String) -> String {
        let kept = name.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }
        let stem = String(kept).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return (stem.isEmpty ? "cut" : stem) + ".mp4"
    }

    private mutating func unknownKeys(_ m: YAMLMapping, allowed: [String], in block: String) {
        for entry in m.entries where !allowed.contains(entry.key.text) {
            sink.error(
                entry.key.location, "unknown field `\(entry.key.text)` in `\(block)`",
                note: Suggestion.note(for: entry.key.text, in: allowed))
        }
    }

    private mutating func cutOutput(_ node: YAMLNode) -> String? {
        guard let text = plainText(node, field: "cut.output") else { return nil }
        guard let normalized = try? ProjectFolder.normalize(text), normalized == text, !text.isEmpty,
            text.lowercased().hasSuffix(".mp4"), !text.hasPrefix(".")
        else {
            sink.error(
                node.location,
                "`cut.output` must be a file name ending in .mp4 under the output folder, such as `film.mp4`")
            return nil
        }
        return text
    }

    private mutating func cutSize(_ node: YAMLNode) -> (width: Int, height: Int)? {
        let parts = (plainText(node, field: "cut.size") ?? "").split(separator: "x").map { Int($0) }
        guard parts.count == 2, let w = parts[0], let h = parts[1], (16...7680).contains(w), (16...4320).contains(h),
            w % 2 == 0, h % 2 == 0
        else {
            sink.error(
                node.location, "`cut.size` must be WIDTHxHEIGHT in even pixels, such as 1920x1080",
                note: "H.264 in yuv420p wants even sides; at most 7680x4320")
            return nil
        }
        return (w, h)
    }

    /// Seconds: a number from 0, with a range check.
    private mutating func seconds(
        _ node: YAMLNode, field: String, above zero: Bool = false, max: Double = 3600, unit: String = " of seconds"
    ) -> Double? {
        guard case .scalar(let s) = node, s.isPlain, !s.isNull,
            NumberSyntax.isDecimal(s.text) || NumberSyntax.isInteger(s.text), let value = Double(s.text),
            value.isFinite, zero ? value > 0 : value >= 0, value <= max
        else {
            sink.error(
                node.location,
                "`\(field)` must be a number\(unit) \(zero ? "above 0" : "from 0") to \(Cut.seconds(max)), not \(Self.describe(node))"
            )
            return nil
        }
        return value
    }

    /// The film must not be a file of a shot: `sunrise.mp4` is take 1 of `sunrise` (and with a
    /// project named `sunrise`, so is the default name).
    private mutating func checkOutput(_ cut: Cut, shots: [String: Shot], at location: SourceLocation) -> Bool {
        guard !cut.output.contains("/"), let stem = cut.output.split(separator: ".").first.map(String.init),
            shots[stem] != nil
        else { return true }
        sink.error(
            location, "`cut.output` `\(cut.output)` would be a file of shot `\(stem)`",
            note:
                "name the film otherwise, e.g. `output: \(stem)-cut.mp4`, or put it in a folder: `output: cut/\(cut.output)`"
        )
        return false
    }

    /// A clip as read: of a valid shot, of a shot with errors of its own (checked all the same,
    /// but no cut is made), or not readable.
    private enum ReadClip {
        case valid(Cut.Clip)
        case ofInvalidShot(Cut.Clip)
        case invalid
    }

    private mutating func cutClip(
        _ node: YAMLNode, number n: Int, valid shots: [String: Shot], ids: Set<String>, lengths: [String: Double]
    ) -> ReadClip {
        let at = "cut.clips[\(n)]"
        guard case .mapping(let m) = node else {
            sink.error(node.location, "`\(at)` must be a mapping such as `shot: sunrise`")
            return .invalid
        }
        unknownKeys(m, allowed: Self.clipKeys, in: at)
        guard let shotNode = m["shot"], let id = plainText(shotNode, field: "\(at).shot") else {
            sink.error(node.location, "`\(at)` needs `shot:`")
            return .invalid
        }
        guard ids.contains(id) else {
            sink.error(
                shotNode.location, "`\(at).shot` names no shot: `\(Printable.short(id, limit: 80))`",
                note: Suggestion.note(for: id, in: ids))
            return .invalid
        }
        var clip = Cut.Clip(shot: id, location: node.location)
        var ok = true
        if let t = m["take"] {
            if let take = takeNumber(t, field: "\(at).take") { clip.take = take } else { ok = false }
        }
        if let i = m["in"] {
            if let value = seconds(i, field: "\(at).in", max: 900) { clip.inPoint = value } else { ok = false }
        }
        if let o = m["out"] {
            if let value = seconds(o, field: "\(at).out", above: true, max: 900) {
                clip.outPoint = value
            } else {
                ok = false
            }
        }
        if let t = m["transition"] {
            if let transition = transition(t, field: "\(at).transition") {
                clip.transition = transition
            } else {
                ok = false
            }
            if n == 0, clip.transition != .cut {
                sink.error(t.location, "`\(at).transition`: the first clip has no clip before it to come from")
                ok = false
            }
        }
        guard ok, trimFits(clip, length: lengths[id], m, node, at: at) else { return .invalid }
        return shots[id] == nil ? .ofInvalidShot(clip) : .valid(clip)
    }

    /// `out` after `in`, and both within the shot's length where the file says it.
    private mutating func trimFits(
        _ clip: Cut.Clip, length: Double?, _ m: YAMLMapping, _ node: YAMLNode, at: String
    ) -> Bool {
        let id = clip.shot
        if let out = clip.outPoint, out <= clip.inPoint {
            sink.error(
                (m["out"] ?? node).location,
                "`\(at).out` (\(Cut.seconds(out)) s) must be after `in` (\(Cut.seconds(clip.inPoint)) s)")
            return false
        }
        if let length, let out = clip.outPoint, out > length {
            sink.error(
                (m["out"] ?? node).location,
                "`\(at).out` is \(Cut.seconds(out)) s, past the end of `\(id)` (\(Cut.seconds(length)) s)")
            return false
        }
        if let length, clip.inPoint >= length {
            sink.error(
                (m["in"] ?? node).location,
                "`\(at).in` is \(Cut.seconds(clip.inPoint)) s, at or past the end of `\(id)` (\(Cut.seconds(length)) s)"
            )
            return false
        }
        return true
    }

    /// `cut`, `crossfade 0.5`, `fade 1`.
    private mutating func transition(_ node: YAMLNode, field: String) -> Cut.Transition? {
        let words = (plainText(node, field: field) ?? "").split(separator: " ")
        // The one way a span of time is written: `crossfade 0.5` and `crossfade 1s` alike.
        let value = words.count == 2 ? TimeSpan.seconds(String(words[1]), atMost: 60) : nil
        switch (words.first, value) {
        case ("cut"?, _) where words.count == 1: return .cut
        case ("crossfade"?, let s?): return .crossfade(s)
        case ("fade"?, let s?): return .fade(s)
        default:
            sink.error(
                node.location, "`\(field)` must be `cut`, `crossfade SECONDS` or `fade SECONDS` (through black)",
                note: "for example `crossfade 0.5`")
            return nil
        }
    }

    /// A transition no longer than either clip it joins, where their lengths are known. `clips`:
    /// those read, by their place among `count`.
    private mutating func checkTransitions(_ clips: [Int: Cut.Clip], count: Int, lengths: [String: Double]) -> Bool {
        func length(_ clip: Cut.Clip) -> Double? {
            (clip.outPoint ?? lengths[clip.shot]).map { $0 - clip.inPoint }
        }
        var ok = true
        // A clip holds its incoming and its outgoing transition one after the other.
        for n in 0..<count {
            guard let clip = clips[n] else { continue }
            let into = clip.transition.seconds
            let out = clips[n + 1]?.transition.seconds ?? 0
            guard into > 0, out > 0, let l = length(clip), into + out > l else { continue }
            sink.error(
                clip.location,
                "`cut.clips[\(n)]` (`\(clip.shot)`, \(Cut.seconds(l)) s) is shorter than its two transitions (\(Cut.seconds(into)) s in, \(Cut.seconds(out)) s out)"
            )
            ok = false
        }
        for n in 1..<max(1, count) {
            guard let clip = clips[n], clip.transition != .cut else { continue }
            let seconds = clip.transition.seconds
            for (k, side) in [(n - 1, "the clip before"), (n, "its clip")] {
                guard let other = clips[k], let l = length(other), seconds > l else { continue }
                sink.error(
                    clip.location,
                    "`cut.clips[\(n)].transition` lasts \(Cut.seconds(seconds)) s, longer than \(side) (`\(other.shot)`, \(Cut.seconds(l)) s)"
                )
                ok = false
            }
        }
        return ok
    }

    private mutating func cutQuality(_ node: YAMLNode) -> Cut.Quality? {
        if case .scalar(let s) = node, let quality = Cut.Quality(rawValue: s.text) { return quality }
        sink.error(node.location, "`cut.quality` must be `final` (the film) or `draft` (a quick proxy, NAME.draft.mp4)")
        return nil
    }

    /// `exports: [otio, fcpxml, edl]`: each at most once.
    private mutating func cutExports(_ node: YAMLNode) -> [String]? {
        let formats = ["otio", "fcpxml", "edl"]
        guard case .sequence(let list) = node else {
            sink.error(node.location, "`cut.exports` must be a list of formats: [otio, fcpxml, edl]")
            return nil
        }
        var exports: [String] = []
        for item in list.items {
            guard case .scalar(let s) = item, formats.contains(s.text), !exports.contains(s.text) else {
                sink.error(
                    item.location, "`cut.exports` takes `otio`, `fcpxml` and `edl`, each at most once")
                return nil
            }
            exports.append(s.text)
        }
        return exports
    }

    private mutating func cutAudio(_ node: YAMLNode) -> Cut.Audio? {
        guard case .mapping(let m) = node else {
            sink.error(node.location, "`cut.audio` must be a mapping (shots, music, music_volume, fade_out)")
            return nil
        }
        unknownKeys(m, allowed: Self.audioKeys, in: "cut.audio")
        var audio = Cut.Audio()
        var ok = true
        if let n = m["shots"] {
            switch plainText(n, field: "cut.audio.shots") {
            case "keep": audio.keepShots = true
            case "mute": audio.keepShots = false
            default:
                sink.error(n.location, "`cut.audio.shots` must be `keep` (the clips' own sound) or `mute`")
                ok = false
            }
        }
        if let n = m["music"], let path = plainText(n, field: "cut.audio.music") {
            let normalized = path.hasPrefix("./") ? ((try? ProjectFolder.normalize(path)) ?? path) : path
            fileChecks.append(
                FileCheck(
                    written: path, path: normalized, expect: .audio, location: n.location, field: "cut.audio.music"))
        }
        if let n = m["music_volume"] {
            if let v = seconds(n, field: "cut.audio.music_volume", max: 4, unit: "") {
                audio.musicVolume = v
            } else {
                ok = false
            }
        }
        if let n = m["fade_out"] {
            if let v = seconds(n, field: "cut.audio.fade_out", max: 60) { audio.fadeOut = v } else { ok = false }
        }
        return ok ? audio : nil
    }
}
