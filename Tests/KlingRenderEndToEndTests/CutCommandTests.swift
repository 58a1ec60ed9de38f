import Foundation
import Testing

/// The cut assembled by the real ffmpeg from the simulator's clips, checked with ffprobe and
/// against its sources frame by frame; the exports read back by the editors' own libraries.
/// One at a time: each runs the simulator's ffmpeg and an x264 assembly, and nine at once on two
/// cores starve the timing-sensitive tests of other suites.
@Suite("The final cut and its exports", .serialized)
struct CutCommandTests {
    static let film = """
        version: 1
        name: Eagle Film
        shots:
          sunrise:
            type: std-text-to-video
            prompt: a sunrise over the sea
            duration: 5
            takes: 2
            pick: 2
          city:
            type: std-text-to-video
            prompt: the city wakes
            duration: 5
            sound: false
          snow:
            type: o3-std-video-edit
            video: ${shots.sunrise.video}
            prompt: make it snow
        cut:
          size: 640x360
          fps: 24
          clips:
            - shot: sunrise
              in: 0.5
              out: 4
            - shot: city
              transition: crossfade 0.5
            - shot: snow
              take: 1
              out: 3
              transition: fade 1
          audio:
            music: score/theme.mp3
            music_volume: 0.6
            fade_out: 2

        """

    /// A rehearsal with real clips (ffmpeg's test pattern, each task in its own colours) and a
    /// music bed made by ffmpeg's `sine` source.
    static func rehearsal() async throws -> Rehearsal {
        let r = try await Rehearsal(film) { $0.useFFmpeg = true }
        try FileManager.default.createDirectory(
            at: r.scratch.url.appendingPathComponent("score"), withIntermediateDirectories: true)
        let made = try await CLI.runProgram(
            "/usr/bin/env",
            [
                "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=12", "-c:a", "libmp3lame",
                "-b:a", "64k", r.scratch.path("score/theme.mp3"),
            ])
        #expect(made.status == 0, "\(made.stderr)")
        return r
    }

    /// ffprobe's streams of a file: codec type → fields.
    static func streams(_ path: String) async throws -> [String: [String: Any]] {
        let result = try await CLI.runProgram(
            "/usr/bin/env", ["ffprobe", "-v", "error", "-show_streams", "-of", "json", path])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        var out: [String: [String: Any]] = [:]
        for stream in object?["streams"] as? [[String: Any]] ?? [] {
            if let type = stream["codec_type"] as? String, out[type] == nil { out[type] = stream }
        }
        return out
    }

    /// PSNR in dB of the cut's frame at `at` against the source's frame at `source`, scaled as the cut is.
    static func psnr(_ cut: String, at: Double, _ source: String, at sourceTime: Double) async throws -> Double {
        let result = try await CLI.runProgram(
            "/usr/bin/env",
            [
                "ffmpeg", "-v", "info", "-nostats", "-ss", String(at), "-i", cut, "-ss", String(sourceTime), "-i",
                source,
                "-frames:v", "1", "-filter_complex",
                "[1:v]scale=640:360,setsar=1,format=yuv420p[ref];[0:v]format=yuv420p[cut];[cut][ref]psnr", "-f",
                "null",
                "-",
            ])
        let average = result.stderr.components(separatedBy: "average:").last?.split(separator: " ").first
        return try #require(average.flatMap { Double($0) }, "\(result.stderr)")
    }

    @Test(
        "apply assembles the film after its clips: the trims' length less the transitions, the size and rate asked, sound, each clip's frames; a second apply runs no ffmpeg; a new out: re-cuts with no request"
    )
    func assembled() async throws {
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        let plan = try await r.run(["plan", r.file])
        #expect(plan.stdout.contains("cut  assemble  renders/eagle-film.mp4  3 clips, 10 s"), "\(plan.stdout)")
        let first = try await r.apply()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        // Three bodies and two transitions, every one new.
        #expect(
            first.stdout.contains("assembling renders/eagle-film.mp4: 3 clips, 5 segments")
                && first.stdout.contains("; 5 of 5 segments encoded"), "\(first.stdout)")
        let film = r.scratch.path("renders/eagle-film.mp4")
        let streams = try await Self.streams(film)
        let video = try #require(streams["video"])
        let seconds = try #require((video["duration"] as? String).flatMap(Double.init))
        #expect(abs(seconds - (3.5 + 5 + 3 - 0.5 - 1)) <= 1.0 / 24 + 1e-6, "video \(seconds) s")
        #expect(video["width"] as? Int == 640 && video["height"] as? Int == 360)
        #expect(video["r_frame_rate"] as? String == "24/1")
        #expect(video["codec_name"] as? String == "h264")
        #expect(streams["audio"]?["codec_name"] as? String == "aac", "an audio stream, the city clip silent")
        // Inside clip 1 (sunrise take 2 from 0.5 s) and inside clip 2 (city, starting at 3.0 s).
        let take2 = r.scratch.path("renders/sunrise.take2.mp4")
        let city = r.scratch.path("renders/city.mp4")
        #expect(try await Self.psnr(film, at: 2.0, take2, at: 2.5) > 30)
        #expect(try await Self.psnr(film, at: 5.5, city, at: 2.5) > 30)
        // The threshold tells frames apart: the frame one later in the same source is not it.
        #expect(try await Self.psnr(film, at: 2.0, take2, at: 2.5 + 1.0 / 24) < 30, "frame-exact")
        #expect(try await Self.psnr(film, at: 5.5, city, at: 2.5 - 1.0 / 24) < 30, "frame-exact")
        let recorded = try #require(
            (try JSONSerialization.jsonObject(with: r.manifestData ?? Data()) as? [String: Any])?["cut"]
                as? [String: Any])
        #expect((recorded["file"] as? [String: Any])?["path"] as? String == "renders/eagle-film.mp4")
        #expect(try schemaAccepts(r.manifestURL))
        // The review page opens with the film, playable.
        let page = try await Browser.check(
            r.scratch.url.appendingPathComponent("renders/review.html"),
            script:
                "(() => ({ film: [...document.querySelectorAll('#film video')].map(v => v.getAttribute('src') + ' ' + (v.readyState >= 1 && !v.error)) }))()"
        )
        #expect(page.problems.isEmpty, "\(page.problems)")
        #expect(page.result["film"] as? [String] == ["eagle-film.mp4 true"], "\(page.result)")

        let status = try await r.run(["status", r.file, "--detailed-exitcode"])
        #expect(
            status.status == 0 && status.stdout.contains("Cut: renders/eagle-film.mp4, 10 s, current"),
            "\(status.stdout)")
        // Nothing changed: no request, no ffmpeg (there is none on PATH), the same file.
        let before = try Data(contentsOf: URL(fileURLWithPath: film))
        var noTools = r.environment
        noTools["PATH"] = "/nonexistent"
        let again = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: noTools)
        #expect(again.status == 0 && again.stdout.contains("Nothing to do"), "\(again.stdout)\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: film)) == before)

        // A new trim re-cuts and renders nothing.
        let tasks = await r.stats().tasksCreated
        try r.edit("out: 3\n", with: "out: 2.5\n")
        // status says the film no longer stands for the cut, in text and JSON.
        let stale = try await r.run(["status", r.file, "--detailed-exitcode"])
        #expect(
            stale.status == 2 && stale.stdout.contains("Cut: renders/eagle-film.mp4, 10 s, stale"), "\(stale.stdout)")
        let json = try await r.run(["status", r.file, "--json"])
        let cutRow = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["cut"]
        #expect((cutRow as? [String: Any])?["state"] as? String == "stale", "\(json.stdout)")
        // The plan names the clip and the field that changed.
        let why = try await r.run(["plan", r.file])
        #expect(why.stdout.contains("): `out` 3 → 2.5"), "\(why.stdout)")
        // …and how many segments it encodes again: the last clip's body, one of five.
        #expect(why.stdout.contains("3 clips, 9.5 s; 1 of 5 segments to encode"), "\(why.stdout)")
        let trimmed = try await r.apply()
        #expect(trimmed.status == 0, "\(trimmed.stdout)\(trimmed.stderr)")
        #expect(trimmed.stdout.contains("Plan: 0 to render, 4 unchanged, the cut to assemble — 0 credits."))
        // Only the last clip's body is encoded again; the rest is joined as it was.
        #expect(trimmed.stdout.contains("1 of 5 segments to encode"), "\(trimmed.stdout)")
        #expect(trimmed.stdout.contains("; 1 of 5 segments encoded"), "\(trimmed.stdout)")
        #expect(await r.stats().tasksCreated == tasks)
        let shorter = try #require((try await Self.streams(film))["video"]?["duration"] as? String).flatMap(Double.init)
        #expect(abs((shorter ?? 0) - 9.5) <= 1.0 / 24 + 1e-6)
        #expect(try await Self.psnr(film, at: 2.0, take2, at: 2.5) > 30, "a kept segment, frame-exact")
        #expect(try await Self.psnr(film, at: 2.0, take2, at: 2.5 + 1.0 / 24) < 30)
        // The film it replaced is kept under previous/; the segment no cut uses is swept.
        let previous = try FileManager.default.contentsOfDirectory(atPath: r.scratch.path("renders/previous"))
            .filter { $0.hasPrefix("eagle-film-") }
        #expect(previous.count == 1, "\(previous)")
        #expect(try Data(contentsOf: r.scratch.url.appendingPathComponent("renders/previous/\(previous[0])")) == before)
        let segments = try FileManager.default.contentsOfDirectory(atPath: r.scratch.path("renders/.segments"))
        #expect(segments.filter { $0.hasSuffix(".mp4") }.count == 5, "\(segments)")

        // A draft: a proxy of its own beside the film, which stays as it is.
        let final = try Data(contentsOf: URL(fileURLWithPath: film))
        let draft = try await r.apply(["--draft"])
        #expect(draft.status == 0 && draft.stdout.contains("; 5 of 5 segments encoded"), "\(draft.stdout)")
        let proxy = try #require(try await Self.streams(r.scratch.path("renders/eagle-film.draft.mp4"))["video"])
        #expect((proxy["duration"] as? String).flatMap(Double.init).map { abs($0 - 9.5) <= 1.0 / 24 + 1e-6 } == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: film)) == final, "the film untouched")
        #expect(
            try await r.run(["plan", r.file]).stdout.contains("the cut to assemble") == false, "the film is current")
        let draftAgain = try await r.apply(["--draft"])
        #expect(draftAgain.stdout.contains("Nothing to do"), "\(draftAgain.stdout)")
        #expect(try schemaAccepts(r.manifestURL))
    }

    @Test(
        "exports written with the assembly (and by export, the same bytes): OTIO read back by opentimelineio, the EDL by pycmx, the FCPXML as XML: clips, order, ranges, transitions, sound only where it is, the music's level and fade"
    )
    func exports() async throws {
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        try r.edit("  fps: 24\n", with: "  fps: 24\n  exports: [otio, edl, fcpxml]\n")
        #expect(try await r.apply().status == 0)
        for format in ["otio", "edl", "fcpxml"] {
            let written = try Data(contentsOf: r.scratch.url.appendingPathComponent("renders/eagle-film.\(format)"))
            let result = try await r.run(["export", r.file, "--format", format])
            #expect(result.status == 0, "\(result.stderr)")
            let exported = try Data(contentsOf: r.scratch.url.appendingPathComponent("renders/eagle-film.\(format)"))
            #expect(written == exported, "\(format): the assembly's export is export's")
        }
        let check = """
            import json, sys, xml.etree.ElementTree as ET
            import opentimelineio as otio, pycmx
            t = otio.adapters.read_from_file('renders/eagle-film.otio')
            v = t.tracks[0]
            out = {'kind': v.kind, 'duration': t.duration().value,
                   'items': [[type(i).__name__, i.name] + ([i.in_offset.value, i.out_offset.value] if isinstance(i, otio.schema.Transition)
                             else [i.source_range.start_time.value, i.source_range.duration.value, i.media_reference.available_range.duration.value, i.media_reference.target_url.split('/')[-1]]) for i in v]}
            edl = pycmx.parse_cmx3600(open('renders/eagle-film.edl'))
            out['edl'] = [[e.number, d.clip_name, str(d.source_in), str(d.source_out), str(d.record_in), str(d.record_out), d.transition.dissolve, d.transition.effect_duration if d.transition.dissolve else 0] for e in edl.events for d in e.edits]
            x = ET.parse('renders/eagle-film.fcpxml').getroot()
            spine = x.find('library/event/project/sequence/spine')
            out['fcpxml'] = [[c.tag, c.get('name'), c.get('offset'), c.get('start'), c.get('duration')] for c in spine]
            out['sound'] = {a.get('name'): a.get('hasAudio') for a in x.iter('asset')}
            level = x.find('.//asset-clip[@name="music"]/adjust-volume')
            out['level'] = [level.get('amount')] + [k.get('time') + ' ' + k.get('value') for k in level.iter('keyframe')]
            out['a1'] = [type(i).__name__ for i in t.tracks[1]]
            bed = t.tracks[2][0]
            out['otio_level'] = [bed.effects[0].effect_name, bed.effects[0].metadata['kling-render']['volume'], bed.effects[0].metadata['kling-render']['fade_out'].value]
            out['edl_music'] = [l.strip() for l in open('renders/eagle-film.edl') if l.startswith('* MUSIC')]
            print(json.dumps(out))
            """
        let result = try await CLI.runProgram("/usr/bin/env", ["python3", "-c", check], in: r.scratch.url)
        let parsed = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let facts = try #require(parsed, "\(result.stderr)")
        #expect(facts["kind"] as? String == "Video")
        #expect(facts["duration"] as? Double == 240, "10 s at 24 fps")
        let items = (facts["items"] as? [[Any]] ?? []).map { $0.map { "\($0)" }.joined(separator: " ") }
        #expect(
            items == [
                "Clip sunrise.take2 12.0 78.0 120.0 sunrise.take2.mp4", "Transition Cross Dissolve 6.0 6.0",
                "Clip city 6.0 102.0 120.0 city.mp4", "Transition Fade through black 12.0 12.0",
                "Clip snow 12.0 60.0 120.0 snow.mp4",
            ], "\(items)")
        let edl = (facts["edl"] as? [[Any]] ?? []).map { $0.map { "\($0)" }.joined(separator: " ") }
        #expect(
            edl == [
                "1 sunrise.take2 00:00:00:12 00:00:03:12 01:00:00:00 01:00:03:00 0 0",
                "2 sunrise.take2 00:00:03:12 00:00:03:12 01:00:03:00 01:00:03:00 0 0",
                "2 city 00:00:00:00 00:00:04:00 01:00:03:00 01:00:07:00 1 12",
                "3 city 00:00:04:00 00:00:04:00 01:00:07:00 01:00:07:00 0 0",
                "3 snow 00:00:00:00 00:00:03:00 01:00:07:00 01:00:10:00 1 24",
            ], "\(edl)")
        let fcp = (facts["fcpxml"] as? [[Any]] ?? []).map { $0.map { "\($0)" }.joined(separator: " ") }
        #expect(
            fcp == [
                "asset-clip sunrise.take2 0s 12/24s 78/24s", "transition Cross Dissolve 72/24s <null> 12/24s",
                "asset-clip city 78/24s 6/24s 102/24s", "transition Fade Through Black 168/24s <null> 24/24s",
                "asset-clip snow 180/24s 12/24s 60/24s",
            ], "\(fcp)")
        // Sound only where the file has it: the city was rendered with `sound: false`.
        let sound = facts["sound"] as? [String: String] ?? [:]
        // (and the snow edit, whose request asks for none).
        #expect(
            sound["city"] == "0" && sound["snow"] == "0" && sound["sunrise.take2"] == "1" && sound["music"] == "1",
            "\(sound)")
        #expect(facts["a1"] as? [String] == ["Clip", "Gap", "Gap"], "silent clips are gaps on the sound track")
        // music_volume 0.6 is -4.44 dB; fade_out 2 s is 48 frames before the film's end (240).
        #expect(facts["level"] as? [String] == ["-4.44dB", "192/24s -4.44dB", "240/24s -96dB"], "\(facts)")
        let otioLevel = facts["otio_level"] as? [Any] ?? []
        #expect(
            otioLevel.first as? String == "AudioVolume" && otioLevel.dropFirst().first as? Double == 0.6
                && otioLevel.last as? Double == 48, "\(otioLevel)")
        #expect(
            facts["edl_music"] as? [String] == ["* MUSIC: score/theme.mp3 AT -4.44 DB, FADE OUT 48 FRAMES AT THE END"])
    }

    @Test(
        "without ffmpeg a project whose cut must be assembled gets one clear error naming the package; nothing is sent")
    func noFFmpeg() async throws {
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        var environment = r.environment
        environment["PATH"] = "/nonexistent"
        let plan = try await CLI.run(["plan", r.file], in: r.scratch.url, environment: environment)
        #expect(plan.status != 0)
        #expect(
            plan.stderr.contains("is assembled by ffmpeg, which is not installed: `apt-get install ffmpeg`"),
            "\(plan.stderr)")
        let apply = try await CLI.run(
            ["apply", r.file, "--yes"] + r.arguments, in: r.scratch.url, environment: environment)
        #expect(apply.status != 0)
        #expect(await r.stats().tasksCreated == 0)
    }

    static let small = """
        version: 1
        name: small
        shots:
          a:
            type: std-text-to-video
            prompt: a
            duration: 5
          b:
            type: std-text-to-video
            prompt: b
            duration: 5
        cut:
          clips:
            - shot: a
              in: 0.52
              out: 4.03

        """

    @Test("--target cut renders what the cut needs and assembles it; --json reports the cut as events")
    func targetCut() async throws {
        let r = try await Rehearsal(Self.small) { $0.useFFmpeg = true }
        defer { Task { await r.stop() } }
        let result = try await r.apply(["--target", "cut", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(await r.stats().tasksCreated == 1, "a, not b")
        let events = result.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        let names = events.compactMap { $0["event"] as? String }.filter { $0.hasPrefix("cut_") }
        #expect(
            names.first == "cut_started" && names.last == "cut_assembled" && names.contains("cut_progress"), "\(names)")
        let assembled = events.first { $0["event"] as? String == "cut_assembled" }
        // Trims on whole frames: 0.52 s is frame 12, 4.03 s frame 97; picture and sound agree.
        #expect(assembled?["file"] as? String == "renders/small.mp4" && assembled?["seconds"] as? Double == 3.542)
        let streams = try await Self.streams(r.scratch.path("renders/small.mp4"))
        let videoText: String? = streams["video"]?["duration"] as? String
        let audioText: String? = streams["audio"]?["duration"] as? String
        let video = try #require(videoText.flatMap { Double($0) })
        let audio = try #require(audioText.flatMap { Double($0) })
        #expect(abs(video - 85.0 / 24) < 1e-3 && abs(audio - video) < 0.022, "video \(video) s, audio \(audio) s")
    }

    @Test("on a terminal the cut has a row with a progress bar")
    func terminalBar() async throws {
        let scratch = try Scratch()
        try scratch.write("film.yaml", Self.small)
        let command = "\(CLI.binary.path) apply --simulate --yes film.yaml"
        let output = try await onTerminal(command, in: scratch.url, input: "")
        #expect(output.contains("[....................]  0 of 1 segment"), "\(output)")
        #expect(output.contains("Cut: renders-sim/small.mp4 (3.542 s, "), "\(output)")
    }

    @Test("music that is a video without sound is refused before ffmpeg runs, naming the field")
    func silentMusic() async throws {
        let yaml = Self.small + "  audio:\n    music: score/silent.mp4\n"
        let r = try await Rehearsal(yaml)
        defer { Task { await r.stop() } }
        try FileManager.default.createDirectory(
            at: r.scratch.url.appendingPathComponent("score"), withIntermediateDirectories: true)
        let made = try await CLI.runProgram(
            "/usr/bin/env",
            [
                "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:duration=1", "-c:v", "libx264",
                r.scratch.path("score/silent.mp4"),
            ])
        #expect(made.status == 0, "\(made.stderr)")
        let result = try await r.apply()
        #expect(result.status != 0)
        #expect(
            result.stdout.contains("`cut.audio.music` score/silent.mp4 has no sound ffprobe can read"),
            "\(result.stdout)")
    }

    @Test("a file of the user's where the film goes is never replaced")
    func foreignFile() async throws {
        let r = try await Rehearsal(Self.small)
        defer { Task { await r.stop() } }
        try FileManager.default.createDirectory(
            at: r.scratch.url.appendingPathComponent("renders"), withIntermediateDirectories: true)
        _ = try r.scratch.write("renders/small.mp4", "my own film\n")
        let result = try await r.apply()
        #expect(result.status != 0)
        #expect(
            result.stdout.contains("renders/small.mp4 exists and is not a film kling-render assembled"),
            "\(result.stdout)")
        #expect(
            try String(contentsOf: r.scratch.url.appendingPathComponent("renders/small.mp4"), encoding: .utf8)
                == "my own film\n")
    }

    @Test("a clip's file changed behind the manifest's back: the cut is refused, nothing is written")
    func tamperedClip() async throws {
        let r = try await Self.rehearsal()
        defer { Task { await r.stop() } }
        #expect(try await r.apply(["--target", "city"]).status == 0)
        let city = r.scratch.url.appendingPathComponent("renders/city.mp4")
        var bytes = try Data(contentsOf: city)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: city)
        let result = try await r.apply()
        #expect(result.status != 0)
        #expect(
            result.stdout.contains("renders/city.mp4, clip 2 of the cut, does not match its SHA-256"),
            "\(result.stdout)")
        let left = try FileManager.default.contentsOfDirectory(atPath: r.scratch.path("renders"))
        #expect(!left.contains { $0.contains("eagle-film") }, "\(left)")
    }
}
