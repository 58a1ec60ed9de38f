import Foundation
import KlingRenderCore

/// The review page's HTML: a pure function of the project, its status and what was made for it.
/// Every text from outside (the manifest's errors, task ids) is escaped; links are relative to
/// the output folder, where the page lives.
struct ReviewHTML {
    var project: Project
    /// The project file's name: whose page this is.
    var owner: String
    var status: ProjectStatus
    /// The output folder relative to the project's folder ("" for the folder itself).
    var outputPath: String
    /// Video path (relative to the project's folder) → poster (relative to the output folder).
    var posters: [String: String]
    var svg: String?
    var notes: [String]
    var simulated: Bool
    /// The film assembled from the shots, when it is on disk as recorded: its path and length.
    var film: (path: String, seconds: Double)?

    /// The anchor of a shot on the page.
    static func anchor(_ id: String) -> String { "#shot-\(id)" }

    func render() -> String {
        let rows = Dictionary(grouping: status.shots, by: \.id)
        var out = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; media-src 'self'">
            <meta name="kling-render-project" content="\(h(owner))">
            <link rel="icon" href="data:,">
            <title>\(h(project.name)) — review</title>
            <style>\(Self.style)</style>
            </head>
            <body>

            """
        out += header(rows)
        if !notes.isEmpty {
            out += "<ul class=\"notes\">" + notes.map { "<li>\(h($0))</li>" }.joined() + "</ul>\n"
        }
        if let film {
            out +=
                "<section class=\"film\" id=\"film\"><h2>The cut · \(h(Cut.seconds((film.seconds * 10).rounded() / 10))) s</h2>\n"
            out += "<video controls preload=\"metadata\" src=\"\(h(relative(film.path)))\"></video>\n</section>\n"
        }
        if let svg { out += "<section class=\"graph\" id=\"graph\"><h2>Graph</h2>\n\(svg)\n</section>\n" }
        out += "<main>\n"
        for shot in project.shots { out += article(shot, takes: rows[shot.id] ?? []) }
        return out + "</main>\n</body>\n</html>\n"
    }

    private func header(_ rows: [String: [ProjectStatus.ShotStatusRow]]) -> String {
        let takes = status.shots.filter { $0.status != .notRendered }
        let shots = project.shots.count
        // The spend to date, superseded renders included (the ledger), against the budget.
        let budget = status.budget.map { " of \($0.formatted) budgeted" } ?? ""
        var facts = [
            "\(shots) shot\(shots == 1 ? "" : "s")", "\(takes.count) take\(takes.count == 1 ? "" : "s") rendered",
            "\(status.spentCredits.formatted) credits spent to date\(budget)",
        ]
        if simulated { facts.append("rehearsal against the simulator") }
        return """
            <header><h1>\(h(project.name))</h1><p>\(h(project.file)) · \(facts.map(h).joined(separator: " · "))</p></header>

            """
    }

    private func article(_ shot: Shot, takes: [ProjectStatus.ShotStatusRow]) -> String {
        let picked = takes.first { $0.picked }
        let state = picked?.status.rawValue ?? "not rendered"
        var out =
            "<article class=\"shot\" id=\"shot-\(h(shot.id))\" data-shot=\"\(h(shot.id))\" data-status=\"\(h(state))\">\n"
        let length = shot.seconds.map { "\($0) s" } ?? "as long as its source"
        out +=
            "<h2><a href=\"\(Self.anchor(shot.id))\">\(h(shot.id))</a> <span class=\"type\">\(h(shot.type.name))</span>"
        out +=
            " <span class=\"length\">\(h(length))</span> <span class=\"state \(cssClass(picked))\">\(h(state))</span></h2>\n"
        let request = shot.request { $0.written }
        if case .string(let prompt)? = request["prompt"] { out += "<p class=\"prompt\">\(h(prompt))</p>\n" }
        out += "<div class=\"takes\">\n" + takes.map(figure).joined() + "</div>\n"
        let fields = request.keys.sorted().filter { $0 != "prompt" && $0 != "type" }
        if !fields.isEmpty {
            out += "<dl class=\"request\">"
            for key in fields { out += "<dt>\(h(key))</dt><dd>\(h(request[key].map(Self.text) ?? ""))</dd>" }
            out += "</dl>\n"
        }
        if !shot.dependencies.isEmpty {
            let uses = shot.dependencies.map { d -> String in
                let take = project.shot(d.id).map { $0.pick == 1 ? "" : ", take \($0.pick)" } ?? ""
                let what =
                    switch d.kind {
                    case .video: "\(d.field?.wireName ?? "video"): its video\(take)"
                    case .frame: "\(d.field?.wireName ?? "image"): a frame of it\(take)"
                    case .after: "after it"
                    }
                return "<a href=\"\(Self.anchor(d.id))\">\(h(d.id))</a> (\(h(what)))"
            }
            out += "<p class=\"uses\">Uses " + uses.joined(separator: ", ") + "</p>\n"
        }
        if let notes = shot.notes, !notes.isEmpty { out += "<p class=\"shot-notes\">\(h(notes))</p>\n" }
        return out + "</article>\n"
    }

    /// One take: its videos (or why there are none), and what it is.
    private func figure(_ row: ProjectStatus.ShotStatusRow) -> String {
        var classes = ["take", cssClass(row)]
        if row.picked { classes.append("picked") }
        var out =
            "<figure class=\"\(classes.joined(separator: " "))\" data-take=\"\(row.take)\" data-picked=\"\(row.picked)\">\n"
        let playable = row.files.filter { $0.state == .ok }
        for file in playable {
            let poster = posters[file.path].map { " poster=\"\(h(relative($0, alreadyInOutput: true)))\"" } ?? ""
            out += "<video controls preload=\"metadata\"\(poster) src=\"\(h(relative(file.path)))\"></video>\n"
        }
        if playable.isEmpty {
            let why =
                switch row.status {
                case .notRendered: "not rendered yet"
                case .submitting, .running: "rendering"
                case .failed: "failed"
                case .uncertain: "uncertain"
                case .succeeded: row.files.isEmpty ? "no file downloaded" : "its file is not on disk as recorded"
                }
            out += "<div class=\"empty\">\(h(why))</div>\n"
        }
        var caption = ["Take \(row.take)"]
        if row.picked { caption.append("★ picked") }
        caption.append(row.status.rawValue)
        if row.status != .notRendered, !row.current { caption.append("outdated") }
        if let credits = row.consumedCredits { caption.append("\(credits.formatted) credits") }
        if let task = row.taskID { caption.append("task \(Printable.short(task, limit: 40))") }
        out += "<figcaption>\(caption.map(h).joined(separator: " · "))"
        if let error = row.error, row.status == .failed || row.status == .uncertain {
            out += "<br><span class=\"reason\">\(h(Printable.short(error, limit: 400)))</span>"
        }
        return out + "</figcaption>\n</figure>\n"
    }

    private func cssClass(_ row: ProjectStatus.ShotStatusRow?) -> String {
        switch row?.status {
        case .succeeded?: row?.current == true ? "ok" : "outdated"
        case .failed?: "failed"
        case .uncertain?: "uncertain"
        case .running?, .submitting?: "running"
        case .notRendered?, nil: "pending"
        }
    }

    /// A path under the project's folder as a link from the output folder, each segment escaped.
    private func relative(_ path: String, alreadyInOutput: Bool = false) -> String {
        var rest = path
        if !alreadyInOutput, !outputPath.isEmpty, rest.hasPrefix(outputPath + "/") {
            rest.removeFirst(outputPath.count + 1)
        }
        return rest.split(separator: "/").map {
            $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/", ":", ";", "?", "#"]))
                ?? ""
        }.joined(separator: "/")
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): s
        case .array(let items): items.map(text).joined(separator: ", ")
        default: value.summary
        }
    }

    private func h(_ text: String) -> String { Self.escape(text) }

    /// HTML-escaped, and no control character or bidi override (a manifest's text is data from outside).
    static func escape(_ text: String) -> String { Markup.escape(Printable.escaped(text)) }

    static let style = """
        :root { color-scheme: light dark; --fg: #1d1d1f; --bg: #f5f5f7; --card: #fff; --dim: #6e6e73; --pick: #d4a017; }
        @media (prefers-color-scheme: dark) { :root { --fg: #f5f5f7; --bg: #111; --card: #1c1c1e; --dim: #98989d; } }
        body { font: 15px/1.45 -apple-system, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1400px; padding: 24px; }
        header h1 { margin: 0 0 4px; font-size: 26px; } header p { margin: 0 0 16px; color: var(--dim); }
        .notes { color: var(--dim); font-size: 13px; }
        .graph { background: var(--card); border-radius: 10px; padding: 12px 16px; margin-bottom: 24px; overflow-x: auto; }
        .graph h2, .film h2 { font-size: 15px; margin: 0 0 8px; } .graph svg { max-width: 100%; height: auto; }
        .film { background: var(--card); border-radius: 10px; padding: 12px 16px; margin-bottom: 24px; }
        .film video { width: 100%; max-width: 960px; border-radius: 6px; background: #000; display: block; }
        .shot { background: var(--card); border-radius: 10px; padding: 16px; margin-bottom: 20px; }
        .shot h2 { font-size: 18px; margin: 0 0 6px; } .shot h2 a { color: inherit; text-decoration: none; }
        .type, .length { font-size: 13px; font-weight: normal; color: var(--dim); margin-left: 8px; }
        .state { font-size: 12px; font-weight: 600; padding: 2px 8px; border-radius: 10px; margin-left: 8px; background: #8883; }
        .state.ok { background: #2da44e33; } .state.failed { background: #cf222e44; } .state.uncertain { background: #bf870044; } .state.outdated { background: #bf870033; }
        .prompt { font-size: 16px; margin: 4px 0 12px; }
        .takes { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
        .take { margin: 0; padding: 8px; border: 2px solid transparent; border-radius: 8px; background: #8881; }
        .take.picked { border-color: var(--pick); }
        .take video { width: 100%; border-radius: 4px; background: #000; display: block; }
        .take .empty { aspect-ratio: 16 / 9; display: flex; align-items: center; justify-content: center; color: var(--dim); background: #8882; border-radius: 4px; }
        .take.failed .empty, .take.uncertain .empty { color: #cf222e; }
        figcaption { font-size: 13px; color: var(--dim); margin-top: 6px; } .take.picked figcaption { color: var(--fg); font-weight: 600; }
        .reason { font-weight: normal; color: #cf222e; }
        .request { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; margin: 12px 0 0; }
        .request dt { color: var(--dim); } .request dd { margin: 0; word-break: break-all; }
        .uses, .shot-notes { font-size: 13px; color: var(--dim); margin: 8px 0 0; }
        """
}
