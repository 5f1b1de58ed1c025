// JSON string literals for the bodies we write by hand (error replies): RFC 8259 §7 escaping, so that any
// text, including client-supplied names echoed in messages, lands in the JSON as data.

/// JSON string escaping.
enum JSONString {
    /// `text` as a JSON string literal, quotes included. Escapes `"` and `\`, every control character
    /// U+0000–U+001F (RFC 8259 §7 requires these), and U+2028/U+2029 so the result is also a valid
    /// JavaScript literal. Everything else, non-ASCII included, is written as UTF-8.
    static func quoted(_ text: String) -> String {
        // Most strings (ids, names, codes) are printable ASCII with nothing to escape: copy them whole.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C }) {
            return "\"" + text + "\""
        }
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\u{2028}": result += "\\u2028"
            case "\u{2029}": result += "\\u2029"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
