import Crypto
import Foundation
import JWTKit
import KlingAPI
import KlingRenderCore
import NIOHTTP1
import Testing

/// The official Kling API's wire format as `provider: kling` writes and reads it, held against
/// the documentation's own examples (research/providers.md, K-full: text2video L2023–2290,
/// image2video L2516–2900, omni-video L1253–1600, authentication L8–50, error codes L42–103).
@Suite("The official API's wire format, against its documented examples")
struct OfficialWireTests {
    static func body(_ json: String, external: String? = nil) throws -> (String, [String: Any]) {
        let request = try OfficialWire.request(gateway: Data(json.utf8), externalID: external)
        let object = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        return (request.family, object)
    }

    @Test(
        "text to video: the documented example's fields — model_name, mode, duration as a string, sound on/off, external_task_id"
    )
    func textToVideo() throws {
        let (family, body) = try Self.body(
            #"{"type":"pro-text-to-video","prompt":"A cute little rabbit","negative_prompt":"blur","duration":5,"aspect_ratio":"1:1","sound":true,"cfg_scale":0.5}"#,
            external: "kr-1")
        #expect(family == "text2video")
        #expect(body["model_name"] as? String == "kling-v3" && body["mode"] as? String == "pro")
        #expect(body["duration"] as? String == "5", "a string, as the documentation's enum")
        #expect(body["sound"] as? String == "on" && body["aspect_ratio"] as? String == "1:1")
        #expect(body["negative_prompt"] as? String == "blur" && body["cfg_scale"] as? Double == 0.5)
        #expect(body["external_task_id"] as? String == "kr-1")
        #expect(body["type"] == nil, "the gateway's routing field is not sent")
    }

    @Test("image to video: image and image_tail, std mode")
    func imageToVideo() throws {
        let (family, body) = try Self.body(
            #"{"type":"std-image-to-video","prompt":"p","image":"https://x/a.png","end_image":"https://x/b.png","duration":4,"sound":false}"#
        )
        #expect(family == "image2video" && body["mode"] as? String == "std")
        #expect(body["image"] as? String == "https://x/a.png" && body["image_tail"] as? String == "https://x/b.png")
        #expect(body["sound"] as? String == "off" && body["end_image"] == nil)
    }

    @Test(
        "the O3 types go to the Omni endpoint as kling-v3-omni: frames, references, a feature video, a base video to edit"
    )
    func omni() throws {
        let (f1, text) = try Self.body(
            #"{"type":"o3-std-text-to-video","prompt":"p","duration":10,"aspect_ratio":"9:16"}"#)
        #expect(
            f1 == "omni-video" && text["model_name"] as? String == "kling-v3-omni" && text["mode"] as? String == "std")
        #expect(text["image_list"] == nil && text["video_list"] == nil && text["duration"] as? String == "10")

        let (_, frames) = try Self.body(
            #"{"type":"o3-pro-image-to-video","prompt":"p","image":"https://x/a.png","end_image":"https://x/b.png"}"#)
        let list = try #require(frames["image_list"] as? [[String: String]])
        #expect(
            list == [
                ["image_url": "https://x/a.png", "type": "first_frame"],
                ["image_url": "https://x/b.png", "type": "end_frame"],
            ])

        let (_, reference) = try Self.body(
            #"{"type":"o3-pro-reference-to-video","prompt":"p","images":["https://x/r.png"],"video":"https://x/v.mp4","sound":true}"#
        )
        #expect(reference["image_list"] as? [[String: String]] == [["image_url": "https://x/r.png"]])
        #expect(
            reference["video_list"] as? [[String: String]] == [
                ["video_url": "https://x/v.mp4", "refer_type": "feature"]
            ])
        #expect(reference["sound"] as? String == "off", "beside a video the Omni endpoint makes no sound")

        let (_, edit) = try Self.body(
            #"{"type":"o3-std-video-edit","prompt":"p","video":"https://x/v.mp4","keep_original_sound":true}"#)
        #expect(
            edit["video_list"] as? [[String: String]] == [
                ["video_url": "https://x/v.mp4", "refer_type": "base", "keep_original_sound": "yes"]
            ])
        #expect(edit["duration"] == nil, "an edit's length is its video's")
    }

    @Test("extra: fields go through as written; an unknown type is not sent")
    func extraAndUnknown() throws {
        let (_, body) = try Self.body(#"{"type":"std-text-to-video","prompt":"p","watermark_info":{"enabled":true}}"#)
        #expect((body["watermark_info"] as? [String: Bool]) == ["enabled": true])
        #expect(throws: OfficialWire.Problem.self) {
            _ = try OfficialWire.request(gateway: Data(#"{"type":"kling-v9","prompt":"p"}"#.utf8), externalID: nil)
        }
    }

    @Test("the JWT: header HS256/JWT, iss the access key, exp 1800 s on, nbf 5 s back, signed with the secret key")
    func token() async throws {
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let secret = "a-secret-key-of-thirty-two-bytes-or-more"
        let token = try await KlingOfficialClient.token(access: "AK123", secret: secret, at: time)
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        func decode(_ part: String) throws -> [String: Any] {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            let data = try #require(Data(base64Encoded: text))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        let header = try decode(parts[0])
        #expect(header["alg"] as? String == "HS256" && header["typ"] as? String == "JWT")
        let claims = try decode(parts[1])
        #expect(claims["iss"] as? String == "AK123")
        #expect((claims["exp"] as? Double).map { Int($0) } == 1_800_001_800)
        #expect((claims["nbf"] as? Double).map { Int($0) } == 1_799_999_995)
        // The signature, made again by swift-crypto's HMAC over the same two parts.
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data((parts[0] + "." + parts[1]).utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let expected = Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(parts[2] == expected)
        // And jwt-kit verifies it with that key, not with another.
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let verified = try await keys.unverified(token, as: KlingOfficialClient.Claims.self)
        #expect(verified.iss.value == "AK123")
        let other = JWTKeyCollection()
        await other.add(hmac: HMACKey(from: String(secret.reversed())), digestAlgorithm: .sha256)
        await #expect(throws: (any Error).self) { _ = try await other.verify(token, as: Unchecked.self) }
        _ = try await keys.verify(token, as: Unchecked.self)
    }

    @Test(
        "a token is kept while it has more than a minute left, then signed again: a long poll never sends an expired one"
    )
    func resigned() async throws {
        final class Clock: @unchecked Sendable {
            var now = Date(timeIntervalSince1970: 1_800_000_000)
        }
        let clock = Clock()
        let tokens = KlingOfficialClient.Tokens { clock.now }
        let secret = "a-secret-key-of-thirty-two-bytes-or-more"
        let first = try await tokens.current(access: "AK", secret: secret)
        clock.now += 1800 - 61
        #expect(try await tokens.current(access: "AK", secret: secret) == first, "29 minutes on: the same token")
        clock.now += 2
        let second = try await tokens.current(access: "AK", secret: secret)
        #expect(second != first, "under a minute left: signed again")
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let claims = try await keys.verify(second, as: Expiry.self)
        #expect(Int(claims.exp.value.timeIntervalSince1970) == Int(clock.now.timeIntervalSince1970) + 1800)
    }

    @Test("every one of the twelve task types has its endpoint, model and mode on the official API")
    func twelve() throws {
        for type in TaskType.all {
            let request = try OfficialWire.request(
                gateway: Data(#"{"type":"\#(type.name)","prompt":"p"}"#.utf8), externalID: nil)
            let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
            #expect(
                request.family
                    == (type.model == .o3 ? "omni-video" : type.family == .image ? "image2video" : "text2video"))
            #expect(body["model_name"] as? String == (type.model == .o3 ? "kling-v3-omni" : "kling-v3"))
            #expect(body["mode"] as? String == (type.name.contains("pro-") ? "pro" : "std"), "\(type.name)")
        }
    }

    struct Expiry: JWTPayload {
        var exp: ExpirationClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    struct Unchecked: JWTPayload {
        var iss: IssuerClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    @Test(
        "the error table: 1000-1004 the key, 1101/1102 the account's money with the fix, 1302/1303 slow down, 5000-5002 retry, 12xx/13xx refusals",
        arguments: [
            (401, 1004, "invalidAPIKey"), (429, 1102, "insufficientCredits"), (429, 1101, "insufficientCredits"),
            (429, 1303, "rateLimited"), (429, 1302, "rateLimited"), (500, 5000, "serverError"),
            (503, 5001, "serverError"), (400, 1201, "rejected"), (400, 1301, "rejected"), (429, 1304, "rejected"),
        ])
    func errors(status: Int, code: Int, kind: String) {
        let body = Data(#"{"code":\#(code),"message":"words of the API","request_id":"r"}"#.utf8)
        let error = OfficialWire.classify(status: status, headers: HTTPHeaders(), body: body, creating: true)
        #expect(String(describing: error).contains("\(code)"), "\(error)")
        switch (kind, error) {
        case ("invalidAPIKey", .invalidAPIKey), ("rateLimited", .rateLimited), ("serverError", .serverError),
            ("rejected", .rejected):
            break
        case ("insufficientCredits", .insufficientCredits(let message)):
            #expect(message.contains(code == 1102 ? "buy another" : "pay the bill"), "the fix is said: \(message)")
        default: Issue.record("\(status)/\(code) read as \(error), not \(kind)")
        }
        #expect(!error.isSafeToResubmit || [1302, 1303, 5000, 5001].contains(code))
    }
}
