// The JSON the API returns for jobs: the job resource, the listing page and the clusters document (the
// shape of `cluster --json`, plus each image's position and heat-map link). Built as text with
// `JSONString.quoted` for every string; the stored options, timings and metrics are JSON the server wrote.
import Engine
import Foundation

enum JobJSON {
    /// `{"id", "status", "stage", "progress", "options", "images", "normal_images", "created_at", …}`.
    static func resource(_ job: JobRecord) -> String {
        var fields = [
            "\"id\": \(JSONString.quoted(job.id))",
            "\"status\": \(JSONString.quoted(job.status.rawValue))",
            "\"stage\": \(job.stage.map(JSONString.quoted) ?? "null")",
            "\"progress\": \((job.progress * 1000).rounded() / 1000)",
            "\"options\": \(job.optionsJSON)",
            "\"images\": \(job.imageCount)",
            "\"normal_images\": \(job.normalCount)",
            "\"created_at\": \(JSONString.quoted(timestamp(job.createdAt)))",
            "\"updated_at\": \(JSONString.quoted(timestamp(job.updatedAt)))",
            "\"attempt\": \(job.attempt)",
            "\"timings\": \(job.timingsJSON ?? "{}")",
        ]
        if let estimate = job.estimateJSON { fields.append("\"estimate\": \(estimate)") }
        if let clusters = job.clusterCount { fields.append("\"clusters\": \(clusters)") }
        if let code = job.errorCode {
            fields.append("\"error\": {\"code\": \(JSONString.quoted(code)), \"message\": \(JSONString.quoted(job.errorMessage ?? ""))}")
        }
        var links = ["\"self\": \(JSONString.quoted("/v1/jobs/\(job.id)"))"]
        if job.status == .succeeded { links.append("\"clusters\": \(JSONString.quoted("/v1/jobs/\(job.id)/clusters"))") }
        fields.append("\"links\": {" + links.joined(separator: ", ") + "}")
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func page(_ page: JobPage) -> String {
        "{\"jobs\": [" + page.jobs.map(resource).joined(separator: ", ") + "], \"next\": "
            + (page.next.map { JSONString.quoted($0.description) } ?? "null") + "}"
    }

    /// `{"clusters", "clusters_chosen_by", "assignments": [{"image", "label"?, "cluster", "position", "alpha"}], "metrics"?}`.
    /// Images left out by an excluded label have no assignment and are not listed, as with `cluster --json`.
    static func clusters(job: JobRecord, options: JobOptions, images: [ImageRecord], assignments: [Int?]) -> String {
        let labelled = images.allSatisfy { $0.image.label != nil }
        let keptLabels = labelled ? zip(images, assignments).compactMap { $1 == nil ? nil : $0.image.label! } : nil
        let (_, chosenBy) = ClusteringPipeline.resolveCount(options.clusters, labels: keptLabels)
        var entries: [String] = []
        for (record, cluster) in zip(images, assignments) {
            guard let cluster else { continue }
            var entry = "{\"image\": \(JSONString.quoted(displayName(record.image)))"
            if labelled { entry += ", \"label\": \(JSONString.quoted(record.image.label!))" }
            entry += ", \"cluster\": \(cluster), \"position\": \(record.position)"
            entry += ", \"alpha\": \(JSONString.quoted("/v1/jobs/\(job.id)/images/\(record.position)/alpha.png"))}"
            entries.append(entry)
        }
        var out = "{\"job\": \(JSONString.quoted(job.id)), \"clusters\": \(job.clusterCount ?? 0), "
        out += "\"clusters_chosen_by\": \(JSONString.quoted(chosenBy)), \"assignments\": [" + entries.joined(separator: ", ") + "]"
        if let metrics = job.metricsJSON { out += ", \"metrics\": \(metrics)" }
        return out + "}"
    }

    /// RFC 3339 UTC with milliseconds: `2026-11-30T07:29:05.123Z`.
    static func timestamp(_ milliseconds: Int64) -> String { HTTPDate.rfc3339(milliseconds: milliseconds) }
}
