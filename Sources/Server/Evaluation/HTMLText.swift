// Escaping for the hand-written HTML and SVG of the evaluation report: any text (label and file names come
// from the user's folders) lands in the page as text, never as markup.

/// Escaping for text and attribute values in HTML and SVG.
enum HTMLText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
