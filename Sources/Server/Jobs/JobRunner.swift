// One job from queued to succeeded (or failed, or cancelled): its images through the backbone (stage
// "features"), patch weights α ("weights"), Ward and metrics ("clustering"), results written in one
// transaction. Runs on a JobQueue worker. Progress goes to the store at most every quarter second, so
// polling clients see it move without the worker spending its time on commits. A full disk never strands a
// job: progress writes are skipped, and the writes that move the job between states wait for room.
import Engine
import Foundation
import Synchronization

/// Service-wide job figures for /metrics.
final class JobMetrics: Sendable {
    struct Snapshot: Sendable {
        var imagesProcessed = 0
        /// Seconds spent per stage, summed, and the number of jobs that went through each.
        var stageSeconds: [String: Double] = [:]
        var stageCounts: [String: Int] = [:]
        var jobsFinished: [String: Int] = [:]
    }

    private let counters = Mutex(Snapshot())
    var snapshot: Snapshot { counters.withLock { $0 } }

    func record(stage: String, seconds: Double) {
        counters.withLock {
            $0.stageSeconds[stage, default: 0] += seconds
            $0.stageCounts[stage, default: 0] += 1
        }
    }

    func record(images: Int) { counters.withLock { $0.imagesProcessed += images } }
    func record(outcome: String) { counters.withLock { $0.jobsFinished[outcome, default: 0] += 1 } }
}

struct JobRunner: Sendable {
    /// The stage names the job resource reports, in order.
    static let stages = ["decoding", "features", "weights", "clustering"]

    let store: JobStore
    let registry: BackboneRegistry
    let weightsDirectory: URL
    let imagesDirectory: String
    let maxImagePixels: Int
    let metrics: JobMetrics
    let log: @Sendable (String) -> Void
    /// Where searches over all other images save their progress (`SearchCheckpoint`), and how often.
    var checkpointsDirectory: String? = nil
    var searchCheckpointSeconds = 60.0
    /// Told how long each weights stage took against its work, so later estimates follow this machine.
    var machineRate: MachineRate? = nil

    /// Runs job `id` if it is still queued.
    func run(id: String, cancellation: CancellationFlag) {
        let started = Date()
        // The saved search progress is kept only while the job may run again (the service stopping).
        defer {
            if let checkpointsDirectory, (try? store.job(id: id))?.status != .running {
                SearchCheckpoint(directory: checkpointsDirectory, jobID: id).remove()
            }
        }
        do {
            let isRunning = try writeWaitingForRoom(id, "marking it running", cancellation: cancellation) {
                try store.markRunning(id: id)
            }
            guard isRunning, let job = try store.job(id: id) else { return }
            log("job \(id) running (attempt \(job.attempt), \(job.imageCount) images, \(job.normalCount) normal)")
            let outcome = try compute(job, cancellation: cancellation)
            if outcome {
                metrics.record(outcome: "succeeded")
                log(String(format: "job %@ succeeded in %.2f s", id, Date().timeIntervalSince(started)))
            }
        } catch let error as JobFailure {
            fail(id, code: error.code, message: error.message, started: started, cancellation: cancellation)
        } catch is CancellationError {
            finishCancelled(id, started: started)
        } catch EmbeddingsError.cancelled {
            finishCancelled(id, started: started)
        } catch {
            fail(id, code: "internal_error", message: "\(error)", started: started, cancellation: cancellation)
        }
    }

    private func fail(_ id: String, code: String, message: String, started: Date, cancellation: CancellationFlag) {
        do {
            let failed = try writeWaitingForRoom(id, "recording its failure", cancellation: cancellation) {
                try store.fail(id: id, code: code, message: message)
            }
            guard failed else { return }
            metrics.record(outcome: "failed")
            log(String(format: "job %@ failed after %.2f s: %@: %@", id, Date().timeIntervalSince(started), code, message))
        } catch {
            // Stopped while waiting for room, or the database itself is broken: the job stays where it is
            // (`running` is run again at the next start).
            log("job \(id) could not be recorded as failed (\(code): \(message)): \(error)")
        }
    }

    /// Runs one of the writes that move a job between states; while it fails because the disk is full
    /// (SQLITE_FULL), waits (0.25 s, doubling to 8 s) and tries again, keeping the worker's results in memory.
    /// Giving up instead would strand the job: its failure cannot be recorded on a full disk either, so it
    /// would stay `running` (or `queued`) with no worker behind it until the next restart.
    /// - Throws: `CancellationError` once the job is cancelled or the service stops; any other error of
    ///   `write` at once.
    private func writeWaitingForRoom<T>(
        _ id: String, _ what: String, cancellation: CancellationFlag, _ write: () throws -> T
    ) throws -> T {
        var delay = 0.25
        var failures = 0
        while true {
            do {
                let result = try write()
                if failures > 0 { log("job \(id): room again on disk; \(what) succeeded after \(failures) attempts") }
                return result
            } catch let error as DatabaseError where error.isDiskFull {
                if failures == 0 { log("job \(id): the disk is full while \(what); waiting for room: \(error.message)") }
                failures += 1
                let deadline = Date().addingTimeInterval(delay)
                while Date() < deadline {
                    guard !cancellation.isCancelled else { throw CancellationError() }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                delay = min(delay * 2, 8)
            }
        }
    }

    /// A stopped worker: either the client cancelled (the store already says so) or the service is shutting
    /// down, in which case the job stays `running` and the next start runs it again.
    private func finishCancelled(_ id: String, started: Date) {
        let status = (try? store.job(id: id))?.status
        log(String(format: "job %@ stopped after %.2f s (%@)", id, Date().timeIntervalSince(started),
                   status == .cancelled || status == nil ? "cancelled" : "service stopping; will run again"))
        if status == .cancelled { metrics.record(outcome: "cancelled") }
    }

    /// Returns false if the job was cancelled (or deleted) while it ran.
    private func compute(_ job: JobRecord, cancellation: CancellationFlag) throws -> Bool {
        let id = job.id
        var options: JobOptions
        do {
            options = try JobOptions.parse(json: Array(job.optionsJSON.utf8), registry: registry)
        } catch { throw JobFailure(code: "invalid_options", message: "stored options no longer valid: \(error)") }
        options = options.resolving(hasNormals: job.normalCount > 0, registry: registry)
        var timings: [(String, Double)] = [("queued", Double(max(0, JobStore.currentMilliseconds() - job.createdAt)) / 1000)]
        let progress = ProgressReporter(store: store, id: id, log: log)
        let shouldContinue: @Sendable () -> Bool = { !cancellation.isCancelled }

        // decoding: the records and the backbone.
        var stageStart = Date()
        guard try progress.report(stage: "decoding", fraction: 0, force: true) else { return false }
        let records = try store.images(jobID: id)
        let images = records.filter { !$0.isNormal }, normals = records.filter(\.isNormal)
        let spec: BackboneSpec
        do {
            spec = try registry.spec(named: options.backbone).overriding(resize: options.resize, crop: options.crop)
        } catch { throw JobFailure(code: "invalid_options", message: "\(error)") }
        let extractor: FeatureExtractor
        do {
            extractor = try FeatureExtractor(spec: spec, weightsDirectory: weightsDirectory)
        } catch {
            // The error names the server's own paths; the client gets the file name only.
            log("job \(id): backbone \(spec.name) failed to load: \(error)")
            throw JobFailure(code: "backbone_unavailable", message: "backbone '\(spec.name)' could not be loaded from its weights file \(spec.weights)")
        }
        finishStage("decoding", since: &stageStart, into: &timings)

        // features: Z of the images, then of the normal references.
        let total = images.count + normals.count
        let featureShare = options.mode == .average ? 0.9 : 0.5
        func embed(_ records: [ImageRecord], offset: Int) throws -> PatchEmbeddings {
            let urls = records.map { URL(fileURLWithPath: imagesDirectory + "/" + $0.image.storedPath) }
            do {
                return try extractor.patchEmbeddings(
                    of: urls, maxPixels: maxImagePixels,
                    progress: { done in
                        _ = try? progress.report(stage: "features", fraction: featureShare * Double(offset + done) / Double(total))
                    },
                    shouldContinue: shouldContinue)
            } catch let error as ImageFileError {
                let name = records.first { $0.image.storedPath == error.file }.map { displayName($0.image) } ?? error.file
                throw JobFailure(code: "image_unreadable", message: "\(name): \(error.reason)")
            }
        }
        guard try progress.report(stage: "features", fraction: 0, force: true) else { return false }
        let z = try embed(images, offset: 0)
        let references = normals.isEmpty ? nil : try embed(normals, offset: images.count)
        metrics.record(images: total)
        finishStage("features", since: &stageStart, into: &timings)

        // weights: α and X.
        guard try progress.report(stage: "weights", fraction: featureShare, force: true) else { return false }
        let search = options.neighbourSearch
        let saver = options.mode == .unsupervised && search.references == nil && z.images >= 2
            ? checkpointsDirectory.map { SearchSaver(SearchCheckpoint(directory: $0, jobID: id), z, search, searchCheckpointSeconds, log: log, id: id) }
            : nil
        let weighted: WeightedEmbeddings
        do {
            weighted = try ClusteringPipeline.weigh(
                z, mode: options.mode!, tau: options.tau!, references: references, search: search,
                progress: { done in
                    _ = try? progress.report(stage: "weights", fraction: featureShare + (0.95 - featureShare) * done)
                },
                shouldContinue: shouldContinue, resumption: saver?.resumption)
        } catch EmbeddingsError.cancelled {
            saver?.saveLatest()  // stopped: keep the last finished block for the next start (a cancelled job's goes with it)
            throw EmbeddingsError.cancelled
        } catch { throw JobFailure(code: "invalid_job", message: "\(error)") }
        let weightsSeconds = finishStage("weights", since: &stageStart, into: &timings)
        if let machineRate, saver?.resumed != true {  // a resumed search did only part of its work
            let (_, work) = CostEstimate.work(
                mode: options.mode!, search: search, images: z.images, normals: references?.images ?? 0,
                patches: z.patches, dimensions: z.dimensions)
            machineRate.observe(work: work, seconds: weightsSeconds)
        }

        // clustering: Ward on the kept images, metrics when labelled.
        guard try progress.report(stage: "clustering", fraction: 0.95, force: true) else { return false }
        let labels = images.allSatisfy { $0.image.label != nil } ? images.map { $0.image.label! } : nil
        let outcome: ClusteringOutcome
        do {
            outcome = try ClusteringPipeline.cluster(
                weighted.embeddings, labels: labels, exclude: Set(options.exclude), count: options.clusters)
        } catch { throw JobFailure(code: "invalid_job", message: "\(error)") }
        finishStage("clustering", since: &stageStart, into: &timings)

        var assignments = [Int?](repeating: nil, count: images.count)
        for (row, cluster) in zip(outcome.kept, outcome.assignments) { assignments[row] = cluster }
        let grid = extractor.patchGrid!  // set by the embedding above
        let alphas = (0..<images.count).map { i in
            AlphaMap(position: i, gridHeight: grid.height, gridWidth: grid.width,
                     weights: Array(weighted.alpha[i * z.patches..<(i + 1) * z.patches]))
        }
        let metricsJSON = outcome.metrics.map { "{\"nmi\": \($0.nmi), \"ari\": \($0.ari), \"f1\": \($0.f1)}" }
        timings.append(("total", timings.dropFirst().reduce(0) { $0 + $1.1 }))
        let timingsJSON = "{" + timings.map { "\"\($0.0)_seconds\": \(($0.1 * 1000).rounded() / 1000)" }.joined(separator: ", ") + "}"
        return try writeWaitingForRoom(id, "writing its results", cancellation: cancellation) {
            try store.finish(
                id: id, clusters: outcome.clusters, assignments: assignments, metrics: metricsJSON,
                timings: timingsJSON, alphas: alphas)
        }
    }

    @discardableResult
    private func finishStage(_ stage: String, since start: inout Date, into timings: inout [(String, Double)]) -> Double {
        let seconds = Date().timeIntervalSince(start)
        timings.append((stage, seconds))
        metrics.record(stage: stage, seconds: seconds)
        start = Date()
        return seconds
    }

}

/// The name the job reports for an image: `label/name`, or `name`.
func displayName(_ image: NewImage) -> String { displayName(label: image.label, name: image.name) }

/// A job that cannot complete, with the code and message the client sees.
struct JobFailure: Error {
    let code: String
    let message: String
}

/// Writes stage and progress to the store, at most every 0.25 s unless forced (stage changes).
///
/// Progress is advisory: a write that finds the disk full (SQLITE_FULL) is skipped, logged once, and the job
/// computes on; only its final write has to wait for room (`JobRunner.writeWaitingForRoom`).
final class ProgressReporter: @unchecked Sendable {  // used by one worker thread at a time
    private let store: JobStore
    private let id: String
    private let log: @Sendable (String) -> Void
    private var lastWrite = Date.distantPast
    private var hasLoggedDiskFull = false

    init(store: JobStore, id: String, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.id = id
        self.log = log
    }

    /// Returns false once the job is no longer running (cancelled or deleted).
    @discardableResult
    func report(stage: String, fraction: Double, force: Bool = false) throws -> Bool {
        let now = Date()
        guard force || now.timeIntervalSince(lastWrite) >= 0.25 else { return true }
        lastWrite = now
        do {
            return try store.updateProgress(id: id, stage: stage, progress: min(max(fraction, 0), 1))
        } catch let error as DatabaseError where error.isDiskFull {
            if !hasLoggedDiskFull {
                hasLoggedDiskFull = true
                log("job \(id): the disk is full; progress is not recorded until there is room (\(error.message))")
            }
            return true
        }
    }
}
