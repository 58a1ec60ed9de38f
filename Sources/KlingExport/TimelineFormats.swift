import Foundation
import KlingRenderCore

/// The formats `kling-render export` writes.
package enum TimelineFormat: String, Sendable, CaseIterable {
    case otio, fcpxml, edl

    package var fileExtension: String { rawValue }

    package func render(_ timeline: Timeline) -> String {
        switch self {
        case .otio: OTIOWriter.render(timeline)
        case .fcpxml: FCPXMLWriter.render(timeline)
        case .edl: EDLWriter.render(timeline)
        }
    }
}

/// OpenTimelineIO's JSON (`.otio`): a stack of a video track — clips and dissolves centred on their
/// edits — an audio track of the clips' own sound, and the music bed on a track of its own.
enum OTIOWriter {
    static func time(_ frames: Int, _ fps: Int) -> JSONValue {
        .object([
            "OTIO_SCHEMA": .string("RationalTime.1"), "rate": .double(Double(fps)), "value": .double(Double(frames)),
        ])
    }

    static func range(_ start: Int, _ duration: Int, _ fps: Int) -> JSONValue {
        .object([
            "OTIO_SCHEMA": .string("TimeRange.1"), "start_time": time(start, fps), "duration": time(duration, fps),
        ])
    }

    static func item(_ schema: String, name: String, _ fields: [String: JSONValue]) -> JSONValue {
        var object: [String: JSONValue] = [
            "OTIO_SCHEMA": .string(schema), "name": .string(name), "metadata": .object([:]),
        ]
        if schema != "Transition.1" {
            object["effects"] = .array([])
            object["markers"] = .array([])
            object["enabled"] = .bool(true)
        }
        for (key, value) in fields { object[key] = value }
        return .object(object)
    }

    static func clip(name: String, url: String, available: Int, start: Int, duration: Int, fps: Int) -> JSONValue {
        item(
            "Clip.2", name: name,
            [
                "source_range": range(start, duration, fps),
                "media_references": .object([
                    "DEFAULT_MEDIA": .object([
                        "OTIO_SCHEMA": .string("ExternalReference.1"), "name": .string(name), "metadata": .object([:]),
                        "target_url": .string(url), "available_range": range(0, available, fps),
                        "available_image_bounds": .null,
                    ])
                ]),
                "active_media_reference_key": .string("DEFAULT_MEDIA"),
            ])
    }

    static func track(_ name: String, kind: String, _ children: [JSONValue]) -> JSONValue {
        item("Track.1", name: name, ["kind": .string(kind), "source_range": .null, "children": .array(children)])
    }

    /// The music's level and fade: OTIO has no standard audio-level effect, and no adapter reads
    /// one, so they are an effect of the music clip and its metadata, named as kling-render mixes them.
    static func musicEffect(_ t: Timeline) -> JSONValue {
        let level: JSONValue = .object([
            "volume": .double(t.musicVolume), "gain_db": .double((t.musicGain * 100).rounded() / 100),
            "fade_out": time(t.musicFadeOut, t.fps),
        ])
        return .object([
            "OTIO_SCHEMA": .string("Effect.1"), "name": .string("music level"), "effect_name": .string("AudioVolume"),
            "metadata": .object(["kling-render": level]),
        ])
    }

    static func render(_ t: Timeline) -> String {
        var video: [JSONValue] = []
        var sound: [JSONValue] = []
        let centred = t.centred
        for (n, (clip, start, duration, _)) in centred.enumerated() {
            if n > 0, clip.transition > 0 {
                let transition = item(
                    "Transition.1", name: clip.fadeThroughBlack ? "Fade through black" : "Cross Dissolve",
                    [
                        "transition_type": .string("SMPTE_Dissolve"), "in_offset": time(clip.transition / 2, t.fps),
                        "out_offset": time(clip.transition - clip.transition / 2, t.fps),
                    ])
                video.append(transition)
                // Sound crosses only where both clips have it.
                if t.heard(clip), t.heard(centred[n - 1].clip) { sound.append(transition) }
            }
            let made = Self.clip(
                name: clip.name, url: clip.url, available: clip.available, start: start, duration: duration, fps: t.fps)
            video.append(made)
            // A clip without sound (or with the clips' sound muted) is a gap on the sound track.
            sound.append(
                t.heard(clip)
                    ? made : item("Gap.1", name: "", ["source_range": range(0, duration, t.fps)]))
        }
        var tracks = [track("V1", kind: "Video", video), track("A1", kind: "Audio", sound)]
        if let music = t.music {
            guard
                case .object(var bed) = clip(
                    name: "music", url: music.url, available: music.frames, start: 0, duration: music.frames, fps: t.fps
                )
            else { return "" }
            bed["effects"] = .array([musicEffect(t)])
            tracks.append(track("A2", kind: "Audio", [.object(bed)]))
        }
        let timeline: JSONValue = .object([
            "OTIO_SCHEMA": .string("Timeline.1"), "name": .string(t.name), "global_start_time": .null,
            "metadata": .object(["kling-render": .object(["width": .int(t.width), "height": .int(t.height)])]),
            "tracks": item("Stack.1", name: "tracks", ["source_range": .null, "children": .array(tracks)]),
        ])
        let data = (try? CanonicalJSON.data(timeline, pretty: true)) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// FCPXML 1.9 (Final Cut Pro; DaVinci Resolve; Premiere through its importer): an asset per file at
/// full length, and a spine of asset clips with cross dissolves centred on their edits.
enum FCPXMLWriter {
    static func escape(_ text: String) -> String { Markup.escape(text) }

    static func render(_ t: Timeline) -> String {
        let fps = t.fps
        func time(_ frames: Int) -> String { frames == 0 ? "0s" : "\(frames)/\(fps)s" }
        let (head, assets, music) = resources(t)
        var out = head
        out += """
              <library>
                <event name="\(escape(t.name))">
                  <project name="\(escape(t.name))">
                    <sequence format="r1" duration="\(time(t.frames))" tcStart="0s" tcFormat="NDF" audioLayout="stereo" audioRate="48k">
                      <spine>

            """
        for (n, (clip, start, duration, record)) in t.centred.enumerated() {
            if n > 0, clip.transition > 0 {
                let name = clip.fadeThroughBlack ? "Fade Through Black" : "Cross Dissolve"
                out += """
                                <transition name="\(name)" offset="\(time(record - clip.transition / 2))" duration="\(time(clip.transition))">
                                  <filter-video ref="r2" name="Cross Dissolve"/>
                                </transition>

                    """
            }
            var line =
                "              <asset-clip ref=\"\(assets[clip.path] ?? "")\" name=\"\(escape(clip.name))\" offset=\"\(time(record))\" start=\"\(time(start))\" duration=\"\(time(duration))\" format=\"r1\" tcFormat=\"NDF\""
            // The clips' own sound muted (`shots: mute`): silent in the timeline too.
            let muted = !t.keepShots && clip.hasAudio
            var inside = muted ? "                <adjust-volume amount=\"-96dB\"/>\n" : ""
            if n == 0, let music {
                inside +=
                    "                <asset-clip ref=\"\(music)\" name=\"music\" lane=\"-1\" offset=\"\(time(start))\" start=\"0s\" duration=\"\(time(t.music?.frames ?? 0))\">\n"
                    + musicLevel(t) + "                </asset-clip>\n"
            }
            line += inside.isEmpty ? "/>\n" : ">\n" + inside + "              </asset-clip>\n"
            out += line
        }
        out += """
                      </spine>
                    </sequence>
                  </project>
                </event>
              </library>
            </fcpxml>

            """
        return out
    }

    /// The music's level (`adjust-volume`) and its fade-out at the film's end as two keyframes,
    /// in the music clip's own time.
    static func musicLevel(_ t: Timeline) -> String {
        let fps = t.fps
        func time(_ frames: Int) -> String { frames == 0 ? "0s" : "\(frames)/\(fps)s" }
        let gain = String(format: "%.2fdB", t.musicGain)
        guard t.musicFadeOut > 0, let music = t.music else {
            return "                  <adjust-volume amount=\"\(gain)\"/>\n"
        }
        let end = min(t.frames, music.frames)
        let start = max(0, end - t.musicFadeOut)
        return """
                              <adjust-volume amount="\(gain)">
                                <param name="amount">
                                  <keyframeAnimation>
                                    <keyframe time="\(time(start))" value="\(gain)"/>
                                    <keyframe time="\(time(end))" value="-96dB"/>
                                  </keyframeAnimation>
                                </param>
                              </adjust-volume>

            """
    }

    /// The head and `<resources>`: the format, the dissolve, an asset per file; with each path's
    /// asset id, and the music's.
    static func resources(_ t: Timeline) -> (String, [String: String], String?) {
        let fps = t.fps
        func time(_ frames: Int) -> String { frames == 0 ? "0s" : "\(frames)/\(fps)s" }
        var assets: [String: String] = [:]
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE fcpxml>
            <fcpxml version="1.9">
              <resources>
                <format id="r1" frameDuration="1/\(fps)s" width="\(t.width)" height="\(t.height)"/>
                <effect id="r2" name="Cross Dissolve" uid="FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"/>

            """
        var next = 3
        for clip in t.clips where assets[clip.path] == nil {
            assets[clip.path] = "r\(next)"
            // Sound declared only where the file has it.
            let sound =
                clip.hasAudio
                ? "hasAudio=\"1\" audioSources=\"1\" audioChannels=\"2\" audioRate=\"48000\"" : "hasAudio=\"0\""
            out += """
                    <asset id="r\(next)" name="\(escape(clip.name))" start="0s" duration="\(time(clip.available))" hasVideo="1" format="r1" \(sound)>
                      <media-rep kind="original-media" src="\(escape(clip.url))"/>
                    </asset>

                """
            next += 1
        }
        var music: String?
        if let bed = t.music {
            music = "r\(next)"
            out += """
                    <asset id="r\(next)" name="music" start="0s" duration="\(time(bed.frames))" hasAudio="1" audioSources="1" audioChannels="2" audioRate="48000">
                      <media-rep kind="original-media" src="\(escape(bed.url))"/>
                    </asset>

                """
        }
        return (out + "  </resources>\n", assets, music)
    }
}

/// A CMX 3600 EDL: one event per clip, a dissolve as the two-line event editors expect — the
/// outgoing clip held at its out point, the incoming one dissolving in from the edit for the
/// transition's frames (the outgoing file's handle plays under it).
enum EDLWriter {
    static func render(_ t: Timeline) -> String {
        let fps = t.fps
        let hour = fps * 3600
        func tc(_ frames: Int) -> String { timecode(frames, fps: fps) }
        var out = "TITLE: \(EDLWriter.clean(t.name).prefix(70))\nFCM: NON-DROP FRAME\n\n"
        // An EDL has no levels: the music's are a comment, as editors note them.
        if let music = t.music {
            out += "* MUSIC: \(EDLWriter.clean(music.path)) AT \(String(format: "%.2f", t.musicGain)) DB"
            out += t.musicFadeOut > 0 ? ", FADE OUT \(t.musicFadeOut) FRAMES AT THE END\n" : "\n"
            if !t.keepShots { out += "* CLIP SOUND: MUTED\n" }
            out += "\n"
        }
        var record = 0
        var event = 1
        var previous: Timeline.Clip?
        for (i, clip) in t.clips.enumerated() {
            let next = i + 1 < t.clips.count ? t.clips[i + 1].transition : 0
            // Each clip's own event ends where the next dissolve starts.
            let ownEnd = clip.outFrame - next
            let number = String(format: "%03d", event)
            if let previous, clip.transition > 0 {
                let held = previous.outFrame - clip.transition
                out +=
                    "\(number)  AX       V     C        \(tc(held)) \(tc(held)) \(tc(hour + record)) \(tc(hour + record))\n"
                out += "\(number)  AX       V     D    \(String(format: "%03d", clip.transition)) "
                out +=
                    "\(tc(clip.inFrame)) \(tc(ownEnd)) \(tc(hour + record)) \(tc(hour + record + ownEnd - clip.inFrame))\n"
                out +=
                    "* FROM CLIP NAME: \(EDLWriter.clean(previous.name))\n* TO CLIP NAME: \(EDLWriter.clean(clip.name))\n"
            } else {
                out +=
                    "\(number)  AX       V     C        \(tc(clip.inFrame)) \(tc(ownEnd)) \(tc(hour + record)) \(tc(hour + record + ownEnd - clip.inFrame))\n"
                out += "* FROM CLIP NAME: \(EDLWriter.clean(clip.name))\n"
            }
            out += "* SOURCE FILE: \(EDLWriter.clean(clip.path))\n\n"
            record += ownEnd - clip.inFrame
            previous = clip
            event += 1
        }
        return out
    }

    /// One line of printable ASCII: an EDL has no quoting.
    static func clean(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "_" })
    }
}
