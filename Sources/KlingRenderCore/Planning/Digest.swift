import Crypto
import Foundation

/// SHA-256 in lowercase hex, the form used in fingerprints and the manifest.
package enum Digest {
    package static func sha256Hex(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    package static func hex(_ digest: SHA256.Digest) -> String {
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// SHA-256 fed in pieces, for files and downloads that never sit whole in memory.
package struct StreamingSHA256: Sendable {
    private var hasher = SHA256()

    package init() {}

    package mutating func update(_ data: some DataProtocol) { hasher.update(data: data) }

    package func finalize() -> String { Digest.hex(hasher.finalize()) }
}
