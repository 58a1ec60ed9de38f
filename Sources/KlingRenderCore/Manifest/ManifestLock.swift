import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One writer per manifest: an `flock` on `MANIFEST.lock`, which dies with its process.
/// The lock file names its holder, so that a second apply can say who holds it.
package final class ManifestLock: @unchecked Sendable {
    package struct Busy: Error, Sendable, CustomStringConvertible {
        package var manifest: String
        package var holder: String
        /// False when the lock could not be taken for another reason than a holder.
        package var isBusy = true
        package var description: String {
            isBusy
                ? "\(manifest) is in use by \(holder); wait for it to finish (or stop it) and try again"
                : "cannot lock \(manifest): \(holder); nothing was sent"
        }
    }

    private let handle: FileHandle
    private var fd: Int32 { handle.fileDescriptor }

    private init(handle: FileHandle) { self.handle = handle }

    /// The lock is a file beside the manifest, opened through the project's folder: a link
    /// planted at its name (to a file outside, or dangling) is refused, never opened or created.
    package static func acquire(for paths: ProjectPaths, command: String = CommandLine.arguments.joined(separator: " "))
        throws(Busy) -> ManifestLock
    {
        let name = paths.manifestName + ".lock"
        let handle: FileHandle
        do {
            handle = try paths.root.openForWriting(name)
        } catch {
            throw Busy(manifest: paths.manifestName, holder: "\(error)", isBusy: false)
        }
        let fd = handle.fileDescriptor
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? handle.read(upToCount: 512)).map { String(decoding: $0, as: UTF8.self) }?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try? handle.close()
            throw Busy(
                manifest: paths.manifestName,
                holder: holder.flatMap { $0.isEmpty ? nil : Printable.escaped($0) } ?? "another process")
        }
        let program = URL(fileURLWithPath: CommandLine.arguments.first ?? "kling-render").lastPathComponent
        let words = command.split(separator: " ").dropFirst().prefix(2).joined(separator: " ")
        let text = "pid \(getpid()) (\(program) \(words))\n"
        ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        return ManifestLock(handle: handle)
    }

    package func release() {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        try? handle.close()
    }
}
