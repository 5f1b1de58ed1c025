// A small inline SVG line chart for the report: one metric against τ, one line per mode. τ values sit at
// evenly spaced positions (0, 0.5, 1, 2, 4 are roughly geometric, and even spacing keeps each readable).
// A series without τ (`average`) is drawn as a dashed horizontal line across the whole chart.
import Foundation

struct SVGLineChart {
    struct Series {
        var name: String
        var colour: String
        /// One value per x label (nil: no point); or a single value for a τ-independent, dashed line.
        var values: [Double?]
        var constant: Double?
    }

    var title: String
    var xLabels: [String]
    var series: [Series]
    var width = 300.0
    var height = 190.0

    func svg() -> String {
        let left = 38.0, right = 10.0, top = 22.0, bottom = 34.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let all = series.flatMap { $0.values.compactMap { $0 } + ($0.constant.map { [$0] } ?? []) }
        let low = (min(0, all.min() ?? 0) / 0.25).rounded(.down) * 0.25  // ARI can be negative
        let high = 1.0
        let inset = 12.0  // keeps the first and last points off the axes
        func x(_ i: Int) -> Double {
            xLabels.count == 1 ? left + plotWidth / 2 : left + inset + (plotWidth - 2 * inset) * Double(i) / Double(xLabels.count - 1)
        }
        func y(_ v: Double) -> Double { top + plotHeight * (high - v) / (high - low) }

        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"10\">"
        out += "<text x=\"\(f(left))\" y=\"13\" font-size=\"11\" font-weight=\"bold\">\(HTMLText.escape(title))</text>"
        var tick = low
        while tick <= high + 1e-9 {
            out += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y(tick)))\" y2=\"\(f(y(tick)))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(f(left - 4))\" y=\"\(f(y(tick) + 3))\" text-anchor=\"end\">\(String(format: "%.2f", tick))</text>"
            tick += 0.25
        }
        for (i, label) in xLabels.enumerated() {
            out += "<text x=\"\(f(x(i)))\" y=\"\(f(top + plotHeight + 13))\" text-anchor=\"middle\">\(HTMLText.escape(label))</text>"
        }
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 4))\" text-anchor=\"middle\">τ</text>"
        for s in series {
            if let c = s.constant {
                out += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y(c)))\" y2=\"\(f(y(c)))\" stroke=\"\(s.colour)\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"><title>\(HTMLText.escape(s.name)): \(String(format: "%.3f", c))</title></line>"
                continue
            }
            let points = s.values.enumerated().compactMap { i, v in v.map { (x(i), y($0), $0) } }
            if points.count > 1 {
                out += "<polyline fill=\"none\" stroke=\"\(s.colour)\" stroke-width=\"1.5\" points=\"" + points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ") + "\"/>"
            }
            for p in points {
                out += "<circle cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"2.5\" fill=\"\(s.colour)\"><title>\(HTMLText.escape(s.name)): \(String(format: "%.3f", p.2))</title></circle>"
            }
        }
        var legendX = left + 4
        for s in series {
            let legendY = top + 8
            out += "<line x1=\"\(f(legendX))\" x2=\"\(f(legendX + 12))\" y1=\"\(f(legendY - 3))\" y2=\"\(f(legendY - 3))\" stroke=\"\(s.colour)\" stroke-width=\"2\"\(s.constant != nil ? " stroke-dasharray=\"4 2\"" : "")/>"
            out += "<text x=\"\(f(legendX + 15))\" y=\"\(f(legendY))\">\(HTMLText.escape(s.name))</text>"
            legendX += 22 + 5.5 * Double(s.name.count)
        }
        return out + "</svg>"
    }

    /// Coordinates to one decimal: enough for screen pixels, and keeps the file small.
    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
