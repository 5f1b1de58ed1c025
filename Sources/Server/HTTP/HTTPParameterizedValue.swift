// Field values of the form `value; name=token; name="quoted string"` (RFC 9110 §5.6.6 parameters,
// §5.6.4 quoted-string), as in `Content-Type: multipart/form-data; boundary=…` and
// `Content-Disposition: form-data; name="file"; filename="crack/007.png"`.

/// A field value with parameters. Parameter names are lowercased (they are case-insensitive, RFC 9110
/// §5.6.6); values are returned as sent, with quoted-string quoting and `\` escapes removed.
struct HTTPParameterizedValue: Sendable, Equatable {
    /// The part before the first `;`: a token, or `type/subtype` for media types (RFC 9110 §8.3.1).
    var value: String
    /// Parameters by lowercased name.
    var parameters: [String: String]

    /// The value of parameter `name` (any case), or nil.
    func parameter(_ name: String) -> String? {
        parameters[name.lowercased()]
    }

    /// Parses `value *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] )`; nil when `text` does not
    /// match, a parameter is repeated (which would leave its meaning ambiguous), or a value is not UTF-8.
    /// No whitespace is allowed around `=`, as in the grammar.
    init?(_ text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, HTTPSyntax.isWhitespace(bytes[index]) { index += 1 }
        }
        func readToken(allowSlash: Bool = false) -> String? {
            let start = index
            while index < bytes.count,
                HTTPSyntax.isTokenByte(bytes[index]) || (allowSlash && bytes[index] == UInt8(ascii: "/"))
            {
                index += 1
            }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }

        skipWhitespace()
        guard let value = readToken(allowSlash: true) else { return nil }
        var parameters: [String: String] = [:]
        while true {
            skipWhitespace()
            guard index < bytes.count else { break }
            guard bytes[index] == UInt8(ascii: ";") else { return nil }
            index += 1
            skipWhitespace()
            if index == bytes.count || bytes[index] == UInt8(ascii: ";") { continue }  // empty parameter
            guard let name = readToken()?.lowercased(), index < bytes.count, bytes[index] == UInt8(ascii: "=")
            else { return nil }
            index += 1
            let parameterValue: String?
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                parameterValue = Self.readQuotedString(bytes, &index)
            } else {
                parameterValue = readToken()
            }
            guard let parameterValue, parameters[name] == nil else { return nil }
            parameters[name] = parameterValue
        }
        self.value = value
        self.parameters = parameters
    }

    /// Reads `DQUOTE *( qdtext / quoted-pair ) DQUOTE` starting at the opening quote (RFC 9110 §5.6.4):
    /// `qdtext` is HTAB, SP and visible characters but `"` and `\`, plus obs-text; `quoted-pair` is `\`
    /// followed by HTAB, SP, VCHAR or obs-text, standing for that character.
    private static func readQuotedString(_ bytes: [UInt8], _ index: inout Int) -> String? {
        var decoded: [UInt8] = []
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return HTTPSyntax.utf8String(decoded)
            case UInt8(ascii: "\\"):
                guard index < bytes.count, HTTPSyntax.isFieldValueByte(bytes[index]) else { return nil }
                decoded.append(bytes[index])
                index += 1
            default:
                guard HTTPSyntax.isFieldValueByte(byte) else { return nil }
                decoded.append(byte)
            }
        }
        return nil  // no closing quote
    }
}
