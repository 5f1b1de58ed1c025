// The service's settings, from three layers: the config file (config/server.json), then environment
// variables (AC_ + the key in upper case: AC_PORT, AC_DATA_DIR, AC_TOKEN, …), then command-line flags;
// each layer overrides the one before. Every layer goes through the same `set(_:_:source:)`, so a bad value
// gets the same message wherever it came from, naming the source, the key and what was expected.
import Foundation

struct ServerConfig: Sendable, Equatable {
    /// Address to listen on; the default serves this machine only.
    var host = "127.0.0.1"
    var port = 8080
    /// Holds jobs.sqlite, the uploaded images and temporary request bodies.
    var dataDirectory = "data"
    var weightsDirectory = "weights"
    var registryPath = "config/backbones.json"
    /// With a token, every endpoint but /healthz needs `Authorization: Bearer <token>`.
    var token: String?
    /// Jobs computed at once. One job already keeps every core busy.
    var workers = 1
    /// Jobs waiting to run; one more is refused with 429.
    var queueLimit = 32
    /// Largest request body (an upload), bytes.
    var maxBodyBytes = 2 << 30
    /// Images to cluster plus normal references in one job.
    var maxImages = 5_000
    /// Decoded pixels per image, checked from the header (decompression bombs).
    var maxImagePixels = 40_000_000
    var maxConnections = 512
    /// Seconds a client has to send a request head.
    var headerTimeout = 10
    /// Seconds a request body may stall between reads.
    var bodyIdleTimeout = 30
    /// Backbone of jobs that name none; nil: the registry's default.
    var defaultBackbone: String?
    /// An exact-search job whose estimated patch-weight time is longer is refused (422) with a suggestion.
    var maxExactSeconds = 1800
    /// The time the scalable search's `auto` rule aims for.
    var searchBudgetSeconds = 120
    /// A running job's search over all other images saves its progress at most this often (seconds), so that
    /// a restart continues it instead of starting over; 0 saves after every block of rows.
    var searchCheckpointSeconds = 60
    /// Test-only, milliseconds: each job's worker pauses this long inside its result transaction, after
    /// writing every row and before COMMIT, and logs "COMMIT paused" first, so that tools/crash_test.sh can
    /// kill the process during the result write. Set from the environment variable
    /// `AC_TEST_PAUSE_BEFORE_COMMIT` only (not the file, not a flag, not in `keys`); nil in production.
    var testPauseBeforeCommit: Int?
    /// Test-only: this many job deletions fail inside their transaction with SQLITE_FULL, as on a disk too full
    /// for the WAL frames of a delete (which `PRAGMA max_page_count` cannot provoke: a delete frees pages).
    /// Set by tests in-process only; 0 in production.
    var testDeletesFailingAsDiskFull = 0

    /// Every key, as written in the file, in the environment (AC_ + upper case) and as a flag (--key with -).
    static let keys = [
        "host", "port", "data_dir", "weights_dir", "registry", "token", "workers", "queue_limit",
        "max_body_bytes", "max_images", "max_image_pixels", "max_connections", "header_timeout",
        "body_idle_timeout", "default_backbone", "max_exact_seconds", "search_budget_seconds",
        "search_checkpoint_seconds",
    ]

    static func environmentName(_ key: String) -> String { "AC_" + key.uppercased() }

    /// The environment variable of `testPauseBeforeCommit`.
    static let testPauseBeforeCommitVariable = "AC_TEST_PAUSE_BEFORE_COMMIT"

    /// The defaults, overridden by `file` (if given; a missing file is an error), the environment and `flags`.
    static func load(
        file: String?, environment: [String: String], flags: [(key: String, value: String)]
    ) throws(ConfigError) -> ServerConfig {
        var config = ServerConfig()
        if let file {
            for (key, value) in try readFile(file) { try config.set(key, value, source: file) }
        }
        for key in keys {
            let name = environmentName(key)
            if let value = environment[name] { try config.set(key, value, source: "environment variable \(name)") }
        }
        for (key, value) in flags { try config.set(key, value, source: "--" + key.replacingOccurrences(of: "_", with: "-")) }
        if let value = environment[testPauseBeforeCommitVariable] {
            guard let milliseconds = Int(value), (1...600_000).contains(milliseconds) else {
                throw ConfigError("environment variable \(testPauseBeforeCommitVariable): must be milliseconds from 1 to 600000; got '\(value)'")
            }
            config.testPauseBeforeCommit = milliseconds
        }
        return config
    }

    /// The file's keys and values as text; null means "not set" and is skipped.
    static func readFile(_ path: String) throws(ConfigError) -> [(String, String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("\(path): cannot be read")
        }
        guard data.count <= 1 << 20,
              let object = try? JSONDecoder().decode([String: ConfigValue].self, from: data)
        else { throw ConfigError("\(path): not a JSON object of numbers, strings and nulls") }
        var pairs: [(String, String)] = []
        for key in object.keys.sorted() {
            if case .text(let value) = object[key]! { pairs.append((key, value)) }
        }
        return pairs
    }

    /// Sets one key from text.
    mutating func set(_ key: String, _ value: String, source: String) throws(ConfigError) {
        func integer(_ range: ClosedRange<Int>) throws(ConfigError) -> Int {
            guard let n = Int(value), range.contains(n) else {
                throw ConfigError("\(source): '\(key)' must be an integer from \(range.lowerBound) to \(range.upperBound); got '\(value)'")
            }
            return n
        }
        func text() throws(ConfigError) -> String {
            guard !value.isEmpty, !value.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw ConfigError("\(source): '\(key)' must be a non-empty single line")
            }
            return value
        }
        switch key {
        case "host": host = try text()
        case "port": port = try integer(0...65535)
        case "data_dir": dataDirectory = try text()
        case "weights_dir": weightsDirectory = try text()
        case "registry": registryPath = try text()
        case "token":
            let token = try text()
            guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw ConfigError("\(source): 'token' must be at least 16 visible ASCII characters")
            }
            self.token = token
        case "workers": workers = try integer(1...64)
        case "queue_limit": queueLimit = try integer(1...100_000)
        case "max_body_bytes": maxBodyBytes = try integer(1024...(1 << 40))
        case "max_images": maxImages = try integer(1...100_000)
        case "max_image_pixels": maxImagePixels = try integer(1...1_000_000_000)
        case "max_connections": maxConnections = try integer(1...100_000)
        case "header_timeout": headerTimeout = try integer(1...3600)
        case "body_idle_timeout": bodyIdleTimeout = try integer(1...3600)
        case "default_backbone": defaultBackbone = try text()
        case "max_exact_seconds": maxExactSeconds = try integer(1...31_536_000)
        case "search_budget_seconds": searchBudgetSeconds = try integer(1...31_536_000)
        case "search_checkpoint_seconds": searchCheckpointSeconds = try integer(0...86_400)
        default:
            throw ConfigError("\(source): unknown key '\(key)'; known: \(Self.keys.joined(separator: ", "))")
        }
    }

    /// Where the job database, the stored images and the temporary bodies go.
    var databasePath: String { dataDirectory + "/jobs.sqlite" }
    var imagesDirectory: String { dataDirectory + "/images" }
    var bodiesDirectory: String { dataDirectory + "/tmp" }
    var checkpointsDirectory: String { dataDirectory + "/checkpoints" }
}

/// A value in the config file: an integer or a string (kept as text, parsed by `set`), or null (not set).
enum ConfigValue: Decodable {
    case text(String)
    case null

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let number = try? container.decode(Int.self) { self = .text(String(number)) }
        else if let text = try? container.decode(String.self) { self = .text(text) }
        else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an integer, a string or null")
        }
    }
}

/// A configuration value that cannot be used; the message names its source and key.
struct ConfigError: Error, Equatable, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
