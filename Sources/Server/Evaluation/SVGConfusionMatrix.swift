// The confusion matrix of one run as inline SVG: rows are the true labels, columns the clusters, ordered so
// that each cluster sits under the label the Hungarian matching gave it (the F1 of ALGORITHM.md §7), which
// puts the correctly grouped images on the diagonal. Shade is the share of the row's images.
import Engine

struct SVGConfusionMatrix {
    let table: ContingencyTable

    init(labels: [String], assignments: [Int]) {
        table = ContingencyTable(trueLabels: labels, clusters: assignments)
    }

    /// Cluster columns (indices into `table.clusters`): matched clusters in their label's row order, then the rest.
    var columnOrder: [Int] {
        let classOfCluster = ClusteringMetrics.matchClustersToClasses(table)
        let matched = classOfCluster.indices.filter { classOfCluster[$0] != nil }.sorted { classOfCluster[$0]! < classOfCluster[$1]! }
        return matched + classOfCluster.indices.filter { classOfCluster[$0] == nil }
    }

    func svg() -> String {
        let cell = 34.0, labelWidth = 8.0 + 6.5 * Double(table.trueClasses.map(\.count).max() ?? 4), top = 40.0
        let columns = columnOrder
        let width = labelWidth + cell * Double(columns.count) + 10, height = top + cell * Double(table.classCount) + 10
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">"
        out += "<text x=\"\(Int(labelWidth))\" y=\"12\">clusters →</text>"
        for (c, column) in columns.enumerated() {
            let x = labelWidth + cell * (Double(c) + 0.5)
            out += "<text x=\"\(Int(x))\" y=\"\(Int(top - 6))\" text-anchor=\"middle\">\(table.clusters[column])</text>"
        }
        let rowTotals = table.classTotals
        for r in 0..<table.classCount {
            let y = top + cell * Double(r)
            out += "<text x=\"\(Int(labelWidth - 6))\" y=\"\(Int(y + cell / 2 + 4))\" text-anchor=\"end\">\(HTMLText.escape(table.trueClasses[r]))</text>"
            for (c, column) in columns.enumerated() {
                let count = table[r, column]
                let share = rowTotals[r] > 0 ? Double(count) / Double(rowTotals[r]) : 0
                let x = labelWidth + cell * Double(c)
                // White to dark blue by share; the count in white once the cell is dark enough.
                let shade = Int((255 * (1 - 0.85 * share)).rounded())
                out += "<rect x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(Int(cell))\" height=\"\(Int(cell))\" fill=\"rgb(\(shade),\(shade),255)\" stroke=\"#fff\"/>"
                if count > 0 {
                    out += "<text x=\"\(Int(x + cell / 2))\" y=\"\(Int(y + cell / 2 + 4))\" text-anchor=\"middle\" fill=\"\(share > 0.5 ? "#fff" : "#000")\">\(count)</text>"
                }
            }
        }
        return out + "</svg>"
    }
}
