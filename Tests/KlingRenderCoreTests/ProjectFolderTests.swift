import Foundation
import Testing

@testable import KlingRenderCore

/// One type owns the project's folder: every path checked under the root, no link followed.
@Suite("ProjectFolder: every path under the root, no link followed")
struct ProjectFolderTests {
    /// A project folder and, beside it, a folder that stands for the rest of the disk.
    final class Folders {
        let base: URL
        let project: URL
        let outside: URL

        init() throws {
            base = FileManager.default.temporaryDirectory.appendingPathComponent("kling-folder-\(UUID().uuidString)")
            project = base.appendingPathComponent("project")
            outside = base.appendingPathComponent("outside")
            for url in [project, outside] {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            }
            try Data("precious".utf8).write(to: outside.appendingPathComponent("victim"))
        }

        deinit { try? FileManager.default.removeItem(at: base) }

        var folder: ProjectFolder { ProjectFolder(project) }

        func link(_ name: String, to target: String) throws {
            try FileManager.default.createSymbolicLink(
                atPath: project.appendingPathComponent(name).path, withDestinationPath: target)
        }

        var victim: String {
            (try? String(contentsOf: outside.appendingPathComponent("victim"), encoding: .utf8)) ?? ""
        }
    }

    @Test(
        "relative paths are normalized; absolute, `..`, `~` and NUL are refused",
        arguments: [
            ("renders", "renders"), ("./renders/", "renders"), ("a//b/./c", "a/b/c"), (".", ""),
            ("/etc", nil), ("../x", nil), ("a/../../x", nil), ("~/x", nil), ("a\0b", nil), ("", nil),
        ] as [(String, String?)])
    func normalize(_ path: String, _ expected: String?) {
        #expect((try? ProjectFolder.normalize(path)) == expected)
    }

    @Test("a folder that is a link out of the project is refused; one inside is followed")
    func folderLinks() throws {
        let f = try Folders()
        try f.link("out", to: f.outside.path)
        #expect(throws: FolderError.self) { try f.folder.directory("out", create: true) }
        #expect(throws: FolderError.self) { try f.folder.openForWriting("out/victim") }
        try FileManager.default.createDirectory(
            at: f.project.appendingPathComponent("store"), withIntermediateDirectories: true)
        try f.link("renders", to: "store")
        let real = try f.folder.directory("renders/sub", create: true)
        #expect(real.hasSuffix("/project/store/sub"))
        #expect(f.victim == "precious")
    }

    @Test("a file that is a link is never opened, hashed or created through, dangling or not")
    func fileLinks() throws {
        let f = try Folders()
        try f.link("a.mp4", to: f.outside.appendingPathComponent("victim").path)
        try f.link("lock", to: f.outside.appendingPathComponent("new").path)
        #expect(f.folder.entry("a.mp4") == .other(.link))
        #expect(throws: FolderError.self) { try f.folder.sha256("a.mp4") }
        #expect(throws: FolderError.self) { try f.folder.openForWriting("a.mp4") }
        #expect(throws: FolderError.self) { try f.folder.openForWriting("lock") }
        #expect(!FileManager.default.fileExists(atPath: f.outside.appendingPathComponent("new").path))
        #expect(f.victim == "precious")
    }

    @Test("a manifest write never follows a link planted at its name or its temporary name")
    func atomicWrite() throws {
        let f = try Folders()
        try f.link("film.manifest.json", to: f.outside.appendingPathComponent("victim").path)
        try AtomicFile.write(Data("{}".utf8), to: "film.manifest.json", in: f.folder)
        #expect(f.victim == "precious", "the link is replaced, not written through")
        #expect(f.folder.entry("film.manifest.json") == .file(bytes: 2))
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.project.path) == ["film.manifest.json"])
    }

    @Test("a shot's nth video and another shot's first never share a name, whatever the ids")
    func videoNames() {
        let paths = ProjectPaths(projectFile: "/p/film.yaml", output: "renders", simulated: false)
        var seen: [String: String] = [:]
        for id in ["a", "a-2", "a-3", "a2", "a_2", "take"] {
            for n in 1...3 {
                let path = paths.videoPath(shot: id, number: n)
                #expect(seen[path] == nil, "\(id) #\(n) and \(seen[path] ?? "") both want \(path)")
                seen[path] = "\(id) #\(n)"
            }
        }
        #expect(paths.videoPath(shot: "a", number: 2) == "renders/a.2.mp4")
    }

    @Test("output: . keeps videos beside the project file, with relative paths; rehearsals go to sim/")
    func outputDot() {
        let real = ProjectPaths(projectFile: "/p/film.yaml", output: ".", simulated: false)
        #expect(real.videoPath(shot: "a", number: 1) == "a.mp4")
        let simulated = ProjectPaths(projectFile: "/p/film.yaml", output: "./", simulated: true)
        #expect(simulated.videoPath(shot: "a", number: 1) == "sim/a.mp4")
    }

    @Test("manifest totals saturate instead of trapping")
    func saturatingTotals() {
        let shot = { (credits: Int) in
            ManifestShot(
                type: "std-text-to-video", fingerprint: String(repeating: "a", count: 64), request: [:], inputs: [:],
                status: .succeeded, estimatedCredits: credits, consumedCredits: credits)
        }
        let manifest = Manifest(project: "p", endpoint: "e", simulated: false, shots: ["a": shot(.max), "b": shot(1)])
        #expect(manifest.totals.consumedCredits == .max)
        #expect(ManifestCheck.problem(in: manifest)?.contains("must be from 0 to") == true)
    }

    @Test("printable text: controls and bidi overrides spelled out, the rest untouched")
    func printable() {
        #expect(Printable.escaped("a\u{1B}[31mb\nc\u{202E}d\u{7F}") == #"a\u{1B}[31mb\nc\u{202E}d\u{7F}"#)
        #expect(Printable.escaped("plain — text ✓") == "plain — text ✓")
        #expect(Printable.escaped("a\u{200B}b\u{FEFF}c\u{2028}d") == #"a\u{200B}b\u{FEFF}c\u{2028}d"#)
    }

    @Test(
        "video URLs: http(s) only, no user or password, no local network unless the API is there",
        arguments: [
            ("https://cdn.example.com/v.mp4", "https://kling3api.com", true),
            ("http://169.254.169.254/latest/meta-data", "https://kling3api.com", false),
            ("http://127.0.0.1:8080/v.mp4", "https://kling3api.com", false),
            ("http://[::1]/v.mp4", "https://kling3api.com", false),
            ("http://10.1.2.3/v.mp4", "https://kling3api.com", false),
            ("http://localhost/v.mp4", "https://kling3api.com", false),
            ("http://127.0.0.1:8080/v.mp4", "http://127.0.0.1:9999", true),
            ("http://127.0.0.1:8080/v.mp4", "simulator", true),
            ("http://u:p@cdn.example.com/v.mp4", "https://kling3api.com", false),
            ("http+unix://%2Fvar%2Frun/v.mp4", "simulator", false),
            ("file:///etc/passwd", "simulator", false),
        ])
    func urlPolicy(_ url: String, _ endpoint: String, _ allowed: Bool) {
        #expect((URLPolicy.problem(url, endpoint: endpoint) == nil) == allowed)
    }
}
