import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One writer per manifest: an `flock` on `MANIFEST.lock`, which dies with its process.
/// The lock file names its holder, so that a second apply can say who holds it.
package final class ManifestLock: Sendable {
    package struct Busy: Error, Sendable, CustomStringConvertible {
        package var manifest: String
        package var holder: String
        package var description: String {
            "\(manifest) is in use by \(holder); wait for it to finish (or stop it) and try again"
        }
    }

    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    package static func acquire(for manifest: URL, command: String = CommandLine.arguments.joined(separator: " "))
        throws(Busy) -> ManifestLock
    {
        let path = manifest.path + ".lock"
        try? FileManager.default.createDirectory(
            at: manifest.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw Busy(manifest: manifest.lastPathComponent, holder: "nobody we can see (cannot open \(path))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw Busy(
                manifest: manifest.lastPathComponent,
                holder: holder.flatMap { $0.isEmpty ? nil : $0 } ?? "another process")
        }
        let name = URL(fileURLWithPath: CommandLine.arguments.first ?? "kling-render").lastPathComponent
        let words = command.split(separator: " ").dropFirst().prefix(2).joined(separator: " ")
        let text = "pid \(getpid()) (\(name) \(words))\n"
        ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        return ManifestLock(fd: fd)
    }

    package func release() {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
