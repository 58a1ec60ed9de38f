import Foundation

/// The request a shot sends, built in one place for both the fingerprint and the API call.
extension Shot {
    /// The JSON body of `POST /api/generate`. Each upstream output is resolved by `output`:
    /// the real URL when sending, the upstream's fingerprint when fingerprinting.
    /// Fields the API defaults (duration, aspect ratio, sound) are always written out, so that
    /// writing `duration: 5` or leaving it out gives the same request and the same fingerprint.
    package func request(output: (String) -> String) -> [String: JSONValue] {
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
                case .urls(let urls): .array(urls.map(JSONValue.string))
                case .shotVideo(let id): .string(output(id))
                }
        }
        return body
    }

    /// The file fields fed by another shot's output: field → upstream shot id.
    package var inputs: [String: String] {
        var result: [String: String] = [:]
        for (field, value) in values {
            if case .shotVideo(let id) = value { result[field.wireName] = id }
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

    package static func of(_ shot: Shot, upstream: (String) -> String) -> String {
        let body = shot.request { id in "fingerprint:" + upstream(id) }
        let canonical: JSONValue = .object(["format": .string(format), "request": .object(body)])
        return Digest.sha256Hex(CanonicalJSON.compact(canonical))
    }

    /// Fingerprints of every shot of the graph, computed in dependency order.
    package static func all(_ graph: ShotGraph) -> [String] {
        var result = [String](repeating: "", count: graph.shots.count)
        for i in graph.order {
            result[i] = of(graph.shots[i]) { id in graph.index[id].map { result[$0] } ?? "" }
        }
        return result
    }
}
