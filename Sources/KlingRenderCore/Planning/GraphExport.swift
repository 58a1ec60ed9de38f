/// The dependency graph as text for Graphviz (DOT) or Mermaid.
package enum GraphExport {
    package enum Format: String, Sendable, CaseIterable {
        case dot, mermaid
    }

    package static func render(_ project: Project, format: Format) -> String {
        let graph = ShotGraph(project)
        switch format {
        case .dot: return dot(graph, project: project)
        case .mermaid: return mermaid(graph, project: project)
        }
    }

    /// A shot as people read it: its id, type, what its takes cost, and the pick when it has takes.
    static func label(_ shot: Shot) -> [String] {
        let each = shot.estimatedCredits
        guard shot.takes > 1 else {
            let pick = shot.pick != 1 ? ["pick \(shot.pick)"] : []
            return [shot.id, shot.type.name, "\(each.formatted) credits"] + pick
        }
        return [
            shot.id, shot.type.name,
            "\(shot.takes) takes × \(each.formatted) = \((each * shot.takes).formatted) credits", "pick \(shot.pick)",
        ]
    }

    /// The cut's node: what it writes and how long it runs.
    static func cutLabel(_ cut: Cut, project: Project) -> [String] {
        let length = cut.seconds(in: project).map { ", \(Cut.seconds(($0 * 10).rounded() / 10)) s" } ?? ""
        return ["the cut", cut.output, "\(cut.clips.count) clip\(cut.clips.count == 1 ? "" : "s")\(length)"]
    }

    /// The cut's node id: a shot id never holds `:`.
    package static let cutNode = "cut:"

    /// DOT whose nodes link to `link(id)` (the review page's anchors; the cut's id is `cutNode`),
    /// those for which it gives one, for Graphviz's SVG.
    package static func linkedDot(_ project: Project, link: @escaping (String) -> String?) -> String {
        dot(ShotGraph(project), project: project, link: link)
    }

    static func dot(_ graph: ShotGraph, project: Project, link: ((String) -> String?)? = nil) -> String {
        func escape(_ s: String) -> String { s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") }
        func quote(_ s: String) -> String { "\"" + escape(s) + "\"" }
        // Top to bottom in the storyboard's order, as a film is read.
        var out =
            "digraph \(quote(project.name)) {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=11];\n"
        for shot in project.shots {
            let target = link?(shot.id).map { ", URL=\(quote($0)), target=\"_top\"" } ?? ""
            out += "  \(quote(shot.id)) [label=\"\(label(shot).map(escape).joined(separator: "\\n"))\"\(target)];\n"
        }
        for (a, b) in zip(project.shots, project.shots.dropFirst()) {
            out += "  \(quote(a.id)) -> \(quote(b.id)) [style=invis];\n"
        }
        if let cut = project.cut {
            let target = link?(cutNode).map { ", URL=\(quote($0)), target=\"_top\"" } ?? ""
            out +=
                "  \(quote(cutNode)) [label=\"\(cutLabel(cut, project: project).map(escape).joined(separator: "\\n"))\", style=\"rounded,bold\"\(target)];\n"
            for (n, clip) in cut.clips.enumerated() {
                out += "  \(quote(clip.shot)) -> \(quote(cutNode)) [label=\"clip \(n + 1)\", color=\"#8c8c8c\"];\n"
            }
        }
        // Local files are nodes of their own (a shot id never holds `:`), drawn as documents.
        for path in files(graph) {
            out += "  \(quote("file:" + path)) [label=\(quote(path)), shape=note, style=\"\"];\n"
        }
        for i in graph.order {
            for (field, input) in graph.shots[i].mediaInputs {
                guard case .file(let path) = input else { continue }
                out +=
                    "  \(quote("file:" + path)) -> \(quote(graph.shots[i].id)) [label=\(quote(field.wireName)), style=dotted];\n"
            }
        }
        for i in graph.order {
            let shot = graph.shots[i]
            for d in shot.dependencies {
                let attributes =
                    switch d.kind {
                    case .video: "label=\(quote(d.field?.wireName ?? "video"))"
                    case .frame: "label=\(quote(edgeLabel(d, of: shot))), color=\"#1f6feb\""
                    case .after: "label=\"after\", style=dashed"
                    }
                out += "  \(quote(d.id)) -> \(quote(shot.id)) [\(attributes)];\n"
            }
        }
        return out + "}\n"
    }

    /// `image: last_frame`: which frame of the upstream video feeds which field.
    static func edgeLabel(_ d: Dependency, of shot: Shot) -> String {
        let field = d.field ?? .image
        let edges = shot.values[field]?.mediaInputs.compactMap { input -> String? in
            if case .frame(let id, let edge) = input, id == d.id { return edge.reference }
            return nil
        }
        return "\(field.wireName): \(edges?.first ?? "frame")"
    }

    /// The local files the shots use, each once, in the order they are first used.
    static func files(_ graph: ShotGraph) -> [String] {
        var seen = Set<String>()
        return graph.order.flatMap { i in
            graph.shots[i].mediaInputs.compactMap { _, input -> String? in
                guard case .file(let path) = input, seen.insert(path).inserted else { return nil }
                return path
            }
        }
    }

    static func mermaid(_ graph: ShotGraph, project: Project) -> String {
        // Mermaid ids cannot hold every character of a shot id: number the nodes instead.
        var out = "flowchart TB\n"
        let numbered = project.shots.compactMap { graph.index[$0.id] }
        for i in numbered {
            let text = label(graph.shots[i]).joined(separator: "<br/>").replacingAll("\"", with: "#quot;")
            out += "  s\(i)[\"\(text)\"]\n"
        }
        // The storyboard's order, top to bottom: links Mermaid does not draw.
        for (a, b) in zip(numbered, numbered.dropFirst()) { out += "  s\(a) ~~~ s\(b)\n" }
        if let cut = project.cut {
            let text = cutLabel(cut, project: project).joined(separator: "<br/>").replacingAll("\"", with: "#quot;")
            out += "  cut[[\"\(text)\"]]\n"
            for (n, clip) in cut.clips.enumerated() {
                if let i = graph.index[clip.shot] { out += "  s\(i) -->|clip \(n + 1)| cut\n" }
            }
        }
        let paths = files(graph)
        for (n, path) in paths.enumerated() {
            out += "  f\(n)[/\"\(path.replacingAll("\"", with: "#quot;"))\"/]\n"
        }
        for i in graph.order {
            for (field, input) in graph.shots[i].mediaInputs {
                guard case .file(let path) = input, let n = paths.firstIndex(of: path) else { continue }
                out += "  f\(n) -.->|\(field.wireName)| s\(i)\n"
            }
        }
        for i in graph.order {
            for d in graph.shots[i].dependencies {
                guard let u = graph.index[d.id] else { continue }
                let arrow =
                    switch d.kind {
                    case .video: "-->|\(d.field?.wireName ?? "video")|"
                    case .frame: "==>|\(edgeLabel(d, of: graph.shots[i]))|"
                    case .after: "-.->|after|"
                    }
                out += "  s\(u) \(arrow) s\(i)\n"
            }
        }
        return out
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
