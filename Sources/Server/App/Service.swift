// The running service: the job store, the worker queue, the routes and the HTTP server, started in that
// order and stopped in reverse. Start-up also recovers from a crash: jobs left running are queued again,
// queued jobs are handed to the workers, and files no job names (an upload cut short by the crash) go.
import CSQLite
import Engine
import Foundation
import Synchronization

final class Service: Sendable {
    let config: ServerConfig
    let store: JobStore
    let queue: JobQueue
    let server: HTTPServer
    let api: JobsAPI

    /// Opens (or creates) the data directory and the database; nothing listens yet.
    /// - Throws: `ConfigError` for a config that cannot work (unknown default backbone, unreadable registry),
    ///   or the store's error.
    /// `blas`: the start-up check; a failed one stops the service here (tests pass a deliberately failed one).
    init(config: ServerConfig, blas: BLASStatus = .current) throws {
        self.config = config
        let registry: BackboneRegistry
        do { registry = try BackboneRegistry.load(from: URL(fileURLWithPath: config.registryPath)) } catch {
            throw ConfigError("registry \(config.registryPath): \(error)")
        }
        if let name = config.defaultBackbone, (try? registry.spec(named: name)) == nil {
            throw ConfigError("default_backbone '\(name)' is not in \(config.registryPath)")
        }
        for directory in [config.dataDirectory, config.imagesDirectory, config.bodiesDirectory, config.checkpointsDirectory] {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var store: JobStore
        do { store = try JobStore(path: config.databasePath) } catch let error as DatabaseError {
            let free = (try? FileManager.default.attributesOfFileSystem(forPath: config.dataDirectory))?[.systemFreeSize]
            throw Self.explainingFullDisk(error, dataDirectory: config.dataDirectory, freeBytes: (free as? NSNumber)?.intValue)
        }
        if let pause = config.testPauseBeforeCommit {
            store.beforeResultCommit = { id in
                serviceLog("job \(id): results written, COMMIT paused for \(pause) ms (\(ServerConfig.testPauseBeforeCommitVariable))")
                Thread.sleep(forTimeInterval: Double(pause) / 1000)
            }
        }
        if config.testDeletesFailingAsDiskFull > 0 {
            let remaining = Mutex(config.testDeletesFailingAsDiskFull)
            store.beforeDelete = { _ in
                let fails = remaining.withLock { count in
                    guard count > 0 else { return false }
                    count -= 1
                    return true
                }
                if fails {
                    throw DatabaseError(extendedCode: SQLITE_FULL, message: "database or disk is full (test)")
                }
            }
        }
        self.store = store
        let jobMetrics = JobMetrics()
        var runner = JobRunner(
            store: store, registry: registry, weightsDirectory: URL(fileURLWithPath: config.weightsDirectory),
            imagesDirectory: config.imagesDirectory, maxImagePixels: config.maxImagePixels, metrics: jobMetrics,
            log: { serviceLog($0) })
        runner.checkpointsDirectory = config.checkpointsDirectory
        runner.searchCheckpointSeconds = Double(config.searchCheckpointSeconds)
        serviceLog(blas.summary)
        try blas.requirePassed()
        let machineRate = MachineRate(measured: blas.sgemmRate)  // for cost estimates; finished jobs refine it
        runner.machineRate = machineRate
        queue = JobQueue(workers: config.workers, capacity: config.queueLimit) { [runner] id, flag in
            runner.run(id: id, cancellation: flag)
        }
        let httpMetrics = HTTPServerMetrics()
        api = JobsAPI(config: config, registry: registry, store: store, queue: queue, jobMetrics: jobMetrics,
                      machineRate: machineRate, blas: blas, httpMetrics: { httpMetrics.snapshot })
        var http = HTTPServerConfiguration()
        http.host = config.host
        http.port = config.port
        http.limits.maxBodyBytes = config.maxBodyBytes
        let openFiles = OpenFileLimit.raiseSoftLimitToHard()
        http.maxConnections = OpenFileLimit.connectionCap(configured: config.maxConnections, openFileLimit: openFiles)
        if http.maxConnections < config.maxConnections {
            serviceLog("max_connections lowered from \(config.maxConnections) to \(http.maxConnections): the open-file limit "
                + "(ulimit -n) is \(openFiles) and each connection can need \(OpenFileLimit.descriptorsPerConnection); "
                + "raise the hard limit to serve more")
        }
        http.timeouts.header = .seconds(config.headerTimeout)
        http.timeouts.bodyIdle = .seconds(config.bodyIdleTimeout)
        http.temporaryDirectory = URL(fileURLWithPath: config.bodiesDirectory)
        http.admit = { [api] head in api.admit(head) }
        http.requestLog = { entry in serviceLog(entry.line) }
        server = HTTPServer(configuration: http, metrics: httpMetrics) { [api] request in api.handle(request) }
    }

    /// Below this many free bytes, a database that fails to open is reported as on a full disk: SQLite
    /// needs 32 KiB for the shared-memory index and a few pages of WAL.
    static let minimumFreeBytesToOpen = 1 << 20

    /// `error`, with the reason added when the disk is (nearly) full. A clean stop removes the WAL and its
    /// shared-memory index; opening creates them again, which on a full disk fails with a message that does
    /// not say why ("disk I/O error", SQLITE_IOERR_SHMSIZE, found by tools/disk_full_test.sh).
    static func explainingFullDisk(_ error: DatabaseError, dataDirectory: String, freeBytes: Int?) -> DatabaseError {
        guard let freeBytes, freeBytes < minimumFreeBytesToOpen else { return error }
        var explained = error
        explained.message += "; the disk holding \(dataDirectory) is full (\(freeBytes) bytes free)"
        return explained
    }

    /// Recovers interrupted jobs, starts the workers on the queued ones and starts listening.
    /// - Returns: the port bound.
    func start() throws -> Int {
        let report = try store.requeueInterrupted()
        for id in report.requeued { serviceLog("job \(id) was interrupted; queued again") }
        for id in report.abandoned { serviceLog("job \(id) was interrupted on its last attempt; failed") }
        let queued = try store.queuedJobs()
        removeOrphans(waiting: Set(queued.map(\.id)))
        for job in queued { queue.submit(job.id, force: true) }
        let port = try server.start()
        serviceLog("listening on \(config.host):\(port); data in \(config.dataDirectory); \(queued.count) jobs queued")
        return port
    }

    /// Stops accepting, lets requests finish, stops the workers (a running job stays `running` and runs
    /// again at the next start) and closes the database.
    func stop() {
        server.shutdown()
        queue.stop()
        store.close()
    }

    /// Request bodies left by a previous process, saved search progress of jobs that will not run again
    /// (anything but the `waiting` jobs' files), and image files no job names.
    private func removeOrphans(waiting: Set<String>) {
        let fm = FileManager.default
        if let bodies = try? fm.contentsOfDirectory(atPath: config.bodiesDirectory) {
            for name in bodies { _ = try? System.unlink(config.bodiesDirectory + "/" + name) }
        }
        for name in (try? fm.contentsOfDirectory(atPath: config.checkpointsDirectory)) ?? []
        where SearchCheckpoint.jobID(fileName: name).map({ !waiting.contains($0) }) ?? true {
            _ = try? System.unlink(config.checkpointsDirectory + "/" + name)
        }
        guard let known = try? store.allStoredPaths(),
              let files = try? fm.contentsOfDirectory(atPath: config.imagesDirectory) else { return }
        let orphans = files.filter { !known.contains($0) }
        for name in orphans { _ = try? System.unlink(config.imagesDirectory + "/" + name) }
        if !orphans.isEmpty { serviceLog("removed \(orphans.count) image files no job names (an upload cut short)") }
    }
}
