import Foundation

/// Encodes manifests to exactly the bytes of `Manifest.encoded()`, encoding again only the
/// entries that changed since its last call. A run writes the manifest at every change, and
/// encoding every entry each time was most of the cost of a write: on a 200-shot film, more than
/// the fsync.
///
/// Each entry is encoded on its own (JSONEncoder, pretty, sorted keys) and set into the
/// document's `shots` at its depth; a test holds the result to the plain encoder's bytes.
package final class ManifestEncoder: @unchecked Sendable {
    private struct Fragment {
        var entry: ManifestShot
        var key: [UInt8]
        var bytes: [UInt8]
    }

    private let lock = NSLock()
    private var fragments: [String: Fragment] = [:]
    /// Entries encoded so far (the ones that changed): what the tests read.
    package var entriesEncoded: Int { lock.withLock { encodedCount } }
    private var encodedCount = 0

    package init() {}

    package func encode(_ manifest: Manifest) throws -> Data {
        try lock.withLock {
            var skeleton = manifest
            skeleton.shots = [:]
            let document = [UInt8](try skeleton.encoded())
            guard !manifest.shots.isEmpty else { return Data(document) }
            guard let slot = Self.emptyShots(in: document) else { return try manifest.encoded() }
            var kept: [String: Fragment] = [:]
            var out = [UInt8](document[..<slot.lowerBound])
            out.reserveCapacity(document.count + fragments.values.reduce(0) { $0 + $1.bytes.count + 8 })
            out.append(contentsOf: Self.open)
            // JSONEncoder's `.sortedKeys` order here: by UTF-8 bytes, not by String's own order.
            let keys = manifest.shots.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (n, key) in keys.enumerated() {
                guard let entry = manifest.shots[key] else { continue }
                let fragment: Fragment
                if let kept = fragments[key], kept.entry == entry {
                    fragment = kept
                } else {
                    fragment = try Self.fragment(key, entry)
                    encodedCount += 1
                }
                kept[key] = fragment
                if n > 0 { out.append(contentsOf: Array(",\n".utf8)) }
                out.append(contentsOf: Self.indent)
                out.append(contentsOf: fragment.key)
                out.append(contentsOf: Array(" : ".utf8))
                out.append(contentsOf: fragment.bytes)
            }
            out.append(contentsOf: Self.close)
            out.append(contentsOf: document[slot.upperBound...])
            fragments = kept
            return Data(out)
        }
    }

    /// `"shots"` as the document's own member (two spaces in), empty.
    private static let empty = Array("\n  \"shots\" : {\n\n  }".utf8)
    private static let open = Array("\n  \"shots\" : {\n".utf8)
    private static let close = Array("\n  }".utf8)
    private static let indent = Array("    ".utf8)

    private static func emptyShots(in document: [UInt8]) -> Range<Int>? {
        guard document.count >= empty.count else { return nil }
        for start in 0...(document.count - empty.count) where document[start] == empty[0] {
            if document[start..<(start + empty.count)].elementsEqual(empty) { return start..<(start + empty.count) }
        }
        return nil
    }

    /// An entry encoded alone, its lines moved four spaces in (blank lines stay blank, as the
    /// encoder writes an empty object): JSON strings hold no raw newline, so every newline is
    /// the encoder's.
    private static func fragment(_ key: String, _ entry: ManifestShot) throws -> Fragment {
        let alone = [UInt8](try CanonicalJSON.data(entry, pretty: true))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(alone.count + alone.count / 8)
        for (i, byte) in alone.enumerated() {
            bytes.append(byte)
            if byte == 0x0A, i + 1 < alone.count, alone[i + 1] != 0x0A { bytes.append(contentsOf: indent) }
        }
        return Fragment(entry: entry, key: [UInt8](try CanonicalJSON.data(key)), bytes: bytes)
    }
}
