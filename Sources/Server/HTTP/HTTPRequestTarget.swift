// The request-target of a request line (RFC 9112 §3.2), split into path and query, with the percent-decoded
// path segments and query items the routes use. Characters are checked against RFC 3986's grammar here,
// once, so that routes only ever see a validated target.

/// One `name=value` pair of a query string, percent-decoded.
struct HTTPQueryItem: Sendable, Equatable {
    var name: String
    /// The decoded value; empty for `name` and `name=`.
    var value: String
}

/// A validated request-target.
///
/// Accepted forms (RFC 9112 §3.2):
/// - origin-form `/path?query`, what clients send to an origin server (§3.2.1);
/// - absolute-form `http://host/path?query`, which "a server MUST accept" (§3.2.2); only its path and query
///   are kept, the authority is checked for stray characters and otherwise ignored (we serve one host);
/// - asterisk-form `*`, only with `OPTIONS` (§3.2.4).
/// Authority-form (`host:port`, for `CONNECT`, §3.2.3) is rejected: we are not a proxy.
struct HTTPRequestTarget: Sendable, Equatable {
    /// The target exactly as sent.
    var raw: String
    /// The path as sent, still percent-encoded: `/jobs/a%20b`; `*` for asterisk-form. Routes can match
    /// on it directly because the target grammar was checked.
    var path: String
    /// The query as sent, without the `?`, still encoded; nil when the target has no `?`.
    var query: String?
    /// The path split on `/`, each segment percent-decoded; empty segments are dropped, so `/a//b/` gives
    /// `["a", "b"]`. An encoded slash (`%2F`) stays inside its segment.
    var pathComponents: [String]
    /// The query's `&`-separated items, `+` read as a space and percent-decoded, as HTML forms encode them
    /// (application/x-www-form-urlencoded); empty items are dropped.
    var queryItems: [HTTPQueryItem]

    /// Parses and validates a request-target; nil when it is not one of the accepted forms, holds a byte
    /// outside RFC 3986's `pchar / "/" / "?"` (§3.3, §3.4; so no fragment, space, `"`, `<`, `>`, `\`, `^`,
    /// `` ` ``, `{`, `|`, `}`, control or non-ASCII byte), has a `%` not followed by two hex digits (§2.1)
    /// or decodes to something that is not UTF-8.
    init?(_ bytes: ArraySlice<UInt8>, method: HTTPMethod) {
        guard let first = bytes.first else { return nil }
        var pathAndQuery = bytes
        if first == UInt8(ascii: "*") {
            guard bytes.count == 1, method == .options else { return nil }
            self.init(raw: "*", path: "*", query: nil, pathComponents: [], queryItems: [])
            return
        } else if first != UInt8(ascii: "/") {
            guard let rest = Self.stripAbsoluteFormPrefix(bytes) else { return nil }
            pathAndQuery = rest
        }
        guard pathAndQuery.allSatisfy(Self.isPathOrQueryByte), PercentDecoding.isWellFormed(pathAndQuery)
        else { return nil }
        let questionMark = pathAndQuery.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = pathAndQuery[..<(questionMark ?? pathAndQuery.endIndex)]
        let queryBytes = questionMark.map { pathAndQuery[($0 + 1)...] }

        var components: [String] = []
        for segment in pathBytes.split(separator: UInt8(ascii: "/")) {
            guard let decoded = PercentDecoding.decode(segment, plusIsSpace: false) else { return nil }
            components.append(decoded)
        }
        var items: [HTTPQueryItem] = []
        for item in queryBytes?.split(separator: UInt8(ascii: "&")) ?? [] {
            let equals = item.firstIndex(of: UInt8(ascii: "="))
            let nameBytes = item[..<(equals ?? item.endIndex)]
            let valueBytes = equals.map { item[($0 + 1)...] } ?? item[item.endIndex...]
            guard let name = PercentDecoding.decode(nameBytes, plusIsSpace: true),
                let value = PercentDecoding.decode(valueBytes, plusIsSpace: true)
            else { return nil }
            items.append(HTTPQueryItem(name: name, value: value))
        }
        self.init(
            raw: String(decoding: bytes, as: UTF8.self),
            path: pathBytes.isEmpty ? "/" : String(decoding: pathBytes, as: UTF8.self),
            query: queryBytes.map { String(decoding: $0, as: UTF8.self) },
            pathComponents: components, queryItems: items)
    }

    init(raw: String, path: String, query: String?, pathComponents: [String], queryItems: [HTTPQueryItem]) {
        self.raw = raw
        self.path = path
        self.query = query
        self.pathComponents = pathComponents
        self.queryItems = queryItems
    }

    /// For absolute-form `http://authority/rest` (scheme case-insensitive, RFC 3986 §3.1), the bytes from
    /// the path on (possibly empty, read as `/`); nil for any other scheme or a malformed authority.
    private static func stripAbsoluteFormPrefix(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let lowered = bytes.prefix(8).map(HTTPSyntax.lowercaseASCII)
        let schemeLength: Int
        if lowered.starts(with: Array("http://".utf8)) {
            schemeLength = 7
        } else if lowered.starts(with: Array("https://".utf8)) {
            schemeLength = 8
        } else {
            return nil
        }
        let afterScheme = bytes.dropFirst(schemeLength)
        let authorityEnd =
            afterScheme.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard !authority.isEmpty, authority.allSatisfy(isAuthorityByte) else { return nil }
        return afterScheme[authorityEnd...]
    }

    /// `pchar / "/" / "?"` without the `pct-encoded` check (RFC 3986 §3.3, §3.4): unreserved, sub-delims,
    /// `:`, `@`, `/`, `?` and `%`.
    static func isPathOrQueryByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),  // unreserved
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="),  // sub-delims
            UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "%"):
            return true
        default:
            return false
        }
    }

    /// Bytes of `userinfo@host:port`, IP literals included (RFC 3986 §3.2).
    static func isAuthorityByte(_ byte: UInt8) -> Bool {
        byte != UInt8(ascii: "/") && byte != UInt8(ascii: "?")
            && (isPathOrQueryByte(byte) || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]"))
    }
}
