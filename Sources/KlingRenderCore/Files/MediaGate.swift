import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one gate that media passes before ffmpeg, ffprobe or the API reads it: local boards, music,
/// committed clips, downloads, copies fetched from the store, continuity frames.
///
/// What a file is comes from its first bytes, never from its name, and only the containers
/// kling-render hands on are admitted (MP4/MOV/M4A, WebM/Matroska, MP3, WAV, FLAC, Ogg; PNG, JPEG,
/// WebP). Anything else — an HLS or DASH playlist, an `ffconcat` list, a text, an ID3 tag with no
/// MPEG audio after it — is refused. A file that passed is opened by ffmpeg and ffprobe only
/// through `GatedMedia.inputOptions`: the demuxer its bytes named, forced, and the `file`
/// protocol alone, on its real path inside the project. None of those demuxers reads another
/// file (hls, concat, dash, image2 patterns, subfile and tee cannot be reached), and the `mov`
/// demuxer's external data references stay off, as they are by default.
package enum MediaGate {
    /// Bytes read to tell what a file is (an ID3 tag's frame header is read where the tag ends).
    static let headBytes = 16

    /// What bytes are, read through `read(offset, count)`, which returns fewer bytes (or none)
    /// past the end; nil when they are none of the admitted containers.
    package static func sniff(_ read: (Int64, Int) -> [UInt8]) -> MediaType? {
        let head = read(0, headBytes)
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.count >= 12, head[0..<4] == riff[...], head[8..<12] == Array("WEBP".utf8)[...] { return .webp }
        if head.count >= 12, head[0..<4] == riff[...], head[8..<12] == Array("WAVE".utf8)[...] { return .wav }
        if head.starts(with: Array("fLaC".utf8)) { return .flac }
        if head.starts(with: Array("OggS".utf8)) { return .ogg }
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return .webm }
        if head.starts(with: Array("ID3".utf8)) { return mp3AfterTag(head, read: read) }
        if isMPEGAudioFrame(head) { return .mp3 }
        return quickTime(head)
    }

    /// `sniff` over bytes in memory.
    package static func sniff(_ bytes: [UInt8]) -> MediaType? {
        sniff { offset, count in
            guard offset < bytes.count else { return [] }
            return Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + count)])
        }
    }

    /// `sniff` over an open file, read where it needs with `pread` (the file's offset stays).
    package static func sniff(fileDescriptor fd: Int32) -> MediaType? {
        sniff { offset, count in
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n > 0 ? Array(buffer.prefix(n)) : []
        }
    }

    private static let riff: [UInt8] = Array("RIFF".utf8)

    /// An ID3v2 tag must be followed by a real MPEG audio frame (after a little zero padding):
    /// a tag in front of a playlist or a list of files is not an MP3.
    private static func mp3AfterTag(_ head: [UInt8], read: (Int64, Int) -> [UInt8]) -> MediaType? {
        guard head.count >= 10, (2...4).contains(head[3]), head[4] != 0xFF, head[6..<10].allSatisfy({ $0 < 0x80 })
        else { return nil }
        let size = head[6..<10].reduce(Int64(0)) { $0 << 7 | Int64($1) }
        let footer: Int64 = head[5] & 0x10 != 0 ? 10 : 0
        let after = read(10 + size + footer, 4096)
        guard let start = after.firstIndex(where: { $0 != 0 }) else { return nil }
        return isMPEGAudioFrame(Array(after[start...])) ? .mp3 : nil
    }

    /// An MPEG audio frame header: sync, a version, a layer, a bit rate and a sample rate that exist.
    static func isMPEGAudioFrame(_ b: [UInt8]) -> Bool {
        guard b.count >= 4, b[0] == 0xFF, b[1] & 0xE0 == 0xE0 else { return false }
        let version = (b[1] >> 3) & 0x3
        let layer = (b[1] >> 1) & 0x3
        let bitrate = b[2] >> 4
        let rate = (b[2] >> 2) & 0x3
        return version != 1 && layer != 0 && bitrate != 0xF && rate != 3
    }

    /// MP4, M4A and MOV: an `ftyp` box, or one of the atoms old QuickTime files start with (a
    /// small atom's size starts with a zero byte, so a text beginning "The free…" is no movie).
    private static func quickTime(_ head: [UInt8]) -> MediaType? {
        guard head.count >= 12 else { return nil }
        let box = String(decoding: head[4..<8], as: UTF8.self)
        if box == "ftyp" { return String(decoding: head[8..<12], as: UTF8.self) == "qt  " ? .mov : .mp4 }
        guard head[0] == 0 else { return nil }
        if ["moov", "mdat"].contains(box) { return .mov }
        if ["wide", "free", "skip", "pnot"].contains(box), head[3] >= 8 || head[2] > 0 { return .mov }
        return nil
    }

    /// Admits a regular file of the project (never through a link at its end, never outside the
    /// folder) whose bytes are one of `accepted`.
    package static func admit(_ relative: String, in root: ProjectFolder, accepting accepted: Set<MediaType>)
        -> Result<GatedMedia, MediaRefusal>
    {
        let location: String
        let handle: FileHandle
        do {
            location = try root.realFile(relative)
            handle = try root.openForReading(relative)
        } catch {
            return .failure(MediaRefusal(path: relative, problem: .unreadable(error.reason)))
        }
        defer { try? handle.close() }
        let media = sniff(fileDescriptor: handle.fileDescriptor)
        guard let media, accepted.contains(media) else {
            return .failure(MediaRefusal(path: relative, problem: .notMedia(found: media, wanted: accepted)))
        }
        return .success(GatedMedia(path: relative, location: location, media: media))
    }
}

/// A file of the project that passed the gate: what it is, and how ffmpeg may open it.
package struct GatedMedia: Sendable, Equatable {
    /// Relative to the project's folder.
    package var path: String
    /// Its real absolute path, inside the project's folder.
    package var location: String
    package var media: MediaType

    /// What stands before the file on ffmpeg's and ffprobe's command lines: local files only,
    /// and the demuxer the bytes named, so that ffmpeg never guesses and never follows a list.
    package var inputOptions: [String] { ["-protocol_whitelist", "file", "-f", media.demuxer] }
    /// The file, as a `file:` URL (a name with a colon is never taken for a protocol).
    package var input: String { "file:" + location }
    /// `inputOptions`, then `-i` and the file: one input of ffmpeg.
    package var ffmpegInput: [String] { inputOptions + ["-i", input] }
}

/// Why the gate refused a file.
package struct MediaRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Problem: Sendable, Equatable {
        case unreadable(String)
        case notMedia(found: MediaType?, wanted: Set<MediaType>)
    }

    package var path: String
    package var problem: Problem

    /// "is not …", after the path.
    package var reason: String {
        switch problem {
        case .unreadable(let why): "cannot be read (\(why))"
        case .notMedia(let found, let wanted):
            "is not \(MediaType.words(for: wanted))"
                + (found.map { " (its bytes are \($0.rawValue.uppercased()))" }
                    ?? " (by its first bytes: a playlist, a list of files or a text is never handed to ffmpeg)")
        }
    }

    package var description: String { "\(path) \(reason)" }
}

extension MediaType {
    /// What a render or a clip may be: what the API sends (WebM is sniffed, but never handed to
    /// ffmpeg's larger Matroska parser on a server's word).
    package static let videos: Set<MediaType> = [.mp4, .mov]
    /// A music bed (an M4A is an MP4 by its bytes).
    package static let audios: Set<MediaType> = [.mp3, .wav, .flac, .ogg, .mp4]
    package static let images: Set<MediaType> = [.png, .jpeg, .webp]

    /// ffmpeg's name of the demuxer for these bytes (`-f`).
    package var demuxer: String {
        switch self {
        case .mp4, .mov: "mov"
        case .webm: "matroska"
        case .mp3: "mp3"
        case .wav: "wav"
        case .flac: "flac"
        case .ogg: "ogg"
        case .png: "png_pipe"
        case .jpeg: "jpeg_pipe"
        case .webp: "webp_pipe"
        }
    }

    /// "an MP4, MOV or WEBM file", for a refusal.
    static func words(for set: Set<MediaType>) -> String {
        if set == videos { return "a video (MP4 or MOV)" }
        if set == audios { return "an audio file (MP3, WAV, FLAC, Ogg or M4A)" }
        if set == images { return "an image (PNG, JPEG or WebP)" }
        let names = set.map { $0.rawValue.uppercased() }.sorted()
        return "a " + (names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names[0])
    }
}
