import Foundation
import KlingStore
import Testing

/// SigV4 is ours (no S3 library is in the mirror), so it is held to two references: the vectors
/// AWS publishes (its Signature Version 4 test suite and the S3 documentation's examples), and
/// botocore signing the same inputs at the same instant.
@Suite("SigV4 signing agrees with AWS's published vectors and with botocore")
struct SigV4Tests {
    static func instant(_ stamp: String) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: stamp)!
    }

    static let suiteCredentials = StoreCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let s3DocCredentials = StoreCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    @Test(
        "the SigV4 test suite's get-vanilla and get-vanilla-query-order-key-case",
        arguments: [
            ("https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            (
                "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            ),
        ])
    func testSuite(url: String, signature: String) {
        let signer = SigV4(credentials: Self.suiteCredentials, region: "us-east-1", service: "service")
        let headers = signer.signedHeaders(
            method: "GET", url: URL(string: url)!, payloadHash: SigV4.emptyPayloadHash,
            date: Self.instant("20150830T123600Z"), contentHashHeader: false)
        #expect(
            headers.first { $0.0 == "Authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(signature)"
        )
    }

    @Test("the S3 documentation's signed GET with a Range header")
    func s3HeaderExample() {
        let signer = SigV4(credentials: Self.s3DocCredentials, region: "us-east-1")
        let headers = signer.signedHeaders(
            method: "GET", url: URL(string: "https://examplebucket.s3.amazonaws.com/test.txt")!,
            headers: ["Range": "bytes=0-9"], payloadHash: SigV4.emptyPayloadHash, date: Self.instant("20130524T000000Z")
        )
        #expect(
            headers.first { $0.0 == "Authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test("the S3 documentation's presigned GET")
    func s3PresignExample() {
        let signer = SigV4(credentials: Self.s3DocCredentials, region: "us-east-1")
        let url = signer.presignedURL(
            url: URL(string: "https://examplebucket.s3.amazonaws.com/test.txt")!, expires: 86400,
            date: Self.instant("20130524T000000Z"))
        #expect(
            url.absoluteString.hasSuffix(
                "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
    }

    /// A case for botocore and for `S3Store`, as JSON for `scripts/sigv4-reference.py`.
    struct Case: Encodable {
        var kind: String
        var endpoint: String?
        var bucket = ""
        var key = ""
        var url = ""
        var region: String
        var expires = 0
        var time: String
        var access: String
        var secret: String
        var token: String?
        var body = ""
        var content_type = ""
    }

    static func reference(_ cases: [Case]) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/sigv4-reference.py")
        process.arguments = ["python3", script.path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        input.fileHandleForWriting.write(try encoder.encode(cases))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "sigv4-reference.py failed: is botocore installed?")
        return try JSONDecoder().decode([String].self, from: data)
    }

    static func store(_ c: Case) -> S3Store {
        var store = S3Store(
            bucket: c.bucket, prefix: "", endpoint: c.endpoint, region: c.region, publicURL: nil,
            urlLifetime: c.expires,
            credentials: StoreCredentials(accessKeyID: c.access, secretAccessKey: c.secret, sessionToken: c.token))
        let now = instant(c.time)
        store.now = { now }
        return store
    }

    @Test("presigned URLs are botocore's generate_presigned_url, byte for byte")
    func presignedAgainstBotocore() throws {
        let keys = ["kling/0a1b.png", "kling/a b+c/é.png", "deep/er/path~x/(1)!.jpg", "k=v&x;y.mp4"]
        var cases: [Case] = []
        for (n, key) in keys.enumerated() {
            cases.append(
                Case(
                    kind: "presign", endpoint: "http://127.0.0.1:9000", bucket: "films", key: key, region: "eu-west-3",
                    expires: [604800, 3600, 1, 86400][n], time: "20261126T0\(n)0203Z", access: "AKIDTEST",
                    secret: "s3cr3t/+=\(n)", token: n == 1 ? "FwoGZXIvYXdzE//token+with/slash=" : nil))
        }
        cases.append(
            Case(
                kind: "presign", endpoint: nil, bucket: "my-bucket", key: "kling/ff.webp", region: "us-west-2",
                expires: 7200, time: "20260101T000000Z", access: "AKIAXYZ", secret: "abc"))
        let expected = try Self.reference(cases)
        for (c, url) in zip(cases, expected) {
            #expect(Self.store(c).url(for: c.key) == url, "\(c.key)")
        }
    }

    @Test("a signed PUT's Authorization header is botocore's")
    func putAgainstBotocore() throws {
        let c = Case(
            kind: "put", url: "http://127.0.0.1:9000/films/kling/a%20b.png", region: "us-east-1",
            time: "20261126T101112Z", access: "AKIDTEST", secret: "s3cr3t", token: "tok/en=",
            body: "hello", content_type: "image/png")
        // SHA-256 of "hello": botocore hashes the body itself.
        let sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        let expected = try Self.reference([c])
        let signer = SigV4(
            credentials: StoreCredentials(accessKeyID: c.access, secretAccessKey: c.secret, sessionToken: c.token),
            region: c.region)
        let headers = signer.signedHeaders(
            method: "PUT", url: URL(string: c.url)!,
            headers: ["content-type": c.content_type, "content-length": "5"], payloadHash: sha256,
            date: Self.instant(c.time))
        #expect(headers.first { $0.0 == "Authorization" }?.1 == expected.first)
    }

    @Test("credentials never show in a description or an error")
    func redacted() {
        let credentials = StoreCredentials(
            accessKeyID: "AKIDSECRETID", secretAccessKey: "topsecret", sessionToken: "tok")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            #expect(!text.contains("topsecret") && !text.contains("AKIDSECRETID") && !text.contains("tok\""), "\(text)")
        }
    }
}
