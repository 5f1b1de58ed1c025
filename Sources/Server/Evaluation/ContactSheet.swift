// Per cluster of a run, a row of member thumbnails, each beside its α heat map (the backbone's cropped view,
// AlphaHeatMap), as small base64 PNGs inside the HTML so the report is one self-contained file. Only a few
// members per cluster are drawn, spread evenly over the cluster's members (which are in label order), so a
// mixed cluster shows its mix and the file stays a few MB.
import Engine
import Foundation

enum ContactSheet {
    /// Side of each thumbnail, in pixels.
    static let thumbnailSide = 96
    /// Members drawn per cluster.
    static let membersPerCluster = 8

    /// HTML for every cluster of `detail`: a heading with the cluster's label counts, then the thumbnails.
    static func html(_ detail: RunDetail) throws -> String {
        let preprocessing = try detail.spec.preprocessing()
        let thumbnail = try Preprocessing(resize: thumbnailSide, crop: thumbnailSide)
        let grid = Int(Double(detail.patches).squareRoot().rounded())
        let table = ContingencyTable(trueLabels: detail.keptLabels, clusters: detail.assignments)
        let classOfCluster = ClusteringMetrics.matchClustersToClasses(table)
        var out = ""
        for (column, cluster) in table.clusters.enumerated() {
            let members = detail.assignments.indices.filter { detail.assignments[$0] == cluster }
            let matched = classOfCluster[column].map { table.trueClasses[$0] }
            let counts = table.trueClasses.indices.map { ($0, table[$0, column]) }.filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }
            out += "<h4>cluster \(cluster): \(members.count) images"
            out += matched.map { " (matched to <b>\(HTMLText.escape($0))</b>)" } ?? " (unmatched)"
            out += " — " + counts.map { "\(HTMLText.escape(table.trueClasses[$0.0])) \($0.1)" }.joined(separator: ", ") + "</h4>\n<div class=\"sheet\">"
            for member in spread(members, count: membersPerCluster) {
                let row = detail.kept[member]
                let file = detail.images[row]
                let image = try ImageDecoder.decode(contentsOf: file.url)
                let view = try thumbnail.resized(preprocessing.cropped(image))
                var heatTag = ""
                if grid * grid == detail.patches {
                    let alpha = Array(detail.alpha[(row * detail.patches)..<((row + 1) * detail.patches)])
                    let heat = try AlphaHeatMap.render(image, alpha: alpha, gridHeight: grid, gridWidth: grid, preprocessing: preprocessing)
                    heatTag = try imageTag(thumbnail.resized(heat), title: "α of \(file.name)")
                }
                let label = file.label ?? ""
                out += "<figure class=\"\(label == matched ? "hit" : "miss")\">" + (try imageTag(view, title: file.name)) + heatTag
                out += "<figcaption>\(HTMLText.escape(label))</figcaption></figure>"
            }
            if members.count > membersPerCluster { out += "<p class=\"more\">+\(members.count - membersPerCluster) more</p>" }
            out += "</div>\n"
        }
        return out
    }

    /// `count` of `items` at evenly spaced positions (all of them when there are no more than `count`).
    static func spread<T>(_ items: [T], count: Int) -> [T] {
        guard items.count > count else { return items }
        return (0..<count).map { items[$0 * items.count / count] }
    }

    static func imageTag(_ image: RGBImage, title: String) throws -> String {
        let png = try PNGEncoder.encode(image)
        return "<img alt=\"\(HTMLText.escape(title))\" title=\"\(HTMLText.escape(title))\" src=\"data:image/png;base64,\(Data(png).base64EncodedString())\">"
    }
}
