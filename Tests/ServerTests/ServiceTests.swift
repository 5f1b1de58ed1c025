// The service over real loopback sockets, as a person drives it with curl: upload images (multipart and
// tar), poll the job, fetch clusters and heat maps, list, delete; and every error a client can cause, each
// with its status and code, with the server still answering afterwards. Jobs run the real EfficientNet-Lite0
// weights on the project's own fixture images.
import Engine
import Foundation
import XCTest

@testable import Server

final class ServiceTests: XCTestCase {
    func testFullFlowUploadPollClustersHeatMapListDelete() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService()
        let posted = try service.post(try twoGroupParts() + [FormPart(name: "options", data: Array(#"{"tau": 1}"#.utf8))])
        XCTAssertEqual(posted.status, 202, posted.bodyText)
        let created = try TestService.object(posted)
        let id = try XCTUnwrap(created["id"] as? String)
        XCTAssertEqual(posted.header("Location"), "/v1/jobs/\(id)")
        XCTAssertEqual(created["status"] as? String, "queued")
        XCTAssertEqual(created["images"] as? Int, 6)
        XCTAssertEqual(created["options"] as? NSDictionary,
                       ["backbone": "efficientnet-lite0", "mode": "unsupervised", "tau": 1.0] as NSDictionary)

        let (job, seen) = try service.waitForJob(id)
        XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)")
        XCTAssertEqual(job["progress"] as? Double, 1)
        XCTAssertEqual(job["clusters"] as? Int, 2)
        let timings = try XCTUnwrap(job["timings"] as? [String: Double])
        XCTAssertEqual(Set(timings.keys), ["queued_seconds", "decoding_seconds", "features_seconds", "weights_seconds", "clustering_seconds", "total_seconds"])
        // Progress moved: the poll saw the job running in some stage with a fraction strictly inside (0, 1).
        XCTAssert(seen.contains { $0.0 != nil && $0.1 > 0 && $0.1 < 1 }, "no intermediate progress in \(seen)")

        // Clusters: the shape of `cluster --json`, and the same clusters the command line finds for these images.
        let clustersResponse = try service.request("GET", "/v1/jobs/\(id)/clusters")
        XCTAssertEqual(clustersResponse.status, 200)
        let clusters = try TestService.object(clustersResponse)
        XCTAssertEqual(clusters["clusters"] as? Int, 2)
        XCTAssertEqual(clusters["clusters_chosen_by"] as? String, "labels")
        let assignments = try XCTUnwrap(clusters["assignments"] as? [[String: Any]])
        XCTAssertEqual(assignments.map { $0["image"] as? String }, twoGroupImages.map { "\($0.0)/\($0.1)" })
        XCTAssertEqual(assignments.map { $0["label"] as? String }, twoGroupImages.map(\.0))
        let metrics = try XCTUnwrap(clusters["metrics"] as? [String: Double])
        let cli = try clusterWithCommandLine()
        XCTAssertEqual(assignments.map { $0["cluster"] as? Int }, cli.assignments)
        // (Foundation's JSON parser may round the last digit of what the server printed exactly.)
        XCTAssertEqual(metrics["nmi"]!, cli.metrics!.nmi, accuracy: 1e-12)
        XCTAssertEqual(metrics["ari"]!, cli.metrics!.ari, accuracy: 1e-12)
        XCTAssertEqual(metrics["f1"]!, cli.metrics!.f1, accuracy: 1e-12)

        // The heat map: a PNG of the 224×224 crop.
        let png = try service.request("GET", "/v1/jobs/\(id)/images/3/alpha.png")
        XCTAssertEqual(png.status, 200)
        XCTAssertEqual(png.header("Content-Type"), "image/png")
        let heatMap = try ImageDecoder.decode(Data(png.body))
        XCTAssertEqual([heatMap.width, heatMap.height], [224, 224])
        XCTAssertEqual(try service.request("GET", "/v1/jobs/\(id)/images/6/alpha.png").status, 404)

        // HEAD answers with GET's fields and no body; the listing has the job; /metrics counts it.
        let get = try service.request("GET", "/v1/jobs/\(id)")
        let head = try service.request("HEAD", "/v1/jobs/\(id)")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), get.header("Content-Length"))
        XCTAssertEqual(head.body, [])
        let list = try TestService.object(try service.request("GET", "/v1/jobs?limit=5"))
        XCTAssertEqual((list["jobs"] as? [[String: Any]])?.map { $0["id"] as? String }, [id])
        XCTAssert(list["next"] is NSNull)
        let metricsText = try service.request("GET", "/metrics")
        XCTAssertEqual(metricsText.header("Content-Type"), MetricsText.contentType)
        for line in ["ac_jobs{status=\"succeeded\"} 1", "ac_images_processed_total 6", "ac_jobs_finished_total{outcome=\"succeeded\"} 1",
                     "ac_stage_duration_seconds_count{stage=\"features\"} 1", "ac_http_responses_total{status=\"202\"} 1"] {
            XCTAssert(metricsText.bodyText.contains(line + "\n"), "no '\(line)' in /metrics:\n\(metricsText.bodyText)")
        }
        let rateLine = metricsText.bodyText.split(separator: "\n").first { $0.hasPrefix("ac_estimate_sgemm_flops ") }
        XCTAssertGreaterThan(Double(rateLine?.split(separator: " ").last ?? "") ?? 0, 1e9, "no sgemm rate in /metrics")
        let blas = BLASStatus.current.report
        XCTAssert(metricsText.bodyText.contains(
            "ac_blas_info{version=\"\(blas.version)\",kernels=\"\(blas.coreName)\",openblas_coretype=\"\(blas.coreTypeVariable ?? "")\",check=\"passed\"} 1\n"),
            metricsText.bodyText)

        // /healthz names the BLAS, its kernels and the check's result.
        let health = try TestService.object(try service.request("GET", "/healthz"))
        XCTAssertEqual(health["status"] as? String, "ok")
        let healthBLAS = health["blas"] as? [String: Any]
        XCTAssertEqual(healthBLAS?["version"] as? String, blas.version)
        XCTAssertEqual(healthBLAS?["kernels"] as? String, blas.coreName)
        XCTAssertEqual(healthBLAS?["check"] as? String, "passed")
        XCTAssertEqual(healthBLAS?["openblas_coretype"] as? String, ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
        XCTAssertGreaterThan(healthBLAS?["sgemm_gflops"] as? Double ?? 0, 1)

        // DELETE removes the job, its results and its files.
        XCTAssertEqual(service.storedImages.count, 6)
        XCTAssertEqual(try service.request("DELETE", "/v1/jobs/\(id)").status, 204)
        XCTAssertEqual(try service.request("GET", "/v1/jobs/\(id)").status, 404)
        XCTAssertEqual(service.storedImages, [])
    }

    /// The same images through `cluster DIR --tau 1`.
    private func clusterWithCommandLine() throws -> ClusterReport {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (label, file) in twoGroupImages {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(label), withIntermediateDirectories: true)
            try Data(try fixtureImage(file)).write(to: folder.appendingPathComponent("\(label)/\(file)"))
        }
        return try ClusterRun(options: ClusterCommand.parse([
            folder.path, "--backbone", "efficientnet-lite0", "--tau", "1",
            "--registry", repositoryRoot.appendingPathComponent("config/backbones.json").path,
            "--weights-dir", try weightsDirectoryOrSkip()])).execute()
    }

    func testTarUploadWithANormalFolderRunsSemiSupervised() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService()
        var tar = TarBuilder()
        for (label, file) in twoGroupImages { tar.file("batch/\(label)/\(file)", try fixtureImage(file)) }
        tar.file("normal/jpeg_baseline420_64x48.jpg", try fixtureImage("jpeg_baseline420_64x48.jpg"))
        tar.file("normal/png_rgb8_37x23.png", try fixtureImage("png_rgb8_37x23.png"))
        tar.file("batch/photo/.DS_Store", Array("not an image".utf8))  // hidden files are skipped
        tar.end()
        let posted = try service.request(
            "POST", "/v1/jobs?tau=0.5&clusters=2", headers: [("Content-Type", "application/x-tar")], body: tar.bytes)
        XCTAssertEqual(posted.status, 202, posted.bodyText)
        let created = try TestService.object(posted)
        XCTAssertEqual(created["images"] as? Int, 6)
        XCTAssertEqual(created["normal_images"] as? Int, 2)
        XCTAssertEqual((created["options"] as? [String: Any])?["mode"] as? String, "semi-supervised")
        let (job, _) = try service.waitForJob(created["id"] as! String)
        XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)")
        let clusters = try TestService.object(try service.request("GET", "/v1/jobs/\(job["id"] as! String)/clusters"))
        XCTAssertEqual(clusters["clusters_chosen_by"] as? String, "given")
        XCTAssertEqual((clusters["assignments"] as? [[String: Any]])?.count, 6)
    }

    func testExcludedLabelsAreLeftOutOfTheClustersButKeptAsReferences() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService()
        let posted = try service.post(try twoGroupParts() + [FormPart(name: "options", data: Array(#"{"exclude": ["gray"], "mode": "average"}"#.utf8))])
        XCTAssertEqual(posted.status, 202, posted.bodyText)
        let id = try TestService.object(posted)["id"] as! String
        XCTAssertEqual(try service.waitForJob(id).job["status"] as? String, "succeeded")
        let clusters = try TestService.object(try service.request("GET", "/v1/jobs/\(id)/clusters"))
        XCTAssertEqual(clusters["clusters"] as? Int, 1)
        XCTAssertEqual((clusters["assignments"] as? [[String: Any]])?.map { $0["label"] as? String }, ["photo", "photo", "photo"])
        // Every image still has its heat map (average mode: uniform α).
        XCTAssertEqual(try service.request("GET", "/v1/jobs/\(id)/images/0/alpha.png").status, 200)
    }

    func testEveryClientErrorHasItsStatusAndCodeAndTheServerKeepsServing() throws {
        let token = "test-token-0123456789abcdef"
        let service = try TestService { config in
            config.token = token
            config.maxBodyBytes = 2 << 20
            config.headerTimeout = 1
        }
        let auth = [("Authorization", "Bearer \(token)")]
        func expect(_ response: RawResponse, _ status: Int, _ code: String, _ message: String? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertEqual(response.status, status, response.bodyText, file: file, line: line)
            let error = try TestService.object(response)["error"] as? [String: Any]
            XCTAssertEqual(error?["code"] as? String, code, response.bodyText, file: file, line: line)
            if let message { XCTAssert((error?["message"] as? String ?? "").contains(message), response.bodyText, file: file, line: line) }
            XCTAssertEqual(try service.request("GET", "/healthz").status, 200, "server stopped answering", file: file, line: line)
        }
        let images = try twoGroupParts()
        func options(_ json: String) -> FormPart { FormPart(name: "options", data: Array(json.utf8)) }

        try expect(try service.post(images + [options("{\"tau\": ")], headers: auth), 400, "invalid_option", "options must be a JSON object")
        try expect(try service.post(images + [options(#"{"colour": "red"}"#)], headers: auth), 400, "unknown_option", "unknown option(s): colour")
        try expect(try service.post(images + [options(#"{"tau": -1}"#)], headers: auth), 400, "invalid_option", "'tau'")
        try expect(try service.post(images + [options(#"{"clusters": 7}"#)], headers: auth), 400, "invalid_option", "only 6 images")
        try expect(try service.post(images + [options(#"{"mode": "semi-supervised"}"#)], headers: auth), 400, "invalid_option", "needs normal reference images")
        try expect(try service.post(images + [options(#"{"backbone": "dinov2-vits14", "crop": 300}"#)], headers: auth), 400, "invalid_option", "must be a multiple of 14; got 300")
        try expect(try service.post([images[0]], headers: auth), 400, "invalid_option", "at least 2 images")
        try expect(try service.post([options("{}")], headers: auth), 400, "no_images")
        try expect(try service.post([FormPart(name: "images", filename: nil, data: [1])], headers: auth), 400, "missing_filename")
        try expect(try service.post([FormPart(name: "pictures", filename: "a.png", data: [1])], headers: auth), 400, "unknown_form_field")
        try expect(try service.post([FormPart(name: "images", filename: "../a.png", data: [1])], headers: auth), 400, "file_name_parent_reference")

        // Corrupt images: 422 naming each one; nothing is kept.
        let corrupt = try service.post(images + [
            FormPart(name: "images", filename: "gray/broken.png", data: try fixtureImage("broken_png_truncated.png")),
            FormPart(name: "images", filename: "gray/bomb.png", data: try fixtureImage("broken_png_huge_100000x100000.png")),
        ], headers: auth)
        try expect(corrupt, 422, "invalid_images", "2 of 8 images cannot be used")
        let files = try XCTUnwrap((try TestService.object(corrupt)["error"] as? [String: Any])?["files"] as? [[String: String]])
        XCTAssertEqual(files.map { $0["name"] }, ["gray/broken.png", "gray/bomb.png"])
        XCTAssert(files[1]["reason"]!.contains("pixels"), files[1]["reason"]!)
        XCTAssertEqual(service.storedImages, [])

        // A truncated body (the closing boundary never comes).
        var (contentType, body) = multipartBody(images)
        body.removeLast(20)
        try expect(try service.request("POST", "/v1/jobs", headers: auth + [("Content-Type", contentType)], body: body), 400, "unterminated_part")
        XCTAssertEqual(service.storedImages, [])
        // Over the body limit: refused from the head, before any of the body is read.
        try expect(try service.request("POST", "/v1/jobs", headers: auth + [("Content-Type", contentType), ("Content-Length", "3000000")]), 413, "body_too_large")
        try expect(try service.request("POST", "/v1/jobs", headers: auth + [("Content-Type", "image/png")], body: [1, 2]), 415, "unsupported_media_type")
        try expect(try service.request("PUT", "/v1/jobs", headers: auth, body: [1]), 405, "method_not_allowed")
        try expect(try service.request("FOO", "/healthz", headers: auth), 501, "method_not_implemented")
        XCTAssertEqual(try service.request("GET", "/v1/jobs", headers: auth, body: Array("ignored".utf8)).status, 200)
        try expect(try service.request("POST", "/v1/jobs", headers: auth + [("Content-Type", contentType)],
                                       body: multipartBody(images + [options(#"{"backbone": "dino-vitb8"}"#)]).body),
                   400, "backbone_unavailable", "no weights on this server")
        try expect(try service.request("GET", "/v1/jobs/0123456789abcdef0123456789abcdef", headers: auth), 404, "not_found")
        try expect(try service.request("GET", "/v1/jobs/nope/clusters", headers: auth), 404, "not_found")
        try expect(try service.request("GET", "/v2/things", headers: auth), 404, "not_found")
        try expect(try service.request("GET", "/v1/jobs?limit=1000", headers: auth), 400, "invalid_parameter")
        try expect(try service.request("GET", "/v1/jobs?before=x", headers: auth), 400, "invalid_parameter")

        // Tokens: missing and wrong are 401 with a challenge; /healthz stays open.
        let missing = try service.request("GET", "/v1/jobs")
        try expect(missing, 401, "unauthorized", "needs 'Authorization: Bearer <token>'")
        XCTAssertEqual(missing.header("WWW-Authenticate"), "Bearer")
        try expect(try service.request("GET", "/v1/jobs", headers: [("Authorization", "Bearer \(token)x")]), 401, "unauthorized", "not valid")
        try expect(try service.post(images, headers: [("Authorization", "Basic abc")]), 401, "unauthorized")
        XCTAssertEqual(try service.request("GET", "/v1/backbones", headers: auth).status, 200)

        // A header section over 16 KiB.
        try expect(try service.request("GET", "/v1/jobs", headers: auth + [("X-Padding", String(repeating: "a", count: 17 * 1024))]), 431, "header_too_large")

        // A slow client: half a request head, then nothing; the server answers 408 after the 1 s header timeout.
        let slow = try RawHTTPClient(port: service.port, timeout: .seconds(5))
        try slow.send("GET /v1/jobs HTTP/1.1\nHost: localhost\n")
        let started = Date()
        try expect(try slow.expectResponse(), 408, "request_timeout")
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        XCTAssert(slow.waitForClose())
    }

    func testACostlyExactJobIsRefusedWithAnEstimateAndAutoFitsTheBudget() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService { config in
            config.maxExactSeconds = 1
            config.searchBudgetSeconds = 1
        }
        // 24 images: 276 pairs of 784×784×2048 GEMMs, 6.9·10¹¹ flop, over 1 s on any 2-core machine.
        let parts = try (0..<4).flatMap { round in
            try twoGroupParts().map { FormPart(name: $0.name, filename: $0.filename!.replacingOccurrences(of: "/", with: "/\(round)-"), data: $0.data) }
        }
        let refused = try service.post(parts)
        XCTAssertEqual(refused.status, 422, refused.bodyText)
        let error = try XCTUnwrap(try TestService.object(refused)["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "too_expensive")
        XCTAssert((error["message"] as? String ?? "").contains("the exact patch weights of 24 images would take about"), "\(error)")
        XCTAssert((error["message"] as? String ?? "").contains(#"send {"search": "auto"}"#), "\(error)")
        XCTAssertEqual(service.storedImages, [])

        let posted = try service.post(parts + [FormPart(name: "options", data: Array(#"{"search": "auto", "seed": 4}"#.utf8))])
        XCTAssertEqual(posted.status, 202, posted.bodyText)
        let created = try TestService.object(posted)
        let estimate = try XCTUnwrap(created["estimate"] as? [String: Any])
        XCTAssertEqual(estimate["search_chosen_by"] as? String, "auto (budget 1 s)")
        XCTAssertLessThanOrEqual(estimate["weights_seconds"] as? Double ?? 99, 1.05)
        let options = try XCTUnwrap(created["options"] as? [String: Any])
        XCTAssertEqual(options["search"] as? String, "scalable", "auto is resolved and stored: \(options)")
        XCTAssertEqual(options["seed"] as? Int, 4)
        XCTAssertEqual(estimate["search"] as? String, NeighbourSearch(
            references: options["references"] as? Int, projection: options["projection"] as? Int, seed: 4).description)
        let (job, _) = try service.waitForJob(created["id"] as! String)
        XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)")
        XCTAssertEqual(job["estimate"] as? NSDictionary, estimate as NSDictionary)
    }

    func testDeletingARunningJobCancelsItPromptly() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService()
        // Enough images that the features stage lasts a while.
        let parts = try (0..<8).flatMap { _ in try twoGroupParts() }.enumerated().map { index, part in
            FormPart(name: part.name, filename: "g\(index % 2)/\(index)-\(part.filename!.split(separator: "/").last!)", data: part.data)
        }
        let id = try TestService.object(try service.post(parts))["id"] as! String
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try TestService.object(try service.request("GET", "/v1/jobs/\(id)"))["status"] as? String) != "running" {
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertEqual(service.service.queue.runningCount, 1)
        let started = Date()
        XCTAssertEqual(try service.request("DELETE", "/v1/jobs/\(id)").status, 204)
        while service.service.queue.runningCount > 0, Date().timeIntervalSince(started) < 30 { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(service.service.queue.runningCount, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the worker did not stop promptly")
        XCTAssertEqual(try service.request("GET", "/v1/jobs/\(id)").status, 404)
        XCTAssertEqual(service.storedImages, [])
    }

    /// A client that lost the 202 (a dropped connection, a restarted server) retries with the same
    /// Idempotency-Key and gets the job it made instead of a second one.
    func testAnUploadRepeatedWithItsIdempotencyKeyGetsTheSameJob() throws {
        _ = try weightsDirectoryOrSkip()
        let service = try TestService()
        let parts = try twoGroupParts()
        let first = try service.post(parts, headers: [("Idempotency-Key", "batch-2026-11-30-a")])
        XCTAssertEqual(first.status, 202, first.bodyText)
        let id = try XCTUnwrap(try TestService.object(first)["id"] as? String)
        XCTAssertNil(first.header("Idempotent-Replayed"))

        // The same images and options under another multipart boundary (curl draws a new one each time),
        // and the key as an IETF quoted string: the same job, 200, nothing stored.
        let (contentType, body) = multipartBody(parts, boundary: "another-boundary-x9")
        let again = try service.request("POST", "/v1/jobs", headers: [
            ("Content-Type", contentType), ("Idempotency-Key", "\"batch-2026-11-30-a\""),
        ], body: body)
        XCTAssertEqual(again.status, 200, again.bodyText)
        XCTAssertEqual(try TestService.object(again)["id"] as? String, id)
        XCTAssertEqual(again.header("Location"), "/v1/jobs/\(id)")
        XCTAssertEqual(again.header("Idempotent-Replayed"), "true")
        XCTAssertEqual(service.storedImages.count, 6, "the repeated upload left files behind")

        // The key with another upload (other options): refused, nothing stored.
        let reused = try service.post(parts + [FormPart(name: "options", data: Array(#"{"tau": 3}"#.utf8))],
                                      headers: [("Idempotency-Key", "batch-2026-11-30-a")])
        XCTAssertEqual(reused.status, 422, reused.bodyText)
        XCTAssertEqual((try TestService.object(reused)["error"] as? [String: Any])?["code"] as? String, "idempotency_key_reused")
        XCTAssert(reused.bodyText.contains(id), reused.bodyText)
        XCTAssertEqual(service.storedImages.count, 6)
        // The same names and options, one image's bytes those of another: a different upload too.
        var swapped = parts
        swapped[0].data = parts[1].data
        let otherBytes = try service.post(swapped, headers: [("Idempotency-Key", "batch-2026-11-30-a")])
        XCTAssertEqual(otherBytes.status, 422, otherBytes.bodyText)
        XCTAssertEqual(service.storedImages.count, 6)

        for bad in [[("Idempotency-Key", "has space")], [("Idempotency-Key", String(repeating: "k", count: 256))],
                    [("Idempotency-Key", "a"), ("Idempotency-Key", "b")], [("Idempotency-Key", "\"\"")]] {
            let refused = try service.post(parts, headers: bad)
            XCTAssertEqual(refused.status, 400, "\(bad): \(refused.bodyText)")
            XCTAssertEqual((try TestService.object(refused)["error"] as? [String: Any])?["code"] as? String,
                           "invalid_idempotency_key", "\(bad)")
        }
        let list = try TestService.object(try service.request("GET", "/v1/jobs"))
        XCTAssertEqual((list["jobs"] as? [[String: Any]])?.map { $0["id"] as? String }, [id])

        // Deleting the job frees the key.
        XCTAssertEqual(try service.request("DELETE", "/v1/jobs/\(id)").status, 204)
        let fresh = try service.post(parts, headers: [("Idempotency-Key", "batch-2026-11-30-a")])
        XCTAssertEqual(fresh.status, 202, fresh.bodyText)
        let freshID = try XCTUnwrap(try TestService.object(fresh)["id"] as? String)
        XCTAssertNotEqual(freshID, id)
        XCTAssertEqual(try service.request("DELETE", "/v1/jobs/\(freshID)").status, 204)
    }

    func testAFullQueueIsRefusedWith429() throws {
        _ = try weightsDirectoryOrSkip()
        // The first job holds its result transaction open for 2 s, so the queue stays full through the checks.
        let service = try TestService { $0.queueLimit = 1; $0.testPauseBeforeCommit = 2000 }
        let parts = try twoGroupParts()
        let first = try TestService.object(try service.post(parts))["id"] as! String
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, service.service.queue.runningCount == 0 { Thread.sleep(forTimeInterval: 0.01) }
        let second = try service.post(parts, headers: [("Idempotency-Key", "second")])
        XCTAssertEqual(second.status, 202)
        let third = try service.post(parts)
        XCTAssertEqual(third.status, 429, third.bodyText)
        XCTAssertEqual(third.header("Retry-After"), "30")
        XCTAssertEqual((try TestService.object(third)["error"] as? [String: Any])?["code"] as? String, "queue_full")
        // With the queue still full, the repeat of the second upload gets its job; a new keyed upload is
        // read (its key could have been a repeat) and then refused.
        let repeated = try service.post(parts, headers: [("Idempotency-Key", "second")])
        XCTAssertEqual(repeated.status, 200, repeated.bodyText)
        XCTAssertEqual(try TestService.object(repeated)["id"] as? String, try TestService.object(second)["id"] as? String)
        let fourth = try service.post(parts, headers: [("Idempotency-Key", "fourth")])
        XCTAssertEqual(fourth.status, 429, fourth.bodyText)
        XCTAssertEqual(service.storedImages.count, 12, "the refused uploads left files behind")
        for id in [first, try TestService.object(second)["id"] as! String] {
            XCTAssertEqual(try service.request("DELETE", "/v1/jobs/\(id)").status, 204)
        }
    }
}
