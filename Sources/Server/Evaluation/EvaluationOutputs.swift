// Writes an evaluation's four files into the output folder: runs.json, runs.csv, results.md and
// report.html, all from the same records and the same group averages.
import Foundation

enum EvaluationOutputs {
    static let files = ["runs.json", "runs.csv", "results.md", "report.html"]

    /// Writes every file (each atomically) and returns their URLs in `files` order.
    @discardableResult
    static func write(_ result: EvaluationResult, to folder: URL) throws -> [URL] {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create the output folder \(folder.path): \(error.localizedDescription)")
        }
        let averages = GroupAverage.standard(categories: result.categories, records: result.records)
        let contents = [
            RunsFile.json(result, averages: averages),
            RunsFile.csv(result),
            ResultsMarkdown.render(result, averages: averages),
            try HTMLReport.render(result, averages: averages),
        ]
        var urls = [URL]()
        for (name, text) in zip(files, contents) {
            let url = folder.appendingPathComponent(name)
            do { try text.write(to: url, atomically: true, encoding: .utf8) } catch {
                throw CLIError("cannot write \(url.path): \(error.localizedDescription)")
            }
            urls.append(url)
        }
        return urls
    }
}
