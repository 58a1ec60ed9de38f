import Foundation

/// The request a shot sends, built in one place for both the fingerprint and the API call.
extension Shot {
    /// The JSON body of `POST /api/generate`. Each media input is resolved by `resolve`: to the
    /// URL sent when sending, to its content (hash, upstream fingerprint) when fingerprinting.
    /// Fields the API defaults (duration, aspect ratio, sound) are always written out, so that
    /// writing `duration: 5` or leaving it out gives the same request and the same fingerprint.
    package func request(resolve: (MediaInput) -> String) -> [String: JSONValue] {
        var body: [String: JSONValue] = extra
        body["type"] = .string(type.name)
        if type.takes(.duration) { body[ShotField.duration.wireName] = .int(APILimits.defaultDuration) }
        if type.takes(.aspectRatio) { body[ShotField.aspectRatio.wireName] = .string(APILimits.defaultAspectRatio) }
        if type.takes(.sound) { body[ShotField.sound.wireName] = .bool(true) }
        for (field, value) in values {
            body[field.wireName] =
                switch value {
                case .text(let s): .string(s)
                case .integer(let i): .int(i)
                case .number(let d): .double(d)
                case .boolean(let b): .bool(b)
                case .input(let input): .string(resolve(input))
                case .inputs(let list): .array(list.map { .string(resolve($0)) })
                }
        }
        return body
    }

    /// The file fields fed by another shot's output: field → upstream shot id.
    package var inputs: [String: String] {
        var result: [String: String] = [:]
        for (field, value) in values {
            if case .input(.shotVideo(let id)) = value { result[field.wireName] = id }
        }
        return result
    }
}

/// SHA-256 over the canonical request, upstream outputs replaced by upstream fingerprints.
///
/// Comments, key order, formatting, `notes`, `after`, unused vars and other shots cannot change
/// it: none of them reaches the request.
package enum Fingerprint {
    /// Bump when the canonical form changes, so that old manifests re-render rather than lie.
    static let format = "kling-render/fingerprint/1"

    /// A local file enters as its SHA-256 (renaming it changes nothing, editing a pixel changes
    /// it); an upstream output as the upstream's fingerprint; a frame as which frame of it.
    package static func of(_ shot: Shot, files: [String: InputFile], upstream: (String) -> String) -> String {
        let body = shot.request { input in
            switch input {
            case .url(let url): url
            case .file(let path): "sha256:" + (files[path]?.sha256 ?? "")
            case .shotVideo(let id): "fingerprint:" + upstream(id)
            case .frame(let id, let edge): "\(edge.reference):fingerprint:" + upstream(id)
            }
        }
        let canonical: JSONValue = .object(["format": .string(format), "request": .object(body)])
        return Digest.sha256Hex(CanonicalJSON.compact(canonical))
    }

    /// Fingerprints of every shot of the graph, computed in dependency order.
    package static func all(_ graph: ShotGraph) -> [String] {
        var result = [String](repeating: "", count: graph.shots.count)
        for i in graph.order {
            result[i] = of(graph.shots[i], files: graph.files) { id in
                graph.index[id].map { output(of: graph.shots[$0], fingerprint: result[$0]) } ?? ""
            }
        }
        return result
    }

    /// What a shot's users take in: its fingerprint, and which take when it is not the first. A
    /// new pick changes the users' fingerprints, never the shot's own.
    static func output(of shot: Shot, fingerprint: String) -> String {
        shot.pick == 1 ? fingerprint : fingerprint + "#take\(shot.pick)"
    }
}
