// Percent-decoding of URI components (RFC 3986 §2.1), for request paths and query strings. Decoding is
// strict: a `%` must be followed by two hex digits and the decoded bytes must be UTF-8, or the caller
// rejects the request rather than guessing.

/// Percent-decoding helpers.
enum PercentDecoding {
    /// Whether every `%` in `bytes` starts a `pct-encoded` triplet, `"%" HEXDIG HEXDIG` (RFC 3986 §2.1).
    static func isWellFormed(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, HTTPSyntax.hexValue(bytes[index + 1]) != nil,
                    HTTPSyntax.hexValue(bytes[index + 2]) != nil
                else { return false }
                index += 3
            } else {
                index += 1
            }
        }
        return true
    }

    /// The decoded text of `bytes`, or nil when a `%` is not followed by two hex digits or the result is not
    /// UTF-8.
    /// - Parameter plusIsSpace: read `+` as a space, as application/x-www-form-urlencoded query strings
    ///   do (the WHATWG URL Standard's urlencoded parser); in paths `+` is itself.
    static func decode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = HTTPSyntax.hexValue(bytes[index + 1]),
                    let low = HTTPSyntax.hexValue(bytes[index + 2])
                else { return nil }
                decoded.append(UInt8(high * 16 + low))
                index += 3
            } else {
                decoded.append(plusIsSpace && byte == UInt8(ascii: "+") ? HTTPSyntax.space : byte)
                index += 1
            }
        }
        return HTTPSyntax.utf8String(decoded)
    }
}
