import Foundation
import KlingRenderCore
import Testing

/// `provider:` and what the official API does not take, checked where it is written.
@Suite("provider: which API renders, and what it takes")
struct ProviderTests {
    static let omni = """
        version: 1
        provider: kling
        defaults:
          sound: true
          negative_prompt: blur
        shots:
          a:
            type: std-text-to-video
            prompt: a harbour
          b:
            type: o3-std-reference-to-video
            prompt: the harbour in winter
            video: ${shots.a.video}
            images: [https://x/1.png, https://x/2.png, https://x/3.png, https://x/4.png, https://x/5.png]
          c:
            type: o3-std-text-to-video
            prompt: boats
            negative_prompt: gulls
          d:
            type: o3-std-reference-to-video
            prompt: boats again
            video: ${shots.a.video}
            sound: true

        """

    @Test(
        "with provider: kling, each field the Omni endpoint does not take is a located error; what defaults: asks of every shot is left out with a warning"
    )
    func omniRules() {
        let result = load(Self.omni)
        #expect(result.project == nil)
        #expect(
            describe(result.diagnostics).split(separator: "\n").filter { !$0.hasPrefix("    note") } == [
                "10:3: warning: shot `b` is sent without `negative_prompt`: `defaults` gives one, and the Omni endpoint takes none with `provider: kling`",
                "10:3: warning: shot `b` renders without sound: `defaults` asks for it, and the Omni endpoint makes none beside a `video` with `provider: kling`",
                "14:13: error: `images` holds 5 images; beside a `video` the Omni endpoint takes at most 4 with `provider: kling`",
                "18:22: error: `negative_prompt` is not taken by the official API's Omni endpoint (o3-std-text-to-video) with `provider: kling`",
                "19:3: warning: shot `d` is sent without `negative_prompt`: `defaults` gives one, and the Omni endpoint takes none with `provider: kling`",
                "23:12: error: `sound: true` with a `video`: the Omni endpoint makes sound only without one with `provider: kling`",
            ], "\(describe(result.diagnostics))")
    }

    @Test("the same file with the gateway (the default) has none of these problems")
    func gateway() {
        let result = load(Self.omni.replacingOccurrences(of: "provider: kling\n", with: ""))
        #expect(result.project?.provider == .kling3api, "\(describe(result.diagnostics))")
        #expect(result.diagnostics.isEmpty)
    }

    @Test(
        "an unknown provider is a located error with the nearest name; kling keeps results 30 days unless told otherwise"
    )
    func names() {
        let typo = load("version: 1\nprovider: klng\nshots:\n  a:\n    type: std-text-to-video\n    prompt: p\n")
        #expect(
            describe(typo.diagnostics).contains(
                "2:11: error: `provider` must be `kling3api` (the gateway, the default) or `kling` (the official API)"))
        #expect(describe(typo.diagnostics).contains("kling"))
        let kling = load("version: 1\nprovider: kling\nshots:\n  a:\n    type: std-text-to-video\n    prompt: p\n")
        #expect(kling.project?.outputsLifetime == 30 * 86_400)
        let told = load(
            "version: 1\nprovider: kling\noutputs_lifetime: 2d\nshots:\n  a:\n    type: std-text-to-video\n    prompt: p\n"
        )
        #expect(told.project?.outputsLifetime == 2 * 86_400)
    }

    @Test(
        "a take's external task id is the same for the same request and attempt, and differs across projects, takes (however long their names), requests and attempts"
    )
    func externalIDs() {
        let fingerprint = String(repeating: "ab", count: 32)
        let one = Provider.externalTaskID(project: "eagle", take: "sunrise.take2", fingerprint: fingerprint, attempt: 1)
        #expect(
            one
                == Provider.externalTaskID(
                    project: "eagle", take: "sunrise.take2", fingerprint: fingerprint, attempt: 1))
        #expect(one.hasPrefix("kr-") && one.hasSuffix("-abababab-sunrise_take2-1") && one.count <= 64, "\(one)")
        #expect(Provider.attempt(of: one) == 1 && Provider.isExternalTaskID(one))
        let long = String(repeating: "x", count: 40)
        let others = [
            Provider.externalTaskID(project: "harbour", take: "sunrise.take2", fingerprint: fingerprint, attempt: 1),
            Provider.externalTaskID(project: "eagle", take: "sunrise", fingerprint: fingerprint, attempt: 1),
            Provider.externalTaskID(
                project: "eagle", take: "sunrise.take2", fingerprint: "cd" + fingerprint, attempt: 1),
            Provider.externalTaskID(project: "eagle", take: "sunrise.take2", fingerprint: fingerprint, attempt: 2),
            Provider.externalTaskID(project: "eagle", take: long, fingerprint: fingerprint, attempt: 1),
            Provider.externalTaskID(project: "eagle", take: long + ".take2", fingerprint: fingerprint, attempt: 1),
        ]
        #expect(Set(others + [one]).count == 7, "\(others)")
        let odd = Provider.externalTaskID(
            project: "p", take: String(repeating: "x", count: 200) + "/é", fingerprint: fingerprint, attempt: 99)
        #expect(odd.count <= 64 && odd.allSatisfy { $0.isASCII } && Provider.isExternalTaskID(odd))
    }

    @Test(
        "a manifest from elsewhere: an external task id that is not one this tool makes is refused, an attempt past the bound too"
    )
    func hostileExternalIDs() {
        for bad in [
            "kr-9223372036854775807", "kr-aaaaaaaaaaaa-abababab-a-9223372036854775807", "../../x",
            "kr-aaaaaaaaaaaa-abababab-a.b-1", "kr-AAAAAAAAAAAA-abababab-a-1", "kr-aaaaaaaaaaaa-abababab-a-0",
            String(repeating: "k", count: 65),
        ] {
            #expect(!Provider.isExternalTaskID(bad), "\(bad)")
        }
        #expect(Provider.attempt(of: "kr-aaaaaaaaaaaa-abababab-a-9223372036854775807") == nil)
    }
}
