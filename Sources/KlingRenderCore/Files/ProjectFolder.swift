import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A path the tool was asked to touch and will not: it leaves the project's folder, goes through
/// a symbolic link, or is not the kind of file it should be.
package struct FolderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// As given, relative to the project's folder.
    package var path: String
    package var reason: String
    /// A folder on the way does not exist (yet): the one refusal that is no refusal to callers
    /// that would create it, or that see an absent file.
    package var isMissing = false
    package var description: String { "\(path): \(reason)" }
}

/// The project's folder: the one type through which every file the tool reads or writes beside a
/// project passes — manifest, lock, output folder, `.part` files, `previous/`.
///
/// Paths are relative to the folder and `/`-separated; every one is checked before use. Absolute
/// paths and `..` are refused; a folder on the way may be a link only when it stays inside the
/// project's folder; and the last component is never followed (`O_NOFOLLOW`, `lstat`): a file
/// that is a link is never read, hashed, written, appended to or moved into.
package struct ProjectFolder: Sendable, Equatable {
    /// The folder's real path (links resolved), without a trailing slash.
    package let root: String

    package init(_ folder: URL) {
        let path = folder.standardizedFileURL.path
        root = Self.realPath(path) ?? path
    }

    // MARK: - Relative paths

    /// `a/./b/` → `a/b`; `.` → the empty path (the folder itself). Throws for an absolute path,
    /// `..`, `~`, a NUL or an empty component that would hide one of those.
    package static func normalize(_ relative: String) throws(FolderError) -> String {
        if relative.isEmpty || relative.hasPrefix("/") || relative.hasPrefix("~") || relative.contains("\0") {
            throw FolderError(path: relative, reason: "not a path inside the project's folder")
        }
        var parts: [Substring] = []
        for part in relative.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw FolderError(path: relative, reason: "`..` leaves the project's folder") }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }

    package func url(_ relative: String) -> URL {
        relative.isEmpty ? URL(fileURLWithPath: root) : URL(fileURLWithPath: root + "/" + relative)
    }

    // MARK: - Folders

    /// The real path of a folder inside the project, created (when `create`) one component at a
    /// time. Each component must be a folder, or a link to a folder that stays inside the project.
    @discardableResult
    package func directory(_ relative: String, create: Bool) throws(FolderError) -> String {
        let normalized = try Self.normalize(relative.isEmpty ? "." : relative)
        var current = root
        var walked = ""
        for part in normalized.split(separator: "/") {
            walked += walked.isEmpty ? String(part) : "/" + part
            let next = current + "/" + part
            var info = stat()
            if lstat(next, &info) != 0 {
                guard errno == ENOENT, create else {
                    throw FolderError(path: walked, reason: "no such folder", isMissing: errno == ENOENT)
                }
                if mkdir(next, 0o755) != 0, errno != EEXIST {
                    throw FolderError(path: walked, reason: "cannot create the folder (\(Self.errnoText()))")
                }
                guard lstat(next, &info) == 0, Self.kind(info) == .folder else {
                    throw FolderError(path: walked, reason: "cannot create the folder")
                }
                current = next
                continue
            }
            switch Self.kind(info) {
            case .folder:
                current = next
            case .link:
                guard let real = Self.realPath(next), isInside(real) else {
                    throw FolderError(path: walked, reason: "is a symbolic link that leads out of the project's folder")
                }
                var target = stat()
                guard stat(real, &target) == 0, Self.kind(target) == .folder else {
                    throw FolderError(path: walked, reason: "is a symbolic link to something that is not a folder")
                }
                current = real
            case let other:
                throw FolderError(path: walked, reason: "is \(other.phrase), not a folder")
            }
        }
        return current
    }

    /// The names in a folder of the project ("" for its root): none when it is missing, or a link
    /// (a listing that leads to removing files is never taken through one).
    package func names(in folder: String) -> [String] {
        if !folder.isEmpty, entry(folder) != .other(.folder) { return [] }
        guard let real = try? directory(folder, create: false) else { return [] }
        return (try? FileManager.default.contentsOfDirectory(atPath: real)) ?? []
    }

    /// Whether an absolute real path lies in the project's folder (or is it).
    package func isInside(_ real: String) -> Bool {
        real == root || real.hasPrefix(root == "/" ? "/" : root + "/")
    }

    // MARK: - Files

    /// What stands at a path, never following a link at its end.
    package enum Entry: Sendable, Equatable {
        case missing
        case file(bytes: Int64)
        /// A link, a folder, a FIFO, a device or a socket: never a render.
        case other(Kind)
        /// The path itself is refused (it leaves the folder, or a folder on the way does).
        case refused(FolderError)
    }

    package func entry(_ relative: String) -> Entry {
        let located: (folder: String, name: String)
        do {
            located = try locate(relative, create: false)
        } catch {
            return error.isMissing ? .missing : .refused(error)
        }
        var info = stat()
        guard lstat(located.folder + "/" + located.name, &info) == 0 else { return .missing }
        let kind = Self.kind(info)
        return kind == .file ? .file(bytes: Int64(info.st_size)) : .other(kind)
    }

    /// Opens a regular file for reading; refuses a link or anything that is not a regular file.
    package func openForReading(_ relative: String) throws(FolderError) -> FileHandle {
        let (folder, name) = try locate(relative, create: false)
        return try open(folder + "/" + name, relative: relative, flags: O_RDONLY)
    }

    /// The real absolute path of a regular file of the project, for a program that opens it by
    /// name (ffmpeg): the folders on its way checked, and no link at its end.
    package func realFile(_ relative: String) throws(FolderError) -> String {
        let (folder, name) = try locate(relative, create: false)
        var info = stat()
        guard lstat(folder + "/" + name, &info) == 0 else { throw FolderError(path: relative, reason: "no such file") }
        guard Self.kind(info) == .file else {
            throw FolderError(path: relative, reason: "is \(Self.kind(info).phrase), not a regular file")
        }
        return folder + "/" + name
    }

    /// Opens a regular file for writing, creating it (when `create`) and the folders on its way.
    /// A link at the path is refused, dangling or not: nothing is written through one.
    package func openForWriting(_ relative: String, create: Bool = true) throws(FolderError) -> FileHandle {
        let (folder, name) = try locate(relative, create: create)
        return try open(folder + "/" + name, relative: relative, flags: O_RDWR | (create ? O_CREAT : 0))
    }

    /// Creates a new file that did not exist (`O_EXCL`): for temporary names.
    package func createNew(_ relative: String) throws(FolderError) -> FileHandle {
        let (folder, name) = try locate(relative, create: true)
        return try open(folder + "/" + name, relative: relative, flags: O_RDWR | O_CREAT | O_EXCL)
    }

    /// SHA-256 of a regular file, read in chunks; a link is refused, not followed.
    package func sha256(_ relative: String) throws -> String {
        let handle = try openForReading(relative)
        defer { try? handle.close() }
        var hasher = StreamingSHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(chunk)
        }
        return hasher.finalize()
    }

    /// Renames within the project (never across it); a link at `from` is moved as a link, never followed.
    package func rename(_ from: String, to: String) throws(FolderError) {
        let source = try locate(from, create: false)
        let target = try locate(to, create: true)
        guard POSIX.rename(source.folder + "/" + source.name, target.folder + "/" + target.name) == 0 else {
            throw FolderError(path: to, reason: "cannot rename \(from) to it (\(Self.errnoText()))")
        }
        ProjectFolder.syncFolder(target.folder)
    }

    /// Removes a file the tool created itself (a temporary file); refuses anything but a regular file.
    package func removeOwnFile(_ relative: String) {
        guard let (folder, name) = try? locate(relative, create: false) else { return }
        var info = stat()
        guard lstat(folder + "/" + name, &info) == 0, Self.kind(info) == .file else { return }
        unlink(folder + "/" + name)
    }

    /// Makes a rename in a folder durable.
    package static func syncFolder(_ folder: String) {
        let fd = POSIX.open(folder, O_RDONLY | O_DIRECTORY, 0)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    // MARK: - Plumbing

    /// The checked real folder of a path, and its last component.
    private func locate(_ relative: String, create: Bool) throws(FolderError) -> (folder: String, name: String) {
        let normalized = try Self.normalize(relative)
        guard let slash = normalized.lastIndex(of: "/") else {
            guard !normalized.isEmpty else { throw FolderError(path: relative, reason: "is the project's folder") }
            return (try directory(".", create: false), normalized)
        }
        let folder = try directory(String(normalized[..<slash]), create: create)
        return (folder, String(normalized[normalized.index(after: slash)...]))
    }

    private func open(_ path: String, relative: String, flags: Int32) throws(FolderError) -> FileHandle {
        let fd = POSIX.open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644)
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP || code == EMLINK {
                throw FolderError(path: relative, reason: "is a symbolic link; kling-render never follows one here")
            }
            if code == ENOENT { throw FolderError(path: relative, reason: "no such file") }
            throw FolderError(path: relative, reason: Self.errnoText(code))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, Self.kind(info) == .file else {
            let kind = fstat(fd, &info) == 0 ? Self.kind(info) : .unknown
            close(fd)
            throw FolderError(path: relative, reason: "is \(kind.phrase), not a regular file")
        }
        // O_NONBLOCK only kept a FIFO from blocking the open; regular files ignore it, but clear it.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    package enum Kind: Sendable, Equatable {
        case file, folder, link, fifo, device, socket, unknown

        package var phrase: String {
            switch self {
            case .file: "a regular file"
            case .folder: "a folder"
            case .link: "a symbolic link"
            case .fifo: "a FIFO (named pipe)"
            case .device: "a device"
            case .socket: "a socket"
            case .unknown: "not a regular file"
            }
        }
    }

    package static func kind(_ info: stat) -> Kind {
        switch info.st_mode & S_IFMT {
        case S_IFREG: .file
        case S_IFDIR: .folder
        case S_IFLNK: .link
        case S_IFIFO: .fifo
        case S_IFCHR, S_IFBLK: .device
        case S_IFSOCK: .socket
        default: .unknown
        }
    }

    /// What a path is, following links (for files the user names on the command line).
    package static func kind(ofPath path: String) -> Kind? {
        var info = stat()
        return stat(path, &info) == 0 ? kind(info) : nil
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    package static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}

/// The C library's calls whose names the types here reuse (`open`, `rename`, `write`), on Linux
/// and on Apple's systems alike.
package enum POSIX {
    package static func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
        #if canImport(Glibc)
            Glibc.open(path, flags, mode)
        #else
            Darwin.open(path, flags, mode)
        #endif
    }

    package static func rename(_ from: String, _ to: String) -> Int32 {
        #if canImport(Glibc)
            Glibc.rename(from, to)
        #else
            Darwin.rename(from, to)
        #endif
    }

    package static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.read(fd, buffer, count)
        #else
            Darwin.read(fd, buffer, count)
        #endif
    }

    package static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.write(fd, buffer, count)
        #else
            Darwin.write(fd, buffer, count)
        #endif
    }
}
