import Foundation
import NIOHTTP1
import Testing

@testable import KlingAPI

@Suite("Answers are read by HTTP status first, then by the body's error field, whatever the body")
struct ClassificationTests {
    static let html = Data(
        "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>".utf8)

    @Test(
        "status decides; a known code is found even in text; empty, HTML and binary bodies are survived",
        arguments: [
            (401, Data(), "invalidAPIKey"),
            (402, Data("Payment required: INSUFFICIENT_CREDITS".utf8), "insufficientCredits"),
            (429, Data(), "rateLimited"),
            (400, Data(#"{"code":400,"error":"INVALID_DURATION","message":"oops"}"#.utf8), "rejected INVALID_DURATION"),
            (400, Data("oops INVALID_DURATION oops".utf8), "rejected"),
            (400, Data([0xFF, 0xFE, 0x00, 0x01]), "rejected"),
            (404, html, "rejected"),
            (500, Data(#"{"code":500,"message":"boom"}"#.utf8), "serverError"),
            (502, html, "serverError"),
            (503, Data(), "serverError"),
            (504, html, "answerLost"),
            (520, html, "answerLost"),
            (501, Data(), "answerLost"),
        ])
    func classify(status: Int, body: Data, expected: String) {
        let error = KlingClient.classify(status: status, headers: HTTPHeaders(), body: body)
        let name: String
        switch error {
        case .invalidAPIKey: name = "invalidAPIKey"
        case .insufficientCredits: name = "insufficientCredits"
        case .rateLimited: name = "rateLimited"
        case .rejected(_, let code, _): name = "rejected" + (code.map { " \($0)" } ?? "")
        case .serverError: name = "serverError"
        case .answerLost: name = "answerLost"
        default: name = "\(error)"
        }
        #expect(name == expected)
        #expect(!"\(error)".contains("<"), "no HTML tags in a message: \(error)")
    }

    @Test("Retry-After in seconds or as an HTTP date")
    func retryAfter() {
        var seconds = HTTPHeaders()
        seconds.add(name: "Retry-After", value: "7")
        #expect(KlingClient.retryAfter(seconds) == .seconds(7))
        var date = HTTPHeaders()
        date.add(name: "Retry-After", value: "Wed, 21 Oct 2015 07:28:00 GMT")
        #expect(KlingClient.retryAfter(date) == .zero, "a date in the past: retry now")
        var junk = HTTPHeaders()
        junk.add(name: "Retry-After", value: "soon")
        #expect(KlingClient.retryAfter(junk) == nil)
    }

    @Test("status words from every gateway map to one vocabulary, case-insensitively; unknown stays unknown")
    func vocabulary() {
        for word in ["IN_PROGRESS", "in_queue", "Pending", "queued", "submitted", "PROCESSING"] {
            #expect(TaskPhase(status: word) == .running, "\(word)")
        }
        for word in ["SUCCESS", "succeeded", "succeed", "Completed"] {
            #expect(TaskPhase(status: word) == .succeeded, "\(word)")
        }
        for word in ["FAILED", "failure", "error", "EXPIRED", "canceled", "CANCELLED"] {
            #expect(TaskPhase(status: word) == .failed, "\(word)")
        }
        #expect(TaskPhase(status: "RENDERING_MAGIC") == .unknown)
    }

    @Test(
        "Retry-After from outside is capped at 300 s, whatever it says",
        arguments: [
            ("1e300", 300.0), ("999999999", 300.0), ("Fri, 31 Dec 9999 23:59:59 GMT", 300.0), ("2", 2.0),
            ("-1", nil), ("nan", nil), ("inf", nil),
        ] as [(String, Double?)])
    func retryAfterCapped(_ value: String, _ expected: Double?) {
        var headers = HTTPHeaders()
        headers.add(name: "Retry-After", value: value)
        let wait = KlingClient.retryAfter(headers).map { Double($0.components.seconds) }
        #expect(wait == expected)
    }

    @Test("the key is redacted from every text the client passes on, and a bad key is refused by name")
    func redaction() {
        let client = KlingClient(baseURL: "http://127.0.0.1:1", apiKey: "sk-secret-42")
        let error = KlingAPIError.rejected(status: 400, code: "X", message: "bad key sk-secret-42!").redacted(
            by: client)
        #expect("\(error)".contains("[redacted key]") && !"\(error)".contains("sk-secret-42"))
        // An answer that echoes a presigned URL of ours keeps its address, not its week of access.
        let echoed = client.redacted(
            "cannot fetch https://b.s3.amazonaws.com/k.png?X-Amz-Credential=AKID%2F1&X-Amz-Security-Token=tok&X-Amz-Signature=abc123 (403)"
        )
        #expect(
            echoed
                == "cannot fetch https://b.s3.amazonaws.com/k.png?X-Amz-Credential=[redacted]&X-Amz-Security-Token=[redacted]&X-Amz-Signature=[redacted] (403)"
        )
        for echo in [
            "see x-amz-signature=abc", "nested ?u=https%3A%2F%2Fb%2Fk%3FX-Amz-Signature%3Dabc",
            #"{"X-Amz-Signature": "abc"}"#,
        ] {
            #expect(!client.redacted(echo).contains("abc"), "\(echo)")
        }
        #expect(KlingClient.keyProblem("sk-secret-42") == nil)
        for bad in ["a\nb", "a\u{7F}b", "a b", "ä", ""] {
            #expect(KlingClient.keyProblem(bad) != nil)
        }
    }
}
