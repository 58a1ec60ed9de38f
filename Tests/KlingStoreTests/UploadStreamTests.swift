import Crypto
import Foundation
import Testing

@testable import KlingStore

/// An upload streams the bytes that were hashed, or nothing under their signature.
@Suite("Uploads send only the bytes that were signed")
struct UploadStreamTests {
    static func file(_ bytes: Data) throws -> (URL, FileHandle) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kling-upload-\(UUID().uuidString)")
        try bytes.write(to: url)
        return (url, try FileHandle(forReadingFrom: url))
    }

    static func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    /// Reads every chunk the upload would send; how many came before it stopped, and why.
    static func drain(_ chunks: FileChunks) async -> (Int, (any Error)?) {
        var sent = 0
        var iterator = chunks.makeAsyncIterator()
        do {
            while let chunk = try await iterator.next() { sent += chunk.readableBytes }
            return (sent, nil)
        } catch {
            return (sent, error)
        }
    }

    @Test("the same bytes stream whole")
    func unchanged() async throws {
        let data = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0) })
        let (url, handle) = try Self.file(data)
        defer { try? FileManager.default.removeItem(at: url) }
        let (sent, error) = await Self.drain(
            FileChunks(handle: handle, bytes: Int64(data.count), sha256: Self.hex(data)))
        #expect(sent == data.count && error == nil)
    }

    @Test("bytes changed after the hash (other bytes, more, or fewer): the last chunk is never handed over")
    func changed() async throws {
        let planned = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0) })
        var other = planned
        other[2_999_000] ^= 0xFF
        for now in [other, planned + Data([1]), planned.prefix(2_500_000)] {
            let (url, handle) = try Self.file(now)
            defer { try? FileManager.default.removeItem(at: url) }
            let (sent, error) = await Self.drain(
                FileChunks(handle: handle, bytes: Int64(planned.count), sha256: Self.hex(planned)))
            #expect(error is StoreError.Changed)
            #expect(sent < planned.count, "the upload stopped short of its length: nothing is stored")
        }
        #expect(StoreError.changedDuringUpload.description == "the file changed during upload: plan again")
    }
}
