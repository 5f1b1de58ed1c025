// Byte classes of the HTTP grammar (RFC 9110 §5.5, §5.6), shared by the request parser, the response
// writer and the multipart parser. Each predicate quotes the ABNF it implements so the two can be compared.

/// The character classes of RFC 9110's ABNF, as predicates on single bytes.
enum HTTPSyntax {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
    /// / DIGIT / ALPHA` (RFC 9110 §5.6.2). Field names, methods and transfer codings are `1*tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `token = 1*tchar` (RFC 9110 §5.6.2).
    static func isToken<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isTokenByte)
    }

    /// A byte allowed inside a field value: `field-vchar = VCHAR / obs-text` plus SP and HTAB between them
    /// (RFC 9110 §5.5). Everything else is a control character: CR, LF and NUL are "invalid and dangerous"
    /// (§5.5), and the other controls are outside the grammar, so both are rejected, not replaced.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// `OWS = *( SP / HTAB )` (RFC 9110 §5.6.3).
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    /// `bytes` without leading and trailing OWS (RFC 9110 §5.5: field values exclude surrounding whitespace).
    static func trimmingWhitespace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let first = bytes.firstIndex(where: { !isWhitespace($0) }),
            let last = bytes.lastIndex(where: { !isWhitespace($0) })
        else { return bytes[bytes.endIndex...] }
        return bytes[first...last]
    }

    /// The value of an ASCII hex digit, or nil.
    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }

    /// Splits a list-valued field (`#element`, RFC 9110 §5.6.1) on commas, trims OWS from each element and
    /// drops empty elements, which a recipient "MUST parse and ignore" (§5.6.1.2). Elements are lowercased,
    /// for the fields we read this way (`Transfer-Encoding`, `Connection`, `Expect`) compare
    /// case-insensitively.
    static func lowercasedListElements(_ values: [String]) -> [String] {
        values.flatMap { value in
            value.split(separator: ",", omittingEmptySubsequences: false)
                .map { String(decoding: trimmingWhitespace(ArraySlice($0.utf8)), as: UTF8.self).lowercased() }
                .filter { !$0.isEmpty }
        }
    }

    /// ASCII case-insensitive equality, for field names and other tokens (RFC 9110 §5.1: field names are
    /// case-insensitive).
    static func equalsIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).allSatisfy { lowercaseASCII($0) == lowercaseASCII($1) }
    }

    /// `bytes` as text if they are valid UTF-8, else nil. (Decoding replaces invalid sequences with U+FFFD,
    /// so a lossless round trip means the bytes were valid; `String(validating:as:)` would do the same but
    /// needs macOS 15, and the package still declares macOS 14.)
    static func utf8String<C: Collection<UInt8>>(_ bytes: C) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }

    /// `byte` with A–Z mapped to a–z.
    static func lowercaseASCII(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 0x20 : byte
    }
}
