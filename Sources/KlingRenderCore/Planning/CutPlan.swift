import Foundation

/// What `apply` does about the cut: assemble it, or leave it as it is.
package struct PlannedCut: Codable, Sendable, Equatable {
    package enum Action: String, Codable, Sendable {
        case assemble, unchanged
        /// A clip's render is uncertain: nothing to assemble from until it is imported or replaced.
        case blocked
    }

    /// The film, relative to the project file's folder: `renders/eagle.mp4`.
    package var path: String
    package var action: Action
    /// The takes it uses, in cut order: `sunrise.take2`, `snow`.
    package var clips: [String]
    /// Its length when every clip's length is known.
    package var seconds: Double?
    /// Known when every clip is rendered and recorded: what `apply` compares.
    package var fingerprint: String?
    package var reasons: [String]
    /// A draft (`NAME.draft.mp4`, a quick proxy) rather than the film. Optional: a plan saved
    /// before drafts existed reads as the film.
    package var draft: Bool?
    /// Its segments, and how many of them are not kept from the last assembly: known when every
    /// clip's file was probed at an assembly (`cut.probes`), nil otherwise.
    package var segments: Int?
    package var encode: Int?

    package var isDraft: Bool { draft == true }
}

extension Cut {
    static let fingerprintFormat = "kling-render/cut/1"

    /// SHA-256 over the cut as written (takes resolved) and the SHA-256 of every file it uses:
    /// a new trim, a new pick or a new render of a clip changes it; a comment does not.
    package func fingerprint(in project: Project, clipFiles: [String]) -> String {
        Digest.sha256Hex(CanonicalJSON.compact(spec(in: project, clipFiles: clipFiles)))
    }

    /// What the fingerprint is taken over, kept in the manifest so that the next plan can say
    /// which clip and which field changed.
    package func spec(in project: Project, clipFiles: [String]) -> JSONValue {
        var clipValues: [JSONValue] = []
        for (clip, sha) in zip(clips, clipFiles) {
            clipValues.append(
                .object([
                    "shot": .string(clip.shot), "take": .int(take(of: clip, in: project)), "in": .double(clip.inPoint),
                    "out": clip.outPoint.map(JSONValue.double) ?? .null, "transition": .string(clip.transition.written),
                    "sha256": .string(sha),
                ]))
        }
        return .object([
            "format": .string(Self.fingerprintFormat), "output": .string(output),
            "size": size.map { .string("\($0.width)x\($0.height)") } ?? .null, "fps": fps.map(JSONValue.int) ?? .null,
            "clips": .array(clipValues),
            "audio": .object([
                "shots": .string(audio.keepShots ? "keep" : "mute"),
                "music": audio.music.map { .string($0.sha256) } ?? .null, "music_volume": .double(audio.musicVolume),
                "fade_out": .double(audio.fadeOut),
            ]),
        ])
    }

    /// What differs between the cut as it was assembled (`recorded`, the spec the manifest kept)
    /// and as it is now, a line each: `clip 3 (eagle): out 4.5 → 5`. Empty when the manifest
    /// kept no spec (it predates them) or the two say nothing apart.
    package static func changes(from recorded: JSONValue?, to now: JSONValue) -> [String] {
        guard case .object(let was)? = recorded, case .object(let is_) = now else { return [] }
        func shown(_ value: JSONValue?) -> String {
            switch value {
            case .string(let text)?: text
            case .double(let d)?: Cut.seconds(d)
            case nil, .null?: "none"
            case let other?: other.summary
            }
        }
        // A number read back from the manifest's JSON may be an integer where the project's is a
        // double (`1` and `1.0`): the same value, not a change.
        func differ(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
            func number(_ v: JSONValue?) -> JSONValue? {
                if case .int(let i)? = v { return .double(Double(i)) }
                return v
            }
            return number(a) != number(b)
        }
        var lines: [String] = []
        for key in ["output", "size", "fps"] where differ(was[key], is_[key]) {
            lines.append("`cut.\(key)`: \(shown(was[key])) → \(shown(is_[key]))")
        }
        if case .object(let a)? = was["audio"], case .object(let b)? = is_["audio"] {
            for key in ["shots", "music", "music_volume", "fade_out"] where differ(a[key], b[key]) {
                lines.append(
                    key == "music" && a[key] != .null && b[key] != .null
                        ? "`cut.audio.music` has other bytes"
                        : "`cut.audio.\(key)`: \(shown(a[key])) → \(shown(b[key]))")
            }
        }
        guard case .array(let before)? = was["clips"], case .array(let after)? = is_["clips"] else { return lines }
        for n in 0..<max(before.count, after.count) {
            let a = n < before.count ? before[n].objectValue : nil
            let b = n < after.count ? after[n].objectValue : nil
            let name = "clip \(n + 1) (\(shown((b ?? a)?["shot"])))"
            guard let a, let b else {
                lines.append("\(name) \(a == nil ? "added" : "removed")")
                continue
            }
            if a["shot"] != b["shot"] {
                lines.append("clip \(n + 1): \(shown(a["shot"])) → \(shown(b["shot"]))")
                continue
            }
            for key in ["take", "in", "out", "transition"] where differ(a[key], b[key]) {
                lines.append("\(name): `\(key)` \(shown(a[key])) → \(shown(b[key]))")
            }
            if a["take"] == b["take"], a["sha256"] != b["sha256"] { lines.append("\(name): its video changed") }
        }
        return lines
    }
}

extension Planner {
    /// The cut's action: assembled when a clip renders or is fetched, when the cut or a clip's
    /// file changed since it was assembled, or when its file is not on disk as recorded.
    func planCut(_ project: Project, shots: [Plan.PlannedShot], manifest: Manifest?, paths: ProjectPaths)
        throws(PlanError) -> PlannedCut?
    {
        guard let cut = project.cut else { return nil }
        let draft = options.draft == true || cut.quality == .draft
        let path = paths.inOutput(draft ? cut.draftOutput : cut.output)
        // A draft is compared with the draft assembled last, the film with the film.
        let recordedCut = draft ? manifest?.draftCut : manifest?.cut
        var reasons: [String] = []
        var files: [String] = []
        var keys: [String] = []
        for (n, clip) in cut.clips.enumerated() {
            let key = Take.key(clip.shot, cut.take(of: clip, in: project))
            keys.append(key)
            guard let row = shots.first(where: { $0.key == key }) else {
                throw PlanError(
                    message: "`cut.clips[\(n)]` takes take \(Take.parse(key)?.number ?? 1) of `\(clip.shot)`, "
                        + "which it does not have", file: project.file, at: clip.location)
            }
            if row.action == .uncertain {
                return PlannedCut(
                    path: path, action: .blocked,
                    clips: cut.clips.map { Take.key($0.shot, cut.take(of: $0, in: project)) },
                    seconds: cut.seconds(in: project), fingerprint: nil,
                    reasons: ["clip \(n + 1) (\(row.label)) is uncertain: import its task or --replace it first"],
                    draft: draft ? true : nil)
            }
            if row.action != .unchanged {
                reasons.append(
                    "clip \(n + 1) (\(row.label)) \(row.action == .download ? "is fetched again" : "renders")")
            } else if let sha = manifest?.shots[key]?.files.first?.sha256 {
                files.append(sha)
            }
        }
        var fingerprint: String?
        if reasons.isEmpty, files.count == cut.clips.count {
            let now = cut.fingerprint(in: project, clipFiles: files)
            fingerprint = now
            reasons += stale(
                recordedCut, cut: cut, project: project, files: files, fingerprint: now, path: path, paths: paths)
        } else if reasons.isEmpty {
            reasons.append("a clip has no file recorded")
        }
        var planned = PlannedCut(
            path: path, action: reasons.isEmpty ? .unchanged : .assemble, clips: keys,
            seconds: cut.seconds(in: project),
            fingerprint: fingerprint, reasons: reasons, draft: draft ? true : nil)
        if planned.action == .assemble, files.count == cut.clips.count,
            let counts = Self.segmentCounts(cut, project: project, files: files, manifest: manifest, draft: draft)
        {
            (planned.segments, planned.encode) = counts
        }
        return planned
    }

    /// Why the film recorded no longer stands for the cut (none: it does): what changed, by clip
    /// and field, or its file not on disk as recorded.
    func stale(
        _ recorded: ManifestCut?, cut: Cut, project: Project, files: [String], fingerprint: String, path: String,
        paths: ProjectPaths
    ) -> [String] {
        guard let recorded else { return ["never assembled"] }
        if recorded.fingerprint != fingerprint {
            let changes = Cut.changes(from: recorded.spec, to: cut.spec(in: project, clipFiles: files))
            // A manifest's spec can be anything: at most 20 lines, each cut short.
            let shown =
                changes.prefix(20).map { $0.count > 300 ? String($0.prefix(300)) + "…" : $0 }
                + (changes.count > 20 ? ["…and \(changes.count - 20) more changes"] : [])
            return changes.isEmpty ? ["the cut or a clip it uses changed since it was assembled"] : shown
        }
        switch recorded.file.check(in: paths, expected: path, verify: options.verify) {
        case .ok: return []
        case .missing: return ["\(path) is missing"]
        default: return ["\(path) is not as recorded"]
        }
    }

    /// The cut's segments as `apply` will make them, and how many the last assembly does not
    /// have: from what ffprobe read of each clip's file at an assembly. nil when a file was not.
    static func segmentCounts(_ cut: Cut, project: Project, files: [String], manifest: Manifest?, draft: Bool)
        -> (segments: Int, encode: Int)?
    {
        let probes = (manifest?.cut?.probes ?? [:]).merging(manifest?.draftCut?.probes ?? [:]) { a, _ in a }
        let found = files.compactMap { probes[$0]?.probe }.filter(\.isInRange)
        guard found.count == files.count, let first = found.first else { return nil }
        guard let encoding = SegmentEncoding.of(cut, first: first, draft: draft),
            case .success(let spans) = cut.spans(
                lengths: found.map(\.seconds), paths: files, fps: encoding.fps, file: project.file)
        else { return nil }
        let names = Set(CutSegment.plan(spans, hashes: files, encoding: encoding).map(\.name))
        let kept = Set(((draft ? manifest?.draftCut : manifest?.cut)?.segments ?? [:]).keys)
        return (names.count, names.subtracting(kept).count)
    }
}
