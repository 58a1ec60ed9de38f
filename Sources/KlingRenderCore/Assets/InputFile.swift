import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file beside the project used as a shot's input (`image: boards/hero.png`), checked and hashed.
package struct InputFile: Sendable, Hashable, Codable {
    /// As the project file writes it, normalized: relative to the project file's folder.
    package var path: String
    /// Where it really is (symlinks followed), relative to the project's folder: what is read.
    package var resolved: String
    package var sha256: String
    package var bytes: Int64
    package var media: MediaType
    /// Pixels, for images.
    package var width: Int?
    package var height: Int?

    /// The object key's extension and the upload's `Content-Type`.
    package var fileExtension: String { media.fileExtension }
}

/// What a media input's bytes are, by magic bytes, never by name.
package enum MediaType: String, Sendable, Hashable, Codable {
    case png, jpeg, webp, mp4, mov
    /// WebM or Matroska: a video ffmpeg reads, never one the API takes as an input.
    case webm
    /// Audio, for the cut's music bed (an M4A is an MP4 by its bytes).
    case mp3, wav, flac, ogg

    package var isImage: Bool { self == .png || self == .jpeg || self == .webp }
    package var isAudio: Bool { [.mp3, .wav, .flac, .ogg].contains(self) }

    /// Whether a field that takes `expect` takes these bytes.
    package func suits(_ expect: InputFile.Expect) -> Bool {
        switch expect {
        case .image: isImage
        case .video: self == .mp4 || self == .mov
        case .audio: isAudio || self == .mp4
        }
    }

    package var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        default: rawValue
        }
    }

    package var contentType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .webp: "image/webp"
        case .mp4: "video/mp4"
        case .mov: "video/quicktime"
        case .webm: "video/webm"
        case .mp3: "audio/mpeg"
        case .wav: "audio/wav"
        case .flac: "audio/flac"
        case .ogg: "audio/ogg"
        }
    }

}

/// The limits a local input is checked against before anything is sent.
package enum InputLimits {
    /// Kling's documentation: images at most 10 MB, at least 300 px a side, aspect 1:2.5 to 2.5:1.
    package static let maxImageBytes: Int64 = 10 * 1_000_000
    package static let minImageSide = 300
    package static let maxAspect = 2.5
    /// Kling documents reference and edit videos as MP4/MOV up to 200 MB; the seed says nothing.
    package static let maxVideoBytes: Int64 = 200 * 1_000_000
}

extension InputFile.Expect {
    /// What a field of this kind takes, in words.
    var wanted: String {
        switch self {
        case .image: "a PNG, JPEG or WebP image"
        case .video: "an MP4 or MOV video"
        case .audio: "an MP3, WAV, FLAC, Ogg or M4A audio file"
        }
    }
}

extension InputFile {
    /// What kind of bytes a field takes.
    package enum Expect: Sendable {
        case image, video, audio
    }

    /// Checks and hashes `written` (relative to `folder`) for a field that takes `expect`; the
    /// problem in words when it is not a usable input.
    package static func check(_ written: String, in folder: URL, expect: Expect) -> Result<InputFile, InputProblem> {
        if written.hasPrefix("/") || written.hasPrefix("~") {
            return .failure(.outside("is an absolute path; write it relative to the project file"))
        }
        // One spelling per file: `a/../a/x.png` would be a second name the manifest cannot keep.
        guard let normalized = try? ProjectFolder.normalize(written), normalized == written else {
            return .failure(
                .outside("is not a plain path inside the project's folder (no `..`); write it as `boards/x.png`"))
        }
        guard let root = realPath(folder.path.isEmpty ? "." : folder.path) else {
            return .failure(.missing)
        }
        let joined = folder.appendingPathComponent(written).path
        guard let real = realPath(joined) else {
            return .failure(ProjectFolder.kind(ofPath: joined) == nil ? .missing : .outside("cannot be resolved"))
        }
        let prefix = root == "/" ? "/" : root + "/"
        guard real.hasPrefix(prefix) else {
            return .failure(.outside("resolves outside the project's folder; kling-render uploads nothing from there"))
        }
        let resolved = String(real.dropFirst(prefix.count))
        switch ProjectFolder.kind(ofPath: real) {
        case .file?: break
        case let kind?: return .failure(.notAFile(kind.phrase))
        case nil: return .failure(.missing)
        }
        return read(real, written: written, resolved: resolved, expect: expect)
    }

    private static func read(_ real: String, written: String, resolved: String, expect: Expect)
        -> Result<InputFile, InputProblem>
    {
        // Non-blocking, and checked once open: a FIFO swapped in after the check never hangs the load.
        let fd = POSIX.open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0)
        guard fd >= 0 else { return .failure(.unreadable(ProjectFolder.errnoText())) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, ProjectFolder.kind(info) == .file else {
            return .failure(.notAFile("not a regular file"))
        }
        let limit = expect == .image ? InputLimits.maxImageBytes : InputLimits.maxVideoBytes
        var hasher = SHA256()
        var head: [UInt8] = []
        var bytes: Int64 = 0
        var imageData = Data()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                bytes += Int64(chunk.count)
                if bytes > limit { return .failure(.tooLarge(limit: limit, expect: expect)) }
                hasher.update(data: chunk)
                if head.count < 16 { head += chunk.prefix(16 - head.count) }
                if expect == .image { imageData.append(chunk) }
            }
        } catch {
            return .failure(.unreadable("\(error)"))
        }
        if bytes == 0 { return .failure(.outside("is empty")) }
        guard let media = MediaGate.sniff(fileDescriptor: handle.fileDescriptor) else {
            let gif = head.starts(with: Array("GIF8".utf8))
            return .failure(
                gif ? .other("is a GIF; the API takes PNG, JPEG or WebP") : .wrongMedia(nil, expect: expect))
        }
        guard media.suits(expect) else { return .failure(.wrongMedia(media, expect: expect)) }
        var file = InputFile(
            path: written, resolved: resolved, sha256: hasher.finalize().map { String(format: "%02x", $0) }.joined(),
            bytes: bytes, media: media)
        if expect == .image {
            switch checkImage(imageData, media: media) {
            case .success(let (w, h)):
                file.width = w
                file.height = h
            case .failure(let problem):
                return .failure(problem)
            }
        }
        return .success(file)
    }

    /// An image's pixel size, within the API's limits (size, sides, aspect), or why not.
    static func checkImage(_ data: Data, media known: MediaType? = nil) -> Result<(Int, Int), InputProblem> {
        if Int64(data.count) > InputLimits.maxImageBytes {
            return .failure(.tooLarge(limit: InputLimits.maxImageBytes, expect: .image))
        }
        guard let media = known ?? MediaGate.sniff([UInt8](data.prefix(16))), media.isImage,
            let (w, h) = ImageSize.of(data, media)
        else { return .failure(.wrongMedia(nil, expect: .image)) }
        if min(w, h) < InputLimits.minImageSide { return .failure(.tooSmall(w, h)) }
        let aspect = Double(max(w, h)) / Double(max(1, min(w, h)))
        if aspect > InputLimits.maxAspect { return .failure(.aspect(w, h)) }
        return .success((w, h))
    }

    private static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}

/// Why a local input cannot be used.
package enum InputProblem: Error, Sendable, Equatable {
    case missing
    case outside(String)
    case notAFile(String)
    case unreadable(String)
    case tooLarge(limit: Int64, expect: InputFile.Expect)
    case wrongMedia(MediaType?, expect: InputFile.Expect)
    case tooSmall(Int, Int)
    case aspect(Int, Int)
    case other(String)

    /// The message, after "`image` file `PATH` ".
    package var message: String {
        switch self {
        case .missing: "does not exist"
        case .outside(let why): why
        case .notAFile(let kind): "is \(kind), not a regular file"
        case .unreadable(let why): "cannot be read (\(why))"
        case .tooLarge(let limit, let expect):
            expect == .audio
                ? "is larger than \(limit / 1_000_000) MB, the most kling-render takes for music"
                : "is larger than \(limit / 1_000_000) MB, the most the API takes for \(expect == .image ? "an image" : "a video")"
        case .wrongMedia(let found, let expect):
            "is not \(expect.wanted)\(found.map { " (its bytes are \($0.rawValue.uppercased()))" } ?? " (by its bytes)")"
        case .tooSmall(let w, let h):
            "is \(w)×\(h) pixels; the API takes images at least \(InputLimits.minImageSide) px a side"
        case .aspect(let w, let h):
            "is \(w)×\(h) pixels; the API takes aspect ratios from 1:2.5 to 2.5:1"
        case .other(let why): why
        }
    }
}

/// Pixel sizes read from image headers.
enum ImageSize {
    static func of(_ data: Data, _ media: MediaType) -> (Int, Int)? {
        let b = [UInt8](data)
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func le16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func le24(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 }
        switch media {
        case .png:
            guard b.count >= 24 else { return nil }
            return (be16(16) << 16 | be16(18), be16(20) << 16 | be16(22))
        case .webp:
            guard b.count >= 30 else { return nil }
            switch String(decoding: b[12..<16], as: UTF8.self) {
            case "VP8 ": return (le16(26) & 0x3FFF, le16(28) & 0x3FFF)
            case "VP8L":
                let bits = UInt32(b[21]) | UInt32(b[22]) << 8 | UInt32(b[23]) << 16 | UInt32(b[24]) << 24
                return (Int(bits & 0x3FFF) + 1, Int((bits >> 14) & 0x3FFF) + 1)
            case "VP8X": return (le24(24) + 1, le24(27) + 1)
            default: return nil
            }
        case .jpeg:
            var i = 2
            while i + 9 < b.count {
                guard b[i] == 0xFF else { return nil }
                let marker = b[i + 1]
                if marker == 0xFF {
                    i += 1
                    continue
                }
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                    return (be16(i + 7), be16(i + 5))
                }
                i += 2 + be16(i + 2)
            }
            return nil
        default:
            return nil
        }
    }
}
