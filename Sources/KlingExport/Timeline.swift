import Foundation
import KlingRenderCore

/// The cut as an editor's timeline: each clip referencing its downloaded file at full length, with
/// its in and out points, so an editor can still extend a trim. Times are whole frames at the
/// cut's rate. Built once, written as OTIO, FCPXML or a CMX 3600 EDL.
package struct Timeline: Sendable, Equatable {
    package struct Clip: Sendable, Equatable {
        /// The take's key: `sunrise.take2`.
        package var name: String
        /// Relative to the project file's folder, and as an absolute `file://` URL.
        package var path: String
        package var url: String
        /// The whole file, in frames.
        package var available: Int
        /// The cut's trim, in frames of the file.
        package var inFrame: Int
        package var outFrame: Int
        /// Into this clip from the one before, in frames (0 for a cut).
        package var transition: Int
        package var fadeThroughBlack: Bool
        /// Whether its file has sound (by ffprobe; assumed when ffprobe is missing).
        package var hasAudio = true

        package var length: Int { outFrame - inFrame }
    }

    package var name: String
    package var fps: Int
    package var width: Int
    package var height: Int
    package var clips: [Clip]
    /// The music bed, relative to the project's folder, with its length in frames.
    package var music: (path: String, url: String, frames: Int)?
    /// The music's level (`music_volume`, 1 = as recorded) and its fade-out at the film's end, in frames.
    package var musicVolume = 1.0
    package var musicFadeOut = 0
    /// `audio.shots: keep` (the clips' own sound) or not (`mute`).
    package var keepShots = true

    package static func == (a: Timeline, b: Timeline) -> Bool {
        a.name == b.name && a.fps == b.fps && a.width == b.width && a.height == b.height && a.clips == b.clips
            && a.music?.path == b.music?.path && a.music?.frames == b.music?.frames && a.musicVolume == b.musicVolume
            && a.musicFadeOut == b.musicFadeOut && a.keepShots == b.keepShots
    }

    /// The music's level in decibels, as editors show it: 0 dB as recorded, -96 dB for silence.
    package var musicGain: Double { musicVolume > 0 ? max(-96, 20 * log10(musicVolume)) : -96 }

    /// Whether a clip's sound is heard in the film.
    package func heard(_ clip: Clip) -> Bool { keepShots && clip.hasAudio }

    /// The film's length in frames: the clips less their transitions.
    package var frames: Int { clips.reduce(0) { $0 + $1.length - $1.transition } }

    package struct Problem: Error, Sendable {
        package var message: String
    }

    /// The timeline of a workspace's cut, from its manifest and ffprobe's reading of each file.
    package static func of(_ workspace: Workspace, ffprobe: String?) async throws(Problem) -> Timeline {
        try await of(workspace.project, paths: workspace.paths, manifest: workspace.manifest, ffprobe: ffprobe)
    }

    /// The timeline of a project's cut as `manifest` records its clips.
    package static func of(_ project: Project, paths: ProjectPaths, manifest: Manifest?, ffprobe: String?)
        async throws(Problem) -> Timeline
    {
        guard let cut = project.cut else {
            throw Problem(message: "\(project.file) has no `cut:` to export")
        }
        var clips: [Clip] = []
        var first: MediaProbe?
        var rate = cut.fps.map(Double.init)
        for (n, written) in cut.clips.enumerated() {
            let key = Take.key(written.shot, cut.take(of: written, in: project))
            let path = paths.videoPath(shot: key, number: 1)
            guard let entry = manifest?.shots[key], entry.status == .succeeded,
                let file = entry.files.first, file.path == path, case .file(let size) = paths.root.entry(path),
                size == file.bytes
            else {
                throw Problem(
                    message:
                        "clip \(n + 1) of the cut (\(key)) is not rendered and on disk: `kling-render apply \(project.file)` first"
                )
            }
            var seconds = project.shot(written.shot)?.seconds.map(Double.init)
            var hasAudio = true
            let gated: GatedMedia
            switch MediaGate.admit(path, in: paths.root, accepting: MediaType.videos) {
            case .success(let file): gated = file
            case .failure(let refusal): throw Problem(message: "clip \(n + 1) of the cut: \(refusal)")
            }
            if let ffprobe, let probe = await MediaProbe.read(gated, ffprobe: ffprobe) {
                seconds = probe.seconds
                hasAudio = probe.hasAudio
                if first == nil { first = probe }
            }
            guard let seconds else {
                throw Problem(message: "the length of \(path) needs ffprobe: \(Program.ffprobe.advice)")
            }
            rate = rate ?? first.map { max(1, $0.fps.rounded()) } ?? 24
            let fps = rate ?? 24
            func frames(_ s: Double) -> Int { Int((s * fps).rounded()) }
            let available = Int((seconds * fps).rounded(.down))
            clips.append(
                Clip(
                    name: key, path: path, url: paths.absolute(path).standardizedFileURL.absoluteString,
                    available: available, inFrame: frames(written.inPoint),
                    outFrame: min(available, written.outPoint.map(frames) ?? available),
                    transition: frames(written.transition.seconds),
                    fadeThroughBlack: { if case .fade = written.transition { true } else { false } }(),
                    hasAudio: hasAudio))
        }
        var timeline = Timeline(
            name: project.name, fps: Int(rate ?? 24), width: cut.size?.width ?? first?.width ?? 1920,
            height: cut.size?.height ?? first?.height ?? 1080, clips: clips)
        timeline.keepShots = cut.audio.keepShots
        if let music = cut.audio.music {
            timeline.music = try await bed(music, under: timeline, in: paths, ffprobe: ffprobe)
            timeline.musicVolume = cut.audio.musicVolume
            let frames = timeline.music?.frames ?? 0
            timeline.musicFadeOut = min(frames, Int((cut.audio.fadeOut * Double(timeline.fps)).rounded()))
        }
        return timeline
    }

    /// The music bed through the gate: its path, its URL, and its frames under the film.
    private static func bed(_ music: InputFile, under timeline: Timeline, in paths: ProjectPaths, ffprobe: String?)
        async throws(Problem) -> (path: String, url: String, frames: Int)
    {
        let bed: GatedMedia
        switch MediaGate.admit(music.resolved, in: paths.root, accepting: MediaType.audios) {
        case .success(let file): bed = file
        case .failure(let refusal): throw Problem(message: "`cut.audio.music`: \(refusal)")
        }
        var frames = timeline.frames
        if let ffprobe, let probe = await MediaProbe.readAudio(bed, ffprobe: ffprobe) {
            frames = min(frames, Int((probe.seconds * Double(timeline.fps)).rounded(.down)))
        }
        return (music.path, paths.absolute(music.resolved).standardizedFileURL.absoluteString, frames)
    }

    /// Where each clip sits when transitions are centred on the edit (OTIO, FCPXML): the clip's
    /// source range loses half of each transition it takes part in, and the transition uses the
    /// files beyond the trims (the handles) for the other half.
    package var centred: [(clip: Clip, start: Int, duration: Int, record: Int)] {
        var result: [(Clip, Int, Int, Int)] = []
        var record = 0
        for (i, clip) in clips.enumerated() {
            let before = clip.transition / 2
            let after = i + 1 < clips.count ? clips[i + 1].transition - clips[i + 1].transition / 2 : 0
            let start = clip.inFrame + before
            let duration = clip.length - before - after
            result.append((clip, start, duration, record))
            record += duration
        }
        return result
    }
}

/// `HH:MM:SS:FF` at a whole frame rate, non-drop.
func timecode(_ frames: Int, fps: Int) -> String {
    let f = max(0, frames)
    return String(format: "%02d:%02d:%02d:%02d", f / (fps * 3600), f / (fps * 60) % 60, f / fps % 60, f % fps)
}
