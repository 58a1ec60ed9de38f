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
    /// Shot id → the pictures it starts from that are on disk (boards, frames of other shots).
    var boards: [String: [Board]] = [:]
    /// The served page's token (`review --serve`): each take gets a Pick control. nil: a static page.
    var token: String?

    /// A picture a shot is made from, on disk under the project's folder.
    struct Board: Equatable {
        /// The request's field: `image`, `end_image`, `images`.
        var field: String
        /// Relative to the project's folder.
        var path: String
    }

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
            <meta http-equiv="Content-Security-Policy" content="\(Self.policy(served: token != nil))">
            <meta name="kling-render-project" content="\(h(owner))">\(served)
            <link rel="icon" href="data:,">
            <title>\(h(project.name)) — review</title>
            <style>\(Self.style)</style>
            </head>
            <body>

            """
        out += header(rows)
        out += "<p class=\"how\" id=\"how\">\(howToPick)</p>\n"
        if token != nil { out += "<p class=\"picked-note\" id=\"picked\" role=\"status\"></p>\n" }
        if !notes.isEmpty {
            out += "<ul class=\"notes\">" + notes.map { "<li>\(h($0))</li>" }.joined() + "</ul>\n"
        }
        if let film {
            out +=
                "<section class=\"film\" id=\"film\"><h2>The cut · \(h(Cut.seconds((film.seconds * 10).rounded() / 10))) s</h2>\n"
            out += "<video controls preload=\"metadata\" src=\"\(h(relative(film.path)))\"></video>\n"
            out += clipList + "</section>\n"
        }
        out += "<main>\n"
        for shot in project.shots { out += article(shot, takes: rows[shot.id] ?? []) }
        out += "</main>\n"
        // The graph after the shots, folded: the takes come first.
        if let svg {
            out +=
                "<details class=\"graph\" id=\"graph\"><summary>Graph: what uses what</summary>\n\(svg)\n</details>\n"
        }
        return out + "</body>\n</html>\n"
    }

    /// The served page's token and script; nothing on a static page.
    private var served: String {
        guard let token else { return "" }
        return
            "\n<meta name=\"kling-render-token\" content=\"\(h(token))\">\n<script src=\"/_review/pick.js\" defer></script>"
    }

    /// No script on a static page; the served page's own script, and requests to its own origin only.
    static func policy(served: Bool) -> String {
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; media-src 'self'"
            + (served ? "; script-src 'self'; connect-src 'self'" : "")
    }

    /// The line that says how to choose.
    private var howToPick: String {
        let file = h(URL(fileURLWithPath: project.file).lastPathComponent)
        if token != nil {
            return "To choose a take, press <b>Pick</b> under it: its shot's <code>pick:</code> is set in \(file), "
                + "and <code>kling-render plan \(file)</code> then shows what it changes."
        }
        return "To choose a take: <code>kling-render pick \(file) SHOT TAKE</code>, or set <code>pick:</code> "
            + "where each shot below says; <code>kling-render review \(file) --serve</code> gives each take a Pick button."
    }

    /// The cut's clips under the film: which take, trimmed where, joined how.
    private var clipList: String {
        guard let cut = project.cut, !cut.clips.isEmpty else { return "" }
        let items = cut.clips.map { clip -> String in
            let take = clip.take ?? project.shot(clip.shot)?.pick ?? 1
            var words = ["take \(take)"]
            if clip.inPoint > 0 || clip.outPoint != nil {
                let end = clip.outPoint.map { Cut.seconds($0) + " s" } ?? "its end"
                words.append("\(Cut.seconds(clip.inPoint)) s → \(end)")
            }
            if clip.transition != .cut { words.append("\(clip.transition.written) s in") }
            return
                "<li><a href=\"\(Self.anchor(clip.shot))\">\(h(clip.shot))</a> \(h(words.joined(separator: " · ")))</li>"
        }
        return "<ol class=\"clips\">" + items.joined() + "</ol>\n"
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
        out += "<p class=\"pickline\">\(pickLine(shot))</p>\n"
        let pictures = (boards[shot.id] ?? []).map { board in
            "<figure class=\"board\"><img src=\"\(h(relative(board.path)))\" alt=\"\(h(board.field))\" loading=\"lazy\">"
                + "<figcaption>\(h(board.field)): \(h(board.path))</figcaption></figure>\n"
        }
        out += "<div class=\"takes\">\n" + pictures.joined() + takes.map(figure).joined() + "</div>\n"
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

    /// Where the shot's pick is written, or where one would go.
    private func pickLine(_ shot: Shot) -> String {
        let file = h(URL(fileURLWithPath: project.file).lastPathComponent)
        if let at = shot.pickLocation {
            return "Picked: take \(shot.pick), <code>pick: \(shot.pick)</code> at \(file):\(at.line)"
        }
        return "Picked: take 1 (no <code>pick:</code> written; the shot starts at \(file):\(shot.location.line))"
    }

    /// One take: what it is and its Pick control first, its videos (or why there are none), then
    /// what it cost and its task in small print.
    private func figure(_ row: ProjectStatus.ShotStatusRow) -> String {
        var classes = ["take", cssClass(row)]
        if row.picked { classes.append("picked") }
        var out =
            "<figure class=\"\(classes.joined(separator: " "))\" data-take=\"\(row.take)\" data-picked=\"\(row.picked)\">\n"
        var head = ["Take \(row.take)"]
        if row.picked { head.append("★ picked") }
        head.append(row.status.rawValue)
        if row.status != .notRendered, !row.current { head.append("outdated") }
        out += "<figcaption>\(head.map(h).joined(separator: " · "))"
        if token != nil, !row.picked {
            out +=
                " <button class=\"pick\" type=\"button\" data-shot=\"\(h(row.id))\" data-take=\"\(row.take)\">Pick</button>"
        }
        if let error = row.error, row.status == .failed || row.status == .uncertain {
            out += "<br><span class=\"reason\">\(h(Printable.short(error, limit: 400)))</span>"
        }
        out += "</figcaption>\n"
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
        var fine: [String] = []
        if let credits = row.consumedCredits { fine.append("\(credits.formatted) credits") }
        if let task = row.taskID { fine.append("task \(Printable.short(task, limit: 40))") }
        if !fine.isEmpty { out += "<p class=\"fine\">\(fine.map(h).joined(separator: " · "))</p>\n" }
        return out + "</figure>\n"
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
        var up = ""
        if !alreadyInOutput, !outputPath.isEmpty {
            if rest.hasPrefix(outputPath + "/") {
                rest.removeFirst(outputPath.count + 1)
            } else {
                // Outside the output folder (a board): up to the project's folder first.
                up = String(repeating: "../", count: outputPath.split(separator: "/").count)
            }
        }
        return up
            + rest.split(separator: "/").map {
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
        .graph { background: var(--card); border-radius: 10px; padding: 12px 16px; margin: 24px 0; overflow-x: auto; }
        .graph h2, .film h2 { font-size: 15px; margin: 0 0 8px; } .graph svg { max-width: 100%; height: auto; }
        .film { background: var(--card); border-radius: 10px; padding: 12px 16px; margin-bottom: 24px; }
        .film video { width: 100%; max-width: 640px; border-radius: 6px; background: #000; display: block; }
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
        figcaption { font-size: 14px; margin: 0 0 6px; } .take.picked figcaption { font-weight: 600; }
        .fine { font-size: 11px; color: var(--dim); margin: 6px 0 0; word-break: break-all; }
        .board { margin: 0; padding: 8px; border-radius: 8px; background: #8881; }
        .board img { width: 100%; aspect-ratio: 16 / 9; object-fit: contain; background: #0004; border-radius: 4px; display: block; }
        .board figcaption { font-size: 12px; color: var(--dim); margin: 6px 0 0; word-break: break-all; }
        .pick { font: inherit; font-size: 13px; font-weight: 600; margin-left: 8px; padding: 2px 12px; border-radius: 12px; border: 1px solid var(--pick); background: transparent; color: inherit; cursor: pointer; }
        .pick:hover { background: var(--pick); color: #000; } .pick:disabled { opacity: 0.5; cursor: wait; }
        .how { font-size: 14px; margin: 0 0 16px; } .pickline { font-size: 13px; color: var(--dim); margin: 0 0 10px; }
        .picked-note:empty { display: none; } .picked-note { position: sticky; top: 8px; z-index: 1; background: var(--card); box-shadow: 0 2px 8px #0003; border-left: 4px solid var(--pick); padding: 8px 12px; border-radius: 6px; font-family: ui-monospace, monospace; font-size: 13px; }
        .picked-note.failed { border-color: #cf222e; }
        .clips { font-size: 13px; color: var(--dim); margin: 10px 0 0; padding-left: 20px; } .clips a { color: inherit; }
        details.graph summary { cursor: pointer; font-weight: 600; }
        .reason { font-weight: normal; color: #cf222e; }
        .request { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; margin: 12px 0 0; }
        .request dt { color: var(--dim); } .request dd { margin: 0; word-break: break-all; }
        .uses, .shot-notes { font-size: 13px; color: var(--dim); margin: 8px 0 0; }
        """
}
