// `anomaly-clustering serve`: the HTTP service. Settings come from config/server.json (or --config), then
// AC_* environment variables, then these flags. SIGINT/SIGTERM stop it gracefully.
import ArgumentParser
import Dispatch
import Foundation

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP job service.",
        discussion: """
            Settings: the config file, then environment variables (AC_HOST, AC_PORT, AC_DATA_DIR, AC_WEIGHTS_DIR, \
            AC_REGISTRY, AC_TOKEN, AC_WORKERS, AC_QUEUE_LIMIT, AC_MAX_BODY_BYTES, AC_MAX_IMAGES, AC_MAX_IMAGE_PIXELS, \
            AC_MAX_CONNECTIONS, AC_HEADER_TIMEOUT, AC_BODY_IDLE_TIMEOUT, AC_DEFAULT_BACKBONE, AC_MAX_EXACT_SECONDS, \
            AC_SEARCH_BUDGET_SECONDS, AC_SEARCH_CHECKPOINT_SECONDS), then flags. With a \
            token, every endpoint except /healthz needs 'Authorization: Bearer <token>'.
            """)

    @Option(help: "Config file (default: config/server.json when it exists).")
    var config: String?
    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?
    @Option(help: "Port (default 8080; 0 picks a free one).")
    var port: Int?
    @Option(help: "Folder for the job database and uploaded images (default ./data).")
    var dataDir: String?
    @Option(help: "Folder of converted weights (default ./weights).")
    var weightsDir: String?
    @Option(help: "Backbone registry (default config/backbones.json).")
    var registry: String?
    @Option(help: "Jobs computed at once (default 1).")
    var workers: Int?
    @Option(help: "Jobs allowed to wait; more get 429 (default 32).")
    var queueLimit: Int?
    @Option(help: "Largest upload in bytes (default 2 GiB).")
    var maxBodyBytes: Int?
    @Option(help: "Backbone for jobs that name none (default: the registry's default).")
    var defaultBackbone: String?
    @Option(help: "Read the bearer token from this file (instead of AC_TOKEN; keeps it out of `ps`).")
    var tokenFile: String?

    func run() throws {
        var flags: [(key: String, value: String)] = []
        let given: [(String, String?)] = [
            ("host", host), ("port", port.map(String.init)), ("data_dir", dataDir), ("weights_dir", weightsDir),
            ("registry", registry), ("workers", workers.map(String.init)), ("queue_limit", queueLimit.map(String.init)),
            ("max_body_bytes", maxBodyBytes.map(String.init)), ("default_backbone", defaultBackbone),
        ]
        for case let (key, value?) in given { flags.append((key, value)) }
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CLIError("--token-file \(tokenFile) cannot be read")
            }
            flags.append(("token", text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let file = config ?? (FileManager.default.fileExists(atPath: "config/server.json") ? "config/server.json" : nil)
        let settings: ServerConfig
        do {
            settings = try ServerConfig.load(file: file, environment: ProcessInfo.processInfo.environment, flags: flags)
        } catch { throw CLIError("\(error)") }
        let service: Service
        do { service = try Service(config: settings) } catch { throw CLIError("cannot start: \(error)") }
        do { _ = try service.start() } catch { throw CLIError("cannot start: \(error)") }

        let stop = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        stop.wait()
        serviceLog("stopping: finishing requests in progress")
        service.stop()
        serviceLog("stopped")
    }
}
