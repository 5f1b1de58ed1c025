// The options of a clustering job, as a client sends them: a JSON object (multipart `options` part) or
// query parameters (tar uploads). Every name and value is checked here, once, so that an unknown option
// or a bad value is a 400 naming it, and the worker only ever sees valid options.
import Engine
import Foundation

/// What a job computes. Encoded back to JSON in the job resource.
struct JobOptions: Equatable, Sendable {
    var backbone: String
    /// nil: semi-supervised when the job has normal references, else unsupervised (see `resolving`).
    var mode: PatchWeightMode?
    /// Softmax temperature τ ≥ 0 (distance units); nil: the backbone's default for the mode, set by `resolving`.
    var tau: Double?
    /// nil: the number of distinct labels when the images are labelled, else automatic.
    var clusters: ClusterCount?
    var exclude: [String]
    /// Override the backbone's resize / crop (pixels).
    var resize: Int?
    var crop: Int?
    /// The nearest-patch search: nil or .exact (the default), .auto (the server picks M and d under its
    /// search budget; resolved at upload), or .scalable with `references` and/or `projection`.
    var search: SearchOption?
    /// Sampled references per image (scalable search).
    var references: Int?
    /// Random projection dimensions (scalable search).
    var projection: Int?
    /// Seed of the sampling and projection (default 0).
    var seed: Int?

    enum SearchOption: String, Sendable {
        case exact, auto, scalable
    }

    static let names: Set<String> = [
        "backbone", "mode", "tau", "clusters", "exclude", "resize", "crop", "search", "references", "projection", "seed",
    ]

    /// The engine's search for these options; `.auto` must have been resolved first.
    var neighbourSearch: NeighbourSearch {
        precondition(search != .auto, "search 'auto' is resolved at upload")
        guard references != nil || projection != nil else { return .exact }
        return NeighbourSearch(references: references, projection: projection, seed: UInt64(seed ?? 0))
    }
    /// Largest options document accepted.
    static let maxBytes = 64 << 10

    /// The defaults: the given backbone (else the registry's default); mode and τ from the upload and the
    /// backbone (`resolving`).
    static func defaults(_ registry: BackboneRegistry, backbone: String? = nil) -> JobOptions {
        JobOptions(backbone: backbone ?? registry.defaultBackbone, mode: nil, tau: nil, clusters: nil, exclude: [], resize: nil, crop: nil)
    }

    init(
        backbone: String, mode: PatchWeightMode?, tau: Double?, clusters: ClusterCount?, exclude: [String],
        resize: Int?, crop: Int?, search: SearchOption? = nil, references: Int? = nil, projection: Int? = nil,
        seed: Int? = nil
    ) {
        (self.backbone, self.mode, self.tau, self.clusters, self.exclude) = (backbone, mode, tau, clusters, exclude)
        (self.resize, self.crop, self.search, self.references, self.projection, self.seed) = (resize, crop, search, references, projection, seed)
    }

    /// With the mode decided — semi-supervised when normal references came with the images, else
    /// unsupervised — and τ, when not given, the backbone's registry value for that mode (τ is in distance
    /// units, whose scale depends on the backbone and on what the distances are to).
    func resolving(hasNormals: Bool, registry: BackboneRegistry) -> JobOptions {
        var options = self
        let mode = mode ?? (hasNormals ? .semiSupervised : .unsupervised)
        options.mode = mode
        // 2, the reference's setting, only for a backbone the registry no longer lists (the job then fails on it).
        options.tau = tau ?? (try? registry.spec(named: backbone))?.tau.value(for: mode) ?? 2
        return options
    }

    /// The JSON object `parse(json:)` reads back (the stored and reported form); unset fields are left out.
    var json: String {
        var fields = ["\"backbone\": \(JSONString.quoted(backbone))"]
        if let mode { fields.append("\"mode\": \(JSONString.quoted(mode.rawValue))") }
        if let tau { fields.append("\"tau\": \(tau)") }
        switch clusters {
        case .fixed(let k)?: fields.append("\"clusters\": \(k)")
        case .automatic?: fields.append("\"clusters\": \"auto\"")
        case nil: break
        }
        if !exclude.isEmpty { fields.append("\"exclude\": [" + exclude.map(JSONString.quoted).joined(separator: ", ") + "]") }
        if let resize { fields.append("\"resize\": \(resize)") }
        if let crop { fields.append("\"crop\": \(crop)") }
        if let search { fields.append("\"search\": \(JSONString.quoted(search.rawValue))") }
        if let references { fields.append("\"references\": \(references)") }
        if let projection { fields.append("\"projection\": \(projection)") }
        if let seed { fields.append("\"seed\": \(seed)") }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// Options from a JSON object; absent fields keep their defaults.
    static func parse(json data: [UInt8], registry: BackboneRegistry, defaultBackbone: String? = nil) throws(JobOptionsError) -> JobOptions {
        guard data.count <= maxBytes else { throw .invalid("options exceed \(maxBytes) bytes") }
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(data)) else {
            throw .invalid("options must be a JSON object")
        }
        var fields = [String: Field]()
        for (name, value) in object {
            switch value {
            case .number(let n): fields[name] = .number(n)
            case .unrepresentableNumber: fields[name] = .unrepresentableNumber
            case .string(let s): fields[name] = .text(s)
            case .array(let items):
                let strings = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
                fields[name] = .list(strings.count == items.count ? strings : nil)
            case .other: fields[name] = .other
            }
        }
        return try build(fields, registry: registry, defaultBackbone: defaultBackbone)
    }

    /// Options from query parameters (`?mode=average&exclude=combined&exclude=other`).
    static func parse(query items: [(name: String, value: String)], registry: BackboneRegistry, defaultBackbone: String? = nil) throws(JobOptionsError) -> JobOptions {
        var fields = [String: Field]()
        for (name, value) in items {
            if name == "exclude" {
                if case .list(let existing?) = fields[name] { fields[name] = .list(existing + [value]) } else { fields[name] = .list([value]) }
            } else {
                guard fields[name] == nil else { throw .invalid("option '\(name)' is given more than once") }
                fields[name] = Double(value).map { .number($0) } ?? .text(value)
            }
        }
        return try build(fields, registry: registry, defaultBackbone: defaultBackbone)
    }

    /// One option's value, whatever the source.
    enum Field: Equatable {
        case number(Double)
        case text(String)
        case list([String]?)  // nil: a list with a non-string element
        case unrepresentableNumber
        case other
    }

    private static func build(_ fields: [String: Field], registry: BackboneRegistry, defaultBackbone: String?) throws(JobOptionsError) -> JobOptions {
        let unknown = Set(fields.keys).subtracting(names).sorted()
        guard unknown.isEmpty else {
            throw .unknownOptions("unknown option(s): \(unknown.joined(separator: ", ")); known: \(names.sorted().joined(separator: ", "))")
        }
        var options = defaults(registry, backbone: defaultBackbone)
        for (name, field) in fields {
            switch (name, field) {
            case ("backbone", .text(let value)):
                guard registry.backbones.contains(where: { $0.name == value }) else {
                    throw .invalid("unknown backbone '\(value)'; known: \(registry.backbones.map(\.name).joined(separator: ", "))")
                }
                options.backbone = value
            case ("mode", .text(let value)):
                guard let mode = PatchWeightMode(name: value) else {
                    throw .invalid("option 'mode' must be unsupervised, semi-supervised (or supervised) or average; got '\(value)'")
                }
                options.mode = mode
            case ("tau", .number(let value)):
                guard value >= 0, value.isFinite else { throw .invalid("option 'tau' must be a finite number ≥ 0; got \(value)") }
                options.tau = value
            case ("clusters", .text("auto")):
                options.clusters = .automatic(maxClusters: 20)
            case ("clusters", .number(let value)):
                guard value >= 1, value <= 10_000, value == value.rounded() else {
                    throw .invalid("option 'clusters' must be 'auto' or an integer from 1 to 10000; got \(value)")
                }
                options.clusters = .fixed(Int(value))
            case ("exclude", .list(let labels?)):
                options.exclude = labels
            case ("exclude", .text(let label)):
                options.exclude = [label]
            case ("resize", .number(let value)), ("crop", .number(let value)):
                guard value >= 1, value <= Double(Preprocessing.maxSize), value == value.rounded() else {
                    throw .invalid("option '\(name)' must be an integer from 1 to \(Preprocessing.maxSize); got \(value)")
                }
                if name == "resize" { options.resize = Int(value) } else { options.crop = Int(value) }
            case ("search", .text(let value)):
                guard let search = SearchOption(rawValue: value) else {
                    throw .invalid("option 'search' must be exact, auto or scalable; got '\(value)'")
                }
                options.search = search
            case ("references", .number(let value)), ("projection", .number(let value)):
                guard value >= 1, value <= 100_000, value == value.rounded() else {
                    throw .invalid("option '\(name)' must be an integer from 1 to 100000; got \(value)")
                }
                if name == "references" { options.references = Int(value) } else { options.projection = Int(value) }
            case ("seed", .number(let value)):
                guard value >= 0, value <= 9_007_199_254_740_992, value == value.rounded() else {
                    throw .invalid("option 'seed' must be an integer from 0 to 2^53; got \(value)")
                }
                options.seed = Int(value)
            case (_, .unrepresentableNumber):
                throw .invalid("option '\(name)' is a number beyond the range of a double")
            default:
                throw .invalid("option '\(name)' has a value of the wrong type (\(expectedType(name)))")
            }
        }
        // The search: explicit sizes mean the scalable search, and cannot go with exact or auto.
        let sized = options.references != nil || options.projection != nil
        switch options.search {
        case nil where sized: options.search = .scalable
        case .scalable? where !sized:
            throw .invalid("option 'search' scalable needs 'references' and/or 'projection'")
        case .exact?, .auto?:
            if sized { throw .invalid("options 'references' and 'projection' go with search scalable, not \(options.search!.rawValue)") }
        default: break
        }
        return options
    }

    private static func expectedType(_ name: String) -> String {
        switch name {
        case "backbone", "mode", "search": "expected a string"
        case "tau", "resize", "crop", "references", "projection", "seed": "expected a number"
        case "clusters": "expected a number or \"auto\""
        default: "expected a string or a list of strings"
        }
    }
}

/// Any JSON value, as far as options need to tell them apart (JSONDecoder keeps true and 1 distinct).
enum JSONValue: Decodable {
    case number(Double)
    /// A JSON number beyond Double's range, such as 1e999 (JSONDecoder refuses to round it to ±∞).
    case unrepresentableNumber
    case string(String)
    case array([JSONValue])
    case other

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() || (try? container.decode(Bool.self)) != nil { self = .other }
        else if let n = try? container.decode(Double.self) { self = .number(n) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
        else if (try? container.decode([String: JSONValue].self)) != nil { self = .other }
        else { self = .unrepresentableNumber }  // the one JSON value left: a number no Double holds
    }
}

/// Why a job's options were refused; both are 400s.
enum JobOptionsError: Error, Equatable, CustomStringConvertible {
    case unknownOptions(String)
    case invalid(String)

    var code: String {
        switch self {
        case .unknownOptions: "unknown_option"
        case .invalid: "invalid_option"
        }
    }

    var description: String {
        switch self {
        case .unknownOptions(let m), .invalid(let m): m
        }
    }
}
