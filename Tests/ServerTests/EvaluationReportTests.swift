// The output files agree with runs.json: every number of results.md is the JSON value to three decimals in
// the right table, row and column; runs.csv holds the JSON's exact values; report.html is self-contained.
import Engine
import Foundation
import XCTest

@testable import Server

/// The cells of results.md: (section heading, backbone, τ text, mode) → cell text.
func markdownCells(_ markdown: String) -> [String: String] {
    var cells = [String: String]()
    var heading = "", columns = [String]()
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        if line.hasPrefix("## ") || line.hasPrefix("### ") {
            heading = String(line.drop { $0 == "#" }.dropFirst())
            continue
        }
        guard line.hasPrefix("| ") else { continue }
        let fields = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        if fields[0] == "backbone" { columns = fields; continue }
        for column in 2..<fields.count { cells["\(heading)|\(fields[0])|\(fields[1])|\(columns[column])"] = fields[column] }
    }
    return cells
}

/// ".463 / −.018 / 1.000" → [0.463, -0.018, 1.0].
func parseCell(_ text: String) -> [Double] {
    text.components(separatedBy: " / ").map { part in
        var t = part.replacingOccurrences(of: "−", with: "-")
        if t.hasPrefix(".") { t = "0" + t } else if t.hasPrefix("-.") { t = "-0" + t.dropFirst() }
        return Double(t)!
    }
}

/// The parts of runs.json the consistency check reads. JSONDecoder, not JSONSerialization: the latter can hand
/// back a Double one ulp off (it goes through Decimal on Linux), and this check compares exact values.
struct RunsJSON: Decodable {
    struct Settings: Decodable { let taus: [Double]; let clusters: String }
    struct Run: Decodable {
        let category, backbone, mode, status: String
        let tau: Double?
        let images: Int
        let clusters: Int?
        let chosen_by: String?
        let nmi, ari, f1: Double?
    }
    struct Average: Decodable {
        struct Setting: Decodable { let backbone, mode: String; let tau: Double?; let nmi, ari, f1: Double }
        let group, weighting: String
        let categories: [String]
        let images: [Int]
        let settings: [Setting]
    }
    let settings: Settings
    let runs: [Run]
    let averages: [Average]

    init(contentsOf url: URL) throws { self = try JSONDecoder().decode(Self.self, from: Data(contentsOf: url)) }
}

/// Asserts that results.md and runs.csv carry exactly what runs.json says, for every run and every average.
func assertOutputsAgreeWithJSON(in folder: URL, file: StaticString = #filePath, line: UInt = #line) throws {
    let json = try RunsJSON(contentsOf: folder.appendingPathComponent("runs.json"))
    let tauTexts = json.settings.taus.map(tauText)
    let cells = markdownCells(try String(contentsOf: folder.appendingPathComponent("results.md"), encoding: .utf8))
    let csvLines = try String(contentsOf: folder.appendingPathComponent("runs.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
    XCTAssertEqual(csvLines[0], RunsFile.csvHeader, file: file, line: line)
    let header = csvLines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    let csvRows = csvLines.dropFirst().map { row in
        Dictionary(uniqueKeysWithValues: zip(header, row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
    }
    XCTAssertEqual(csvRows.count, json.runs.count, file: file, line: line)
    var checked = 0
    for (run, csv) in zip(json.runs, csvRows) {
        XCTAssertEqual(csv["category"], run.category, file: file, line: line)
        XCTAssertEqual(csv["mode"], run.mode, file: file, line: line)
        XCTAssertEqual(csv["tau"].flatMap(Double.init), run.tau, file: file, line: line)
        XCTAssertEqual(Int(csv["images"]!), run.images, file: file, line: line)
        XCTAssertEqual(csv["status"], run.status, file: file, line: line)
        // A τ-independent run (average) appears on every τ row of its table.
        for row in run.tau.map({ [tauText($0)] }) ?? tauTexts {
            let cell = cells["\(run.category)|\(run.backbone)|\(row)|\(run.mode)"]
            guard run.status == "ok" else {
                XCTAssertEqual(cell, "skipped", file: file, line: line)
                continue
            }
            let metrics = [run.nmi!, run.ari!, run.f1!]
            // With --clusters auto each cell also names its K: ".615 / .194 / .500 (K=5)".
            var text = cell ?? ".0 / .0 / .0"
            if json.settings.clusters == "auto" {
                XCTAssert(text.hasSuffix(" (K=\(run.clusters!))"), text, file: file, line: line)
                text = String(text[..<(text.range(of: " (K=")?.lowerBound ?? text.endIndex)])
            }
            XCTAssertEqual(text, metrics.map(ResultsMarkdown.decimal).joined(separator: " / "), "\(run.category) \(run.backbone) τ \(row) \(run.mode)", file: file, line: line)
            for (shown, exact) in zip(parseCell(text), metrics) { XCTAssertEqual(shown, exact, accuracy: 5e-4, file: file, line: line) }
            checked += 1
        }
        if run.status == "ok" {
            XCTAssertEqual(Double(csv["nmi"]!), run.nmi, "nmi in CSV", file: file, line: line)
            XCTAssertEqual(Double(csv["ari"]!), run.ari, "ari in CSV", file: file, line: line)
            XCTAssertEqual(Double(csv["f1"]!), run.f1, "f1 in CSV", file: file, line: line)
            XCTAssertEqual(Int(csv["clusters"]!), run.clusters, file: file, line: line)
            XCTAssertEqual(csv["chosen_by"], run.chosen_by, file: file, line: line)
        }
    }
    XCTAssertGreaterThan(checked, 0, file: file, line: line)
    for average in json.averages {
        let heading = "\(average.group), " + (average.weighting == "images" ? "image-weighted" : "each category counted once")
        for setting in average.settings {
            for row in setting.tau.map({ [tauText($0)] }) ?? tauTexts {
                let cell = cells["\(heading)|\(setting.backbone)|\(row)|\(setting.mode)"]
                XCTAssertEqual(cell, [setting.nmi, setting.ari, setting.f1].map(ResultsMarkdown.decimal).joined(separator: " / "),
                               "\(heading) \(row)", file: file, line: line)
            }
        }
    }
}

final class EvaluationReportTests: XCTestCase {
    func testMarkdownAndCSVNumbersEqualTheJSON() throws {
        let folder = try EvaluationFixtures.temporaryFolder("evaluation-report")
        defer { try? FileManager.default.removeItem(at: folder) }
        try EvaluationOutputs.write(try SyntheticEvaluation.result(), to: folder)
        try assertOutputsAgreeWithJSON(in: folder)

        // And the averages in the JSON are the hand-computed ones (EvaluationAveragingTests).
        let json = try RunsJSON(contentsOf: folder.appendingPathComponent("runs.json"))
        XCTAssertEqual(json.averages.map(\.group), ["object", "all", "all"])
        XCTAssertEqual(json.averages[0].images, [83, 50])
        let objectUnsupervised = try XCTUnwrap(json.averages[0].settings.first { $0.mode == "unsupervised" })
        XCTAssertEqual(objectUnsupervised.nmi, 54.8 / 133, accuracy: 1e-12)
        let markdown = try String(contentsOf: folder.appendingPathComponent("results.md"), encoding: .utf8)
        XCTAssert(markdown.contains("| dinov2-vits14 | 2 | .450 / .250 / .550 | .600 / .500 / .700 | .700 / .550 / .750 |"), markdown)
        XCTAssert(markdown.contains("| dinov2-vits14 | 2 | .050 / −.030 / .300 | .100 / −.020 / .320 | .300 / .100 / .400 |"))
        XCTAssert(markdown.contains("| dinov2-vits14 | 2 | .900 / .870 / .940 | .900 / .800 / .850 | skipped |"))
        XCTAssert(markdown.contains("bottle 83 + screw 50 = 133 images."))
    }

    func testDecimalsAreWrittenLikeTheReferenceTables() {
        XCTAssertEqual(ResultsMarkdown.decimal(0.4634), ".463")
        XCTAssertEqual(ResultsMarkdown.decimal(0.4635001), ".464")
        XCTAssertEqual(ResultsMarkdown.decimal(-0.0184), "−.018")
        XCTAssertEqual(ResultsMarkdown.decimal(-0.0001), ".000")
        XCTAssertEqual(ResultsMarkdown.decimal(1), "1.000")
        XCTAssertEqual(RunsFile.csvField("auto (Calinski–Harabasz)"), "auto (Calinski–Harabasz)")
        XCTAssertEqual(RunsFile.csvField("a,\"b\""), "\"a,\"\"b\"\"\"")
    }

    func testHTMLReportIsSelfContainedAndShowsTheTables() throws {
        let html = try HTMLReport.render(try SyntheticEvaluation.result(), averages: GroupAverage.standard(
            categories: SyntheticEvaluation.summaries(), records: SyntheticEvaluation.records))
        // Nothing fetched from elsewhere: no external src/href, no script. (The SVG namespace is an identifier, not a fetch.)
        XCTAssertFalse(html.contains("src=\"http"))
        XCTAssertFalse(html.contains("href="))
        XCTAssertFalse(html.contains("<script"))
        XCTAssert(html.contains("<td class=\"best\">.900 / .870 / .940</td>"))  // the highest NMI of neu_det's table
        XCTAssert(html.contains("<td>.600 / .500 / .700</td>"))
        // NMI, ARI and F1 charts per category and backbone: 4 × 3.
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 12)
    }
}
