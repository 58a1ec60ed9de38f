/// Text from outside — a manifest, an answer of the API, a project name — shown to a person.
///
/// A terminal obeys the control characters in what it prints: a newline can forge a line of
/// output, an escape sequence can recolour, move the cursor or retitle the window, and a bidi
/// override can reorder what is read. Every human view passes such data through `escaped`, which
/// spells those characters out (`\n`, `\u{1B}`) and leaves the rest as it was.
package enum Printable {
    package static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return out
    }

    /// C0 and C1 controls, DEL, the bidi embedding, override and isolate characters, and the
    /// invisible ones (zero-width spaces and joiners, line and paragraph separators, BOM).
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x200B...0x200F, 0x061C, 0x2028, 0x2029,
            0x2060...0x2064, 0xFEFF:
            true
        default: false
        }
    }

    /// At most `limit` characters, with `…` when cut: for echoing untrusted text of any length.
    package static func short(_ text: String, limit: Int = 200) -> String {
        let cut = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return escaped(cut)
    }
}

/// Text as the content or an attribute value of HTML and XML: `&`, `<`, `>`, `"` and `'` as
/// references, and no control character XML 1.0 cannot hold (tab and line ends stay).
package enum Markup {
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            // What XML 1.0 forbids (C0 controls, U+FFFE, U+FFFF) becomes U+FFFD: a file an
            // editor can still open, with the place of the character shown.
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out.unicodeScalars.append("\u{FFFD}")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
