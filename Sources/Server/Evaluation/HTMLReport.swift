// report.html: the evaluation for a person, in one self-contained file (inline CSS, SVG and base64 PNG; no
// script, font or image is fetched). Per category: the §8-style table, NMI/ARI/F1 against τ per backbone,
// and for the category's best run with patch weights (highest NMI among unsupervised and semi-supervised runs)
// its confusion matrix and a contact sheet per cluster.
import Engine
import Foundation

enum HTMLReport {
    static let modeColours: [PatchWeightMode: String] = [.average: "#7f7f7f", .unsupervised: "#1f77b4", .semiSupervised: "#d62728"]

    static func render(_ result: EvaluationResult, averages: [GroupAverage]) throws -> String {
        let s = result.settings
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Anomaly clustering evaluation</title>
            <style>
            body { font-family: sans-serif; margin: 2em; max-width: 1100px; color: #222; }
            table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 13px; }
            td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
            td.best { background: #fff3b0; font-weight: bold; }
            pre { background: #f4f4f4; padding: 0.6em; white-space: pre-wrap; }
            .charts svg { margin-right: 8px; }
            .sheet { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-start; }
            figure { margin: 0; padding: 2px; border: 2px solid #ccc; text-align: center; font-size: 11px; }
            figure.hit { border-color: #2ca02c; } figure.miss { border-color: #d62728; }
            figure img { display: inline-block; margin: 1px; }
            p.more { align-self: center; color: #666; }
            </style></head><body>
            <h1>Anomaly clustering evaluation</h1>
            <pre>\(HTMLText.escape(s.command))</pre>
            <p>Cells are NMI / ARI / F1. `average` does not depend on τ (one run, repeated on every τ row). Charts place τ
            values evenly; the dashed line is `average`. Contact sheets: each image's backbone view, then its α heat map;
            a green frame means the image's label is the label its cluster was matched to, red that it is not.</p>

            """
        if !averages.isEmpty { out += "<h2>Group averages</h2>\n" }
        for average in averages {
            let what = average.weighting == .images
                ? zip(average.categories, average.images).map { "\($0) \($1)" }.joined(separator: " + ") + " images, image-weighted"
                : average.categories.joined(separator: ", ") + ", each category counted once"
            out += "<h3>\(HTMLText.escape(average.group))</h3><p>\(HTMLText.escape(what))</p>\n"
            out += table(result, lookup: { average.metrics[$0] })
        }
        for category in result.categories {
            let runs = result.records.filter { $0.category == category.name }
            out += "<h2>\(HTMLText.escape(category.name))</h2>\n<p>\(HTMLText.escape(category.group)), \(category.images) images ("
            out += HTMLText.escape(category.labelCounts.map { "\($0.label) \($0.count)" }.joined(separator: ", ")) + ")"
            out += category.excluded > 0 ? ", \(category.excluded) excluded" : ""
            out += category.normals.map { ", \($0.count) normal references" } ?? ", no normal references"
            out += "</p>\n" + table(result, lookup: { setting in runs.first { RunSetting($0) == setting }?.outcome?.metrics })
            out += charts(result, runs: runs)
            if let detail = result.best[category.name] {
                let best = result.records[detail.record]
                out += "<h3>Best run with patch weights: \(HTMLText.escape(best.backbone)), \(best.mode.rawValue)"
                out += best.tau.map { ", τ = \(tauText($0))" } ?? ""
                out += " — " + ResultsMarkdown.cell(best.outcome!.metrics) + "</h3>\n"
                out += "<p>Confusion matrix (rows: labels; columns: clusters, matched ones first).</p>\n"
                out += SVGConfusionMatrix(labels: detail.keptLabels, assignments: detail.assignments).svg() + "\n"
                out += try ContactSheet.html(detail)
            }
        }
        return out + "</body></html>\n"
    }

    /// The §8-style table (rows backbone × τ, columns modes); the highest NMI of the table is highlighted.
    static func table(_ result: EvaluationResult, lookup: (RunSetting) -> ClusteringMetrics?) -> String {
        let s = result.settings
        let modes = ResultsMarkdown.columnOrder.filter(s.modes.contains)
        let taus: [Double?] = modes.contains { $0 != .average } ? s.taus : [nil]
        var cells = [[(RunSetting, ClusteringMetrics?)]]()
        for spec in s.backbones {
            for tau in taus {
                cells.append(modes.map { mode in
                    let setting = RunSetting(backbone: spec.name, mode: mode, tau: mode == .average ? nil : tau)
                    return (setting, lookup(setting))
                })
            }
        }
        let bestNMI = cells.joined().compactMap { $0.1?.nmi }.max()
        var out = "<table><tr><th>backbone</th><th>τ</th>" + modes.map { "<th>\($0.rawValue)</th>" }.joined() + "</tr>\n"
        for row in cells {
            let tau = row.first { $0.0.tau != nil }?.0.tau
            out += "<tr><td>\(HTMLText.escape(row[0].0.backbone))</td><td>\(tau.map(tauText) ?? "–")</td>"
            for (_, metrics) in row {
                guard let metrics else { out += "<td>–</td>"; continue }
                out += "<td\(metrics.nmi == bestNMI ? " class=\"best\"" : "")>\(ResultsMarkdown.cell(metrics))</td>"
            }
            out += "</tr>\n"
        }
        return out + "</table>\n"
    }

    /// Per backbone, NMI, ARI and F1 against τ: one line per τ-dependent mode, `average` dashed.
    static func charts(_ result: EvaluationResult, runs: [RunRecord]) -> String {
        let s = result.settings
        var out = ""
        for spec in s.backbones {
            out += "<div class=\"charts\">"
            for (name, metric) in [("NMI", \ClusteringMetrics.nmi), ("ARI", \ClusteringMetrics.ari), ("F1", \ClusteringMetrics.f1)] {
                var series = [SVGLineChart.Series]()
                for mode in ResultsMarkdown.columnOrder where s.modes.contains(mode) {
                    let mine = runs.filter { $0.backbone == spec.name && $0.mode == mode }
                    if mode == .average {
                        if let m = mine.first?.outcome?.metrics[keyPath: metric] {
                            series.append(.init(name: mode.rawValue, colour: modeColours[mode]!, values: [], constant: m))
                        }
                        continue
                    }
                    let values = s.taus.map { tau in mine.first { $0.tau == tau }?.outcome?.metrics[keyPath: metric] }
                    if values.contains(where: { $0 != nil }) {
                        series.append(.init(name: mode.rawValue, colour: modeColours[mode]!, values: values, constant: nil))
                    }
                }
                out += SVGLineChart(title: "\(spec.name) · \(name)", xLabels: s.taus.map(tauText), series: series).svg()
            }
            out += "</div>\n"
        }
        return out
    }
}
