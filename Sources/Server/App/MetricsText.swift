// GET /metrics in the Prometheus text exposition format (version 0.0.4): jobs by state, jobs finished,
// images processed, time per stage, the queue, the sgemm rate cost estimates use, and HTTP responses by
// status and connections.

enum MetricsText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(
        jobs: [JobStatus: Int], waiting: Int, job: JobMetrics.Snapshot, http: HTTPServerMetrics.Snapshot,
        estimateRate: Double, blas: BLASStatus
    ) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += name + sample.labels + " " + sample.value + "\n" }
        }
        family("ac_jobs", "gauge", "Jobs in the database by status.",
               JobStatus.allCases.map { ("{status=\"\($0.rawValue)\"}", String(jobs[$0] ?? 0)) })
        family("ac_queue_waiting", "gauge", "Jobs waiting for a worker in this process.", [("", String(waiting))])
        family("ac_jobs_finished_total", "counter", "Jobs finished by this process, by outcome.",
               ["succeeded", "failed", "cancelled"].map { ("{outcome=\"\($0)\"}", String(job.jobsFinished[$0] ?? 0)) })
        family("ac_images_processed_total", "counter", "Images run through a backbone (normal references included).",
               [("", String(job.imagesProcessed))])
        out += "# HELP ac_stage_duration_seconds Time jobs spent per stage.\n# TYPE ac_stage_duration_seconds summary\n"
        for stage in JobRunner.stages {
            out += "ac_stage_duration_seconds_sum{stage=\"\(stage)\"} \(job.stageSeconds[stage] ?? 0)\n"
            out += "ac_stage_duration_seconds_count{stage=\"\(stage)\"} \(job.stageCounts[stage] ?? 0)\n"
        }
        family("ac_estimate_sgemm_flops", "gauge",
               "The sgemm rate (flop/s) cost estimates use: measured at start, then following finished jobs.",
               [("", String(Int(estimateRate.rounded())))])
        let r = blas.report
        family("ac_blas_info", "gauge",
               "The BLAS library, the kernel set it picked, OPENBLAS_CORETYPE and the start-up check's result (always 1).",
               [("{version=\"\(r.version)\",kernels=\"\(r.coreName)\",openblas_coretype=\"\(r.coreTypeVariable ?? "")\",check=\"\(r.passed ? "passed" : "failed")\"}", "1")])
        family("ac_blas_check_worst_error_ratio", "gauge",
               "The start-up check's largest error relative to its bound (below 1 passes).", [("", String(r.worstRatio))])
        family("ac_blas_sgemm_flops", "gauge", "The sgemm rate (flop/s, 768³) measured at start.",
               [("", String(Int(blas.sgemmRate.rounded())))])
        family("ac_http_responses_total", "counter", "HTTP responses sent, by status.",
               http.responsesByStatus.keys.sorted().map { ("{status=\"\($0)\"}", String(http.responsesByStatus[$0]!)) })
        family("ac_http_connections_open", "gauge", "Open HTTP connections.", [("", String(http.openConnections))])
        family("ac_http_connections_accepted_total", "counter", "HTTP connections accepted.", [("", String(http.acceptedConnections))])
        family("ac_http_connections_rejected_total", "counter", "HTTP connections refused with 503 (too many open).",
               [("", String(http.rejectedConnections))])
        return out
    }
}
