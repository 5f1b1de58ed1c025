// What `cluster` prints: a table for people or one JSON object (`--json`) whose shape the HTTP
// `/clusters` endpoint shares: {"clusters", "assignments": [{"image", "label", "cluster"}], "metrics"}.
import Engine
import Foundation

struct ClusterReport {
    let clusters: Int
    /// How K was decided: "given", "labels" or "auto (…)".
    let chosenBy: String
    /// The nearest-patch search, when patch weights were computed ("exact", or the scalable settings).
    var search: String? = nil
    /// Image names from the labels CSV (nil without one); `rows` are the input row indices.
    let images: [String?]
    let rows: [Int]
    let labels: [String]?
    let assignments: [Int]
    let metrics: ClusteringMetrics?

    func json() -> String {
        var out = "{\"clusters\": \(clusters), \"clusters_chosen_by\": \(JSONString.quoted(chosenBy)), "
        if let search { out += "\"search\": \(JSONString.quoted(search)), " }
        out += "\"assignments\": ["
        for i in assignments.indices {
            let image = images[i].map(JSONString.quoted) ?? String(rows[i])
            let label = labels.map { ", \"label\": " + JSONString.quoted($0[i]) } ?? ""
            out += (i == 0 ? "" : ", ") + "{\"image\": \(image)\(label), \"cluster\": \(assignments[i])}"
        }
        out += "]"
        if let m = metrics { out += ", \"metrics\": {\"nmi\": \(m.nmi), \"ari\": \(m.ari), \"f1\": \(m.f1)}" }
        return out + "}\n"
    }

    func table() -> String {
        var out = "clusters: \(clusters) (\(chosenBy))\n"
        if let search, search != "exact" { out += "search: \(search)\n" }
        if let m = metrics {
            out += String(format: "nmi %.4f  ari %.4f  f1 %.4f\n", m.nmi, m.ari, m.f1)
        }
        out += "image\tlabel\tcluster\n"
        for i in assignments.indices {
            out += "\(images[i] ?? String(rows[i]))\t\(labels?[i] ?? "-")\t\(assignments[i])\n"
        }
        return out
    }
}
