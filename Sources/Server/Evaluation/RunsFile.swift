// runs.json and runs.csv: every run with its metrics and stage times, plus (JSON only) the settings, the
// categories with their seeded choices, and the group averages. Numbers are written in Swift's shortest
// round-trip form, identical in both files, so either file gives back the exact Double.
import Engine
import Foundation

enum RunsFile {
    static func json(_ result: EvaluationResult, averages: [GroupAverage]) -> String {
        let s = result.settings
        var out = "{\n  \"command\": \(JSONString.quoted(s.command)),\n  \"settings\": {"
        out += "\"roots\": \(strings(s.roots.map(\.path))), \"categories\": \(s.categories.map(strings) ?? "null"), "
        out += "\"backbones\": \(strings(s.backbones.map(\.name))), \"modes\": \(strings(s.modes.map(\.rawValue))), "
        out += "\"taus\": [\(s.taus.map(number).joined(separator: ", "))], \"normals\": \(s.normals.map(String.init) ?? "null"), "
        out += "\"per_class\": \(s.perClass.map(String.init) ?? "null"), \"seed\": \(s.seed), \"exclude\": \(strings(s.exclude)), "
        out += "\"clusters\": \(JSONString.quoted(s.clusters.text)), \"weights_dir\": \(JSONString.quoted(s.weightsDirectory.path)), "
        out += "\"cache\": \(JSONString.quoted(s.cacheDirectory.path))},\n  \"categories\": ["
        for (i, c) in result.categories.enumerated() {
            let labels = c.labelCounts.map { "\(JSONString.quoted($0.label)): \($0.count)" }.joined(separator: ", ")
            out += (i == 0 ? "\n" : ",\n") + "    {\"name\": \(JSONString.quoted(c.name)), \"group\": \(JSONString.quoted(c.group)), "
            out += "\"layout\": \(JSONString.quoted(c.layout)), \"root\": \(JSONString.quoted(c.root)), \"images\": \(c.images), "
            out += "\"labels\": {\(labels)}, \"excluded\": \(c.excluded), \"test_images\": \(strings(c.testImages)), "
            out += "\"normals\": \(c.normals.map(strings) ?? "null"), "
            out += "\"normals_available\": \(c.normalsAvailable)}"
        }
        out += "\n  ],\n  \"runs\": ["
        for (i, r) in result.records.enumerated() {
            out += (i == 0 ? "\n" : ",\n") + "    {\"category\": \(JSONString.quoted(r.category)), \"group\": \(JSONString.quoted(r.group)), "
            out += "\"backbone\": \(JSONString.quoted(r.backbone)), \"mode\": \(JSONString.quoted(r.mode.rawValue)), "
            out += "\"tau\": \(r.tau.map(number) ?? "null"), \"status\": \(JSONString.quoted(r.status)), \"images\": \(r.images), "
            if let o = r.outcome {
                out += "\"clusters\": \(o.clusters), \"chosen_by\": \(JSONString.quoted(o.chosenBy)), "
                out += "\"nmi\": \(number(o.metrics.nmi)), \"ari\": \(number(o.metrics.ari)), \"f1\": \(number(o.metrics.f1)), "
            } else {
                out += "\"skipped\": \(JSONString.quoted(r.skipped ?? "")), "
            }
            out += "\"seconds\": {\"features\": \(seconds(r.featureSeconds)), \"weights\": \(seconds(r.weightSeconds)), "
            out += "\"clustering\": \(seconds(r.clusteringSeconds))}}"
        }
        out += "\n  ],\n  \"averages\": ["
        for (i, a) in averages.enumerated() {
            out += (i == 0 ? "\n" : ",\n") + "    {\"group\": \(JSONString.quoted(a.group)), "
            out += "\"weighting\": \(JSONString.quoted(a.weighting == .images ? "images" : "categories")), "
            out += "\"categories\": \(strings(a.categories)), \"images\": [\(a.images.map(String.init).joined(separator: ", "))], \"settings\": ["
            let settings = orderedSettings(result.records).filter { a.metrics[$0] != nil }
            for (j, setting) in settings.enumerated() {
                let m = a.metrics[setting]!
                out += (j == 0 ? "" : ", ") + "{\"backbone\": \(JSONString.quoted(setting.backbone)), \"mode\": \(JSONString.quoted(setting.mode.rawValue)), "
                out += "\"tau\": \(setting.tau.map(number) ?? "null"), \"nmi\": \(number(m.nmi)), \"ari\": \(number(m.ari)), \"f1\": \(number(m.f1))}"
            }
            out += "]}"
        }
        return out + "\n  ]\n}\n"
    }

    static let csvHeader = "category,group,backbone,mode,tau,status,images,clusters,chosen_by,nmi,ari,f1,features_seconds,weights_seconds,clustering_seconds,skipped"

    static func csv(_ result: EvaluationResult) -> String {
        var lines = [csvHeader]
        for r in result.records {
            let o = r.outcome
            let fields: [String] = [
                r.category, r.group, r.backbone, r.mode.rawValue, r.tau.map(number) ?? "", r.status, String(r.images),
                o.map { String($0.clusters) } ?? "", o?.chosenBy ?? "",
                o.map { number($0.metrics.nmi) } ?? "", o.map { number($0.metrics.ari) } ?? "", o.map { number($0.metrics.f1) } ?? "",
                seconds(r.featureSeconds), seconds(r.weightSeconds), seconds(r.clusteringSeconds), r.skipped ?? "",
            ]
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The distinct settings of `records` in the order they first ran.
    static func orderedSettings(_ records: [RunRecord]) -> [RunSetting] {
        var seen = Set<RunSetting>()
        return records.map(RunSetting.init).filter { seen.insert($0).inserted }
    }

    /// Shortest round-trip decimal, valid JSON for every finite value.
    static func number(_ value: Double) -> String {
        precondition(value.isFinite, "metrics and τ are finite")
        return "\(value)"
    }

    /// Stage times to the millisecond.
    static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }

    /// RFC 4180: quote a field holding a comma, quote or line break; double its quotes.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func strings(_ values: [String]) -> String { "[" + values.map(JSONString.quoted).joined(separator: ", ") + "]" }
}
