// Header fields of a request or response: kept in the order received, with repeated names kept as separate
// fields, looked up case-insensitively (RFC 9110 §5.1, §5.3). Small on purpose: no folding of repeated
// fields into one value, because that is only valid for list-valued fields (§5.3) and callers know which.

/// One field line: name and value as received (value without surrounding whitespace).
struct HTTPField: Sendable, Equatable {
    var name: String
    var value: String
}

/// An ordered list of header fields with case-insensitive lookup.
struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields in the order they were received or added.
    private(set) var fields: [HTTPField] = []

    init() {}

    /// Fields from `(name, value)` pairs, in order.
    init(_ pairs: [(String, String)]) {
        fields = pairs.map { HTTPField(name: $0.0, value: $0.1) }
    }

    init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Number of field lines (a repeated name counts once per line).
    var count: Int { fields.count }

    /// Appends a field, keeping any earlier field of the same name.
    mutating func add(name: String, value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    /// Removes every field named `name` (any case), then appends one.
    mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    /// Removes every field named `name` (any case).
    mutating func remove(name: String) {
        fields.removeAll { HTTPSyntax.equalsIgnoringASCIICase($0.name, name) }
    }

    /// The value of the first field named `name` (any case), or nil.
    subscript(name: String) -> String? {
        fields.first { HTTPSyntax.equalsIgnoringASCIICase($0.name, name) }?.value
    }

    /// The values of every field named `name` (any case), in order.
    func values(for name: String) -> [String] {
        fields.filter { HTTPSyntax.equalsIgnoringASCIICase($0.name, name) }.map(\.value)
    }

    /// Whether any field is named `name` (any case).
    func contains(_ name: String) -> Bool {
        fields.contains { HTTPSyntax.equalsIgnoringASCIICase($0.name, name) }
    }

    func makeIterator() -> IndexingIterator<[HTTPField]> {
        fields.makeIterator()
    }
}
