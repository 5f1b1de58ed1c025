// The service's routes: what each method and path does, the bearer-token check, and the admission of
// upload bodies (decided from the head alone, before any byte of the body is read).
//
//   POST   /v1/jobs                                 upload images → 202 + Location
//   GET    /v1/jobs?limit=&before=                  newest first, paginated
//   GET    /v1/jobs/{id}                            status, stage, progress, timings, error
//   DELETE /v1/jobs/{id}                            cancel if live, then remove job, results and images
//   GET    /v1/jobs/{id}/clusters                   cluster per image (+ metrics with labels)
//   GET    /v1/jobs/{id}/images/{n}/alpha.png       α heat map over image n
//   GET    /v1/backbones, /healthz, /metrics
// HEAD is answered wherever GET is (the connection leaves the body out).
import Engine
import Foundation

struct JobsAPI: Sendable {
    let config: ServerConfig
    let registry: BackboneRegistry
    let store: JobStore
    let queue: JobQueue
    let jobMetrics: JobMetrics
    /// This machine's sgemm rate for cost estimates: measured at start, then following finished jobs.
    let machineRate: MachineRate
    /// The start-up BLAS check and sgemm rate, for /healthz and /metrics.
    let blas: BLASStatus
    /// The HTTP server's counters, for /metrics (the server is created after the API).
    let httpMetrics: @Sendable () -> HTTPServerMetrics.Snapshot

    // MARK: Admission

    /// Upload bodies go to disk. A body on another route is refused from the head when the route or method
    /// is (404, 405, 501), else read into memory and ignored (a GET or DELETE has no use for one).
    func admit(_ head: HTTPRequestHead) -> HTTPAdmission {
        if let denied = authorizationError(head) { return .reject(denied.response) }
        if let unknown = unknownMethodError(head.method) { return .reject(unknown.response) }
        let components = head.pathComponents
        guard head.method == .post, components == ["v1", "jobs"] else {
            guard let route = route(for: components) else {
                return .reject(APIError.notFound("no such resource: \(head.path)").response)
            }
            let method = head.method == .head ? .get : head.method
            guard allowedMethods(route).contains(method) else { return .reject(methodNotAllowed(head.method, components).response) }
            return .accept(.automatic)
        }
        guard JobUpload.kind(contentType: head.headers["Content-Type"]) != nil else {
            return .reject(APIError(415, "unsupported_media_type",
                                    "upload images as multipart/form-data or application/x-tar").response)
        }
        // A keyed upload may repeat one that already made its job: its body decides (the repeat gets 200,
        // answered before the queue check), so only unkeyed uploads are refused from the head.
        if queue.isFull, head.headers["Idempotency-Key"] == nil { return .reject(queueFullError().response) }
        return .accept(.disk)
    }

    // MARK: Requests

    func handle(_ request: HTTPRequest) -> HTTPServerResponse {
        do throws(APIError) {
            if let denied = authorizationError(request.head) { throw denied }
            if let unknown = unknownMethodError(request.method) { throw unknown }
            return try dispatch(request)
        } catch {
            return .response(error.response)
        }
    }

    /// The routes a path can match, for 404 versus 405.
    private enum Route { case jobs, job(String), clusters(String), alpha(String, String), backbones, health, metrics }

    private func route(for c: [String]) -> Route? {
        switch c.count {
        case 1 where c[0] == "healthz": return .health
        case 1 where c[0] == "metrics": return .metrics
        case 2 where c == ["v1", "jobs"]: return .jobs
        case 2 where c == ["v1", "backbones"]: return .backbones
        case 3 where c[0] == "v1" && c[1] == "jobs": return .job(c[2])
        case 4 where c[0] == "v1" && c[1] == "jobs" && c[3] == "clusters": return .clusters(c[2])
        case 6 where c[0] == "v1" && c[1] == "jobs" && c[3] == "images" && c[5] == "alpha.png": return .alpha(c[2], c[4])
        default: return nil
        }
    }

    private func allowedMethods(_ route: Route) -> [HTTPMethod] {
        switch route {
        case .jobs: [.get, .head, .post]
        case .job: [.get, .head, .delete]
        default: [.get, .head]
        }
    }

    /// RFC 9110 §9.1: a method the server does not recognise is a 501, not a 405.
    private func unknownMethodError(_ method: HTTPMethod) -> APIError? {
        let known: Set<HTTPMethod> = [.get, .head, .post, .put, .patch, .delete, .options, .connect, .trace]
        guard !known.contains(method) else { return nil }
        return APIError(501, "method_not_implemented", "the method \(JSONString.quoted(method.rawValue)) is not implemented")
    }

    private func methodNotAllowed(_ method: HTTPMethod, _ components: [String]) -> APIError {
        let allowed = route(for: components).map(allowedMethods) ?? []
        var error = APIError(405, "method_not_allowed", "\(method) is not allowed here; allowed: \(allowed.map(\.rawValue).joined(separator: ", "))")
        error.headers.add(name: "Allow", value: allowed.map(\.rawValue).joined(separator: ", "))
        return error
    }

    private func dispatch(_ request: HTTPRequest) throws(APIError) -> HTTPServerResponse {
        let components = request.pathComponents
        guard let route = route(for: components) else { throw .notFound("no such resource: \(request.path)") }
        let method = request.method == .head ? .get : request.method
        guard allowedMethods(route).contains(method) else { throw methodNotAllowed(request.method, components) }
        switch (route, method) {
        case (.health, _): return json(health())
        case (.metrics, _): return try metrics()
        case (.backbones, _): return json(backbones())
        case (.jobs, .post): return try createJob(request)
        case (.jobs, _): return try listJobs(request)
        case (.job(let id), .delete): return try deleteJob(id)
        case (.job(let id), _): return json(JobJSON.resource(try existingJob(id)))
        case (.clusters(let id), _): return try clusters(id)
        case (.alpha(let id, let n), _): return try alphaImage(id, n)
        }
    }

    private func json(_ text: String, status: Int = 200) -> HTTPServerResponse {
        .response(.json(status: status, text))
    }

    // MARK: Authorization

    /// With a token configured: 401 unless `Authorization: Bearer <token>`; /healthz is always open.
    private func authorizationError(_ head: HTTPRequestHead) -> APIError? {
        guard let token = config.token, head.pathComponents != ["healthz"] else { return nil }
        let given = head.headers["Authorization"].flatMap { value -> String? in
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        if let given, Self.constantTimeEqual(given, token) { return nil }
        var error = APIError(401, "unauthorized", given == nil
            ? "this server needs 'Authorization: Bearer <token>'" : "the bearer token is not valid")
        error.headers.add(name: "WWW-Authenticate", value: "Bearer")
        return error
    }

    /// Compares without stopping at the first difference, so response time does not reveal a prefix.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }

    // MARK: Jobs

    private func queueFullError() -> APIError {
        var error = APIError(429, "queue_full", "\(queue.capacity) jobs are already waiting; try again later")
        error.headers.add(name: "Retry-After", value: "30")
        return error
    }

    private func createJob(_ request: HTTPRequest) throws(APIError) -> HTTPServerResponse {
        let started = Date()
        let contentType = request.headers["Content-Type"] ?? ""
        // Options first: a bad option is a 400 before any image is written.
        var options: JobOptions?
        let isTar = JobUpload.kind(contentType: contentType) == .tar
        if isTar {
            options = try parseOptions { () throws(JobOptionsError) in
                try JobOptions.parse(query: request.head.queryItems.map { ($0.name, $0.value) }, registry: registry, defaultBackbone: config.defaultBackbone)
            }
        } else if !request.head.queryItems.isEmpty {
            throw APIError(400, "unknown_option", "a multipart upload takes its options in the 'options' part, not the query")
        }
        let key = try idempotencyKey(request)
        let upload = try JobUpload.stage(
            request.body, contentType: contentType, directory: config.imagesDirectory,
            limits: UploadLimits(maxImages: config.maxImages, maxImagePixels: config.maxImagePixels), hashing: key != nil)
        do throws(APIError) {
            if options == nil {
                options = try parseOptions { () throws(JobOptionsError) in
                    try JobOptions.parse(json: upload.optionsJSON ?? Array("{}".utf8), registry: registry, defaultBackbone: config.defaultBackbone)
                }
            }
            let (resolved, estimate) = try check(options!.resolving(hasNormals: !upload.normals.isEmpty, registry: registry), upload)
            // A retry with the Idempotency-Key of an upload that made a job gets that job, not a second one.
            let idempotency = try key.map { (key) throws(APIError) in
                IdempotencyKey(key: key, requestSHA256: digest(upload, options: resolved))
            }
            if let idempotency {
                let existing: (JobRecord, requestSHA256: String)?
                do { existing = try store.job(idempotencyKey: idempotency.key) } catch {
                    throw APIError.database(error, while: "looking up the Idempotency-Key")
                }
                if let (job, sha256) = existing {
                    upload.discard(directory: config.imagesDirectory)
                    return try replay(job, sameRequest: sha256 == idempotency.requestSHA256, key: idempotency.key)
                }
            }
            guard !queue.isFull else { throw queueFullError() }
            func record(_ image: StagedImage) -> NewImage {
                NewImage(name: image.name.name, label: image.name.label, storedPath: image.storedName,
                         width: image.info!.width, height: image.info!.height, format: image.info!.format.rawValue)
            }
            let job: JobRecord
            do {
                let creation = try store.createJob(
                    options: resolved.json, estimate: estimate.json, images: upload.images.map(record),
                    normals: upload.normals.map(record), idempotency: idempotency)
                switch creation {
                case .created(let created): job = created
                case .existing(let existing, let sameRequest):  // the same key, uploaded concurrently
                    upload.discard(directory: config.imagesDirectory)
                    return try replay(existing, sameRequest: sameRequest, key: idempotency!.key)
                }
            } catch let error as APIError { throw error } catch { throw APIError.database(error, while: "recording the job") }
            let bytes = upload.images.reduce(0) { $0 + $1.size } + upload.normals.reduce(0) { $0 + $1.size }
            serviceLog(String(format: "job %@ queued: %d images, %d normal, %d bytes, stored in %.1f ms", job.id,
                       job.imageCount, job.normalCount, bytes, Date().timeIntervalSince(started) * 1000))
            queue.submit(job.id, force: true)
            var response = HTTPResponse.json(status: 202, JobJSON.resource(job))
            response.headers.add(name: "Location", value: "/v1/jobs/\(job.id)")
            return .response(response)
        } catch {
            upload.discard(directory: config.imagesDirectory)
            throw error
        }
    }

    /// The request's Idempotency-Key (a token, or a quoted string as in the IETF draft); nil without the header.
    private func idempotencyKey(_ request: HTTPRequest) throws(APIError) -> String? {
        let values = request.headers.values(for: "Idempotency-Key")
        guard var key = values.first else { return nil }
        guard values.count == 1 else { throw APIError(400, "invalid_idempotency_key", "the request has more than one Idempotency-Key header") }
        if key.count >= 2, key.hasPrefix("\""), key.hasSuffix("\"") { key = String(key.dropFirst().dropLast()) }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") }) else {
            throw APIError(400, "invalid_idempotency_key", "an Idempotency-Key is 1 to 255 visible ASCII characters (a UUID, say)")
        }
        return key
    }

    /// SHA-256 of what the upload asks for: the resolved options, then each image's role, label, name and
    /// content hash (taken while staging), in order. Not of the raw body: curl draws a new multipart boundary
    /// for every request.
    private func digest(_ upload: StagedUpload, options: JobOptions) -> String {
        var text = options.json + "\n"
        for (role, images) in [("image", upload.images), ("normal", upload.normals)] {
            for image in images {
                precondition(image.sha256 != nil, "an upload with an Idempotency-Key is staged with hashing")
                text += "\(role) \(JSONString.quoted(image.name.label ?? "")) \(JSONString.quoted(image.name.name)) \(image.sha256!)\n"
            }
        }
        return SHA256.hex(Array(text.utf8))
    }

    /// The answer to an upload whose Idempotency-Key already made `job`: that job as it is now (200), or 422
    /// when the key came with a different request.
    private func replay(_ job: JobRecord, sameRequest: Bool, key: String) throws(APIError) -> HTTPServerResponse {
        guard sameRequest else {
            throw APIError(422, "idempotency_key_reused", "Idempotency-Key '\(key)' was used for a different upload (job \(job.id)); use a new key for a new upload")
        }
        serviceLog("job \(job.id): upload repeated with its Idempotency-Key; nothing stored")
        var response = HTTPResponse.json(status: 200, JobJSON.resource(job))
        response.headers.add(name: "Location", value: "/v1/jobs/\(job.id)")
        response.headers.add(name: "Idempotent-Replayed", value: "true")
        return .response(response)
    }

    private func parseOptions(_ parse: () throws(JobOptionsError) -> JobOptions) throws(APIError) -> JobOptions {
        do { return try parse() } catch { throw APIError(400, error.code, error.description) }
    }

    /// What the job's options need of its images, checked before the job is accepted; then the cost estimate
    /// (with `search: auto` resolved), refusing an exact search that would take longer than the limit.
    private func check(_ options: JobOptions, _ upload: StagedUpload) throws(APIError) -> (JobOptions, CostEstimate) {
        let images = upload.images
        guard !images.isEmpty else {
            throw APIError(400, "no_images", "the upload has no images to cluster (form parts named 'images', or files outside normal/ in a tar)")
        }
        switch options.mode! {
        case .semiSupervised where upload.normals.isEmpty:
            throw APIError(400, "invalid_option", "mode semi-supervised needs normal reference images (form parts named 'normal', or a normal/ folder in a tar)")
        case .unsupervised where images.count < 2:
            throw APIError(400, "invalid_option", "mode unsupervised needs at least 2 images; the upload has 1")
        case .unsupervised, .average:
            if !upload.normals.isEmpty {
                throw APIError(400, "invalid_option", "normal reference images are only used with mode semi-supervised")
            }
        default: break
        }
        let labelled = images.allSatisfy { $0.name.label != nil }
        if !options.exclude.isEmpty && !labelled {
            throw APIError(400, "invalid_option", "option 'exclude' needs every image labelled by its folder (crack/007.png)")
        }
        let kept = images.filter { $0.name.label.map { !options.exclude.contains($0) } ?? true }
        guard !kept.isEmpty else { throw APIError(400, "invalid_option", "option 'exclude' removes every image") }
        if case .fixed(let k)? = options.clusters, k > kept.count {
            throw APIError(400, "invalid_option", "option 'clusters' is \(k) but only \(kept.count) images are clustered")
        }
        let spec: BackboneSpec
        do {
            spec = try registry.spec(named: options.backbone).overriding(resize: options.resize, crop: options.crop)
        } catch { throw APIError(400, "invalid_option", "\(error)") }
        guard FileManager.default.fileExists(atPath: config.weightsDirectory + "/" + spec.weights) else {
            throw APIError(400, "backbone_unavailable", "backbone '\(spec.name)' has no weights on this server (its file \(spec.weights) is not installed); GET /v1/backbones lists the available ones")
        }
        if spec.architecture == .vit, spec.crop % spec.stride != 0 {
            throw APIError(400, "invalid_option", "backbone '\(spec.name)' cuts images into \(spec.stride)-pixel patches: option 'crop' must be a multiple of \(spec.stride); got \(spec.crop)")
        }
        if let projection = options.projection, projection > spec.targetDimension {
            throw APIError(400, "invalid_option", "option 'projection' is \(projection) but backbone '\(spec.name)' has \(spec.targetDimension) dimensions")
        }
        let sgemmRate = machineRate.current
        let (resolved, estimate) = CostEstimate.make(
            options, images: images.count, normals: upload.normals.count, spec: spec, rate: sgemmRate,
            budgetSeconds: config.searchBudgetSeconds)
        if estimate.search.isExact && estimate.seconds > Double(config.maxExactSeconds) {
            var scalable = options
            scalable.search = .auto
            let (suggested, suggestedEstimate) = CostEstimate.make(
                scalable, images: images.count, normals: upload.normals.count, spec: spec, rate: sgemmRate,
                budgetSeconds: config.searchBudgetSeconds)
            let sizes = [suggested.references.map { "\"references\": \($0)" }, suggested.projection.map { "\"projection\": \($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
            throw APIError(422, "too_expensive", String(
                format: "the exact patch weights of %d images would take about %.0f s (%.3g flop at %.0f GFLOP/s), over this server's limit of %d s; send {\"search\": \"auto\"} (about %.0f s here) or choose {%@}",
                images.count, estimate.seconds, estimate.flops, sgemmRate / 1e9, config.maxExactSeconds,
                suggestedEstimate.seconds, sizes))
        }
        return (resolved, estimate)
    }

    func existingJob(_ id: String) throws(APIError) -> JobRecord {
        let record: JobRecord?
        do { record = try store.job(id: id) } catch { throw APIError(500, "storage_error", "reading job \(id): \(error)") }
        guard let record else { throw .notFound("no job \(JSONString.quoted(id))") }
        return record
    }

    private func listJobs(_ request: HTTPRequest) throws(APIError) -> HTTPServerResponse {
        var limit = 20
        if let text = request.queryValue("limit") {
            guard text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber), let n = Int(text), (1...100).contains(n) else {
                throw APIError(400, "invalid_parameter", "limit must be an integer from 1 to 100; got '\(text)'")
            }
            limit = n
        }
        var cursor: JobCursor?
        if let text = request.queryValue("before") {
            guard let parsed = JobCursor(text) else {
                throw APIError(400, "invalid_parameter", "before must be the 'next' value of a previous page; got '\(text)'")
            }
            cursor = parsed
        }
        do { return json(JobJSON.page(try store.listJobs(limit: limit, before: cursor))) } catch {
            throw APIError(500, "storage_error", "listing jobs: \(error)")
        }
    }

    private func deleteJob(_ id: String) throws(APIError) -> HTTPServerResponse {
        _ = try existingJob(id)
        do {
            try removeJob(id)
        } catch let error as DatabaseError where error.isDiskFull {
            // At 100 % full SQLite has no room even for the WAL frames of the cancel and the delete, and
            // deleting jobs is how a user frees space: remove this job's image files first (what the DELETE
            // asks for anyway; its worker, if any, is told to stop), then try once more.
            queue.cancel(id)
            let files = (try? store.images(jobID: id).map(\.image.storedPath)) ?? []
            removeImageFiles(files)
            serviceLog("job \(id): the disk is full; removed its \(files.count) image files to make room for deleting it")
            do {
                try removeJob(id)
            } catch let error as APIError {
                throw error  // deleted meanwhile by another request: 404
            } catch {
                throw APIError.database(error, while: "deleting job \(id)", outcome:
                    "its \(files.count) image files were removed to make room, but the job is still listed; try again once space is freed")
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.database(error, while: "deleting job \(id)", outcome: "the job was not deleted; try again later")
        }
        return .response(HTTPResponse(status: 204))
    }

    /// Cancels job `id` if live, deletes its rows, then its image files.
    private func removeJob(_ id: String) throws {
        _ = try store.cancel(id: id)
        queue.cancel(id)
        guard let files = try store.delete(id: id) else { throw APIError.notFound("no job \(JSONString.quoted(id))") }
        removeImageFiles(files)
        serviceLog("job \(id) deleted (\(files.count) images removed)")
    }

    /// Unlinks stored image files (names relative to the images directory); one already gone is no error.
    private func removeImageFiles(_ files: [String]) {
        for file in files { _ = try? System.unlink(config.imagesDirectory + "/" + file) }
    }

    private func clusters(_ id: String) throws(APIError) -> HTTPServerResponse {
        let record = try existingJob(id)
        guard record.status == .succeeded else {
            throw APIError(409, "job_not_finished", "job \(id) is \(record.status.rawValue); clusters exist once it has succeeded")
        }
        do {
            let options = try JobOptions.parse(json: Array(record.optionsJSON.utf8), registry: registry)
            let images = try store.images(jobID: id).filter { !$0.isNormal }
            return json(JobJSON.clusters(job: record, options: options, images: images, assignments: try store.assignments(jobID: id)))
        } catch { throw APIError(500, "storage_error", "reading the clusters of job \(id): \(error)") }
    }

    // MARK: Service

    private func backbones() -> String {
        let entries = registry.backbones.map { spec in
            let available = FileManager.default.fileExists(atPath: config.weightsDirectory + "/" + spec.weights)
            return "{\"name\": \(JSONString.quoted(spec.name)), \"architecture\": \(JSONString.quoted(spec.architecture.rawValue)), "
                + "\"resize\": \(spec.resize), \"crop\": \(spec.crop), \"layers\": \(spec.layers), "
                + "\"pretrain_dimension\": \(spec.pretrainDimension), \"target_dimension\": \(spec.targetDimension), "
                + "\"tau\": {\"unsupervised\": \(spec.tau.unsupervised), \"semi-supervised\": \(spec.tau.semiSupervised)}, \"default\": \(spec.name == (config.defaultBackbone ?? registry.defaultBackbone)), \"available\": \(available), "
                + "\"description\": \(spec.description.map(JSONString.quoted) ?? "null")}"
        }
        return "{\"backbones\": [" + entries.joined(separator: ", ") + "]}"
    }

    private struct Health: Encodable {
        let status = "ok"
        let blas: BLASStatus.Health
    }

    private func health() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding two strings and numbers cannot fail.
        return String(decoding: try! encoder.encode(Health(blas: blas.health)), as: UTF8.self)
    }

    private func metrics() throws(APIError) -> HTTPServerResponse {
        let counts: [JobStatus: Int]
        do { counts = try store.statusCounts() } catch { throw APIError(500, "storage_error", "counting jobs: \(error)") }
        let text = MetricsText.render(jobs: counts, waiting: queue.waitingCount, job: jobMetrics.snapshot, http: httpMetrics(),
                                      estimateRate: machineRate.current, blas: blas)
        return .response(HTTPResponse(status: 200, headers: ["Content-Type": MetricsText.contentType], body: Array(text.utf8)))
    }
}
