// `anomaly-clustering evaluate ROOT…`: the reference protocol on labelled image trees, swept over backbones,
// modes and τ, written to one folder (runs.json, runs.csv, results.md, report.html). The work itself is in
// Evaluation/; this file turns the options into checked `EvaluationSettings`. Errors are one line.
import ArgumentParser
import Engine
import Foundation

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate clustering quality on labelled image trees across backbones, modes and τ.",
        discussion: """
            Each ROOT is an MVTec AD tree (<category>/test/<defect>/*.png with normal references in \
            <category>/train/good), a single category folder (ROOT/test), or a flat tree (<class>/*.jpg: one \
            category named after ROOT, for which semi-supervised runs are reported as skipped). Features are \
            cached per image and backbone (--cache), so a τ sweep or a re-run does not run the backbone again.
            """)

    @Argument(help: "Dataset folders (MVTec-style or flat).")
    var roots: [String]

    @Option(help: "Comma-separated category names to evaluate (default: every category found).")
    var categories: String?

    @Option(help: "Comma-separated backbones from the registry (default: every one whose weights are in --weights-dir).")
    var backbones: String?

    @Option(help: "Comma-separated modes: average, unsupervised, semi-supervised.")
    var modes = "average,unsupervised,semi-supervised"

    @Option(name: .customLong("tau"), help: "Comma-separated τ values ≥ 0 for the unsupervised and semi-supervised modes.")
    var taus = "0,0.5,1,2,4,8,16"

    @Option(help: "Normal references per category, a seeded choice from train/good (default: all).")
    var normals: Int?

    @Option(help: "At most this many test images per class, a seeded choice (default: all).")
    var perClass: Int?

    @Option(help: "Seed of the seeded choices (--normals, --per-class).")
    var seed: UInt64 = 0

    @Option(help: "Comma-separated labels left out of the clustering, or 'none'.")
    var exclude = "combined"

    @Option(help: "Number of clusters: 'labels' (the number of labels, the reference protocol), 'auto', or K.")
    var clusters = "labels"

    @Option(help: "Output folder.")
    var output = "out/evaluation"

    @Option(help: "Feature cache folder (default: OUTPUT/cache).")
    var cache: String?

    @OptionGroup var model: ModelFiles

    func run() throws {
        let settings = try self.settings(command: Self.shellCommand(CommandLine.arguments))
        try requireCorrectBLAS()
        let log = ProgressLog()
        let start = Date()
        let runner = SweepRunner(settings: settings, log: log)
        let result = try runner.run()
        let files = try EvaluationOutputs.write(result, to: settings.outputDirectory)
        log.line(String(
            format: "%d runs in %@ (%d images through a backbone, the rest from the cache); wrote %@",
            result.records.count, ProgressLog.durationText(Date().timeIntervalSince(start)), runner.features.imagesEmbedded,
            files.map(\.path).joined(separator: ", ")))
    }

    /// The checked settings; `command` is recorded in the outputs.
    func settings(command: String) throws -> EvaluationSettings {
        let registry = try BackboneRegistry.load(from: URL(fileURLWithPath: model.registry))
        let weights = URL(fileURLWithPath: model.weightsDir)
        let specs: [BackboneSpec]
        if let backbones {
            specs = try Self.list(backbones, "--backbones").map { try registry.spec(named: $0) }
        } else {
            specs = registry.backbones.filter {
                FileManager.default.fileExists(atPath: weights.appendingPathComponent($0.weights).path)
            }
            if specs.isEmpty { throw CLIError("no backbone has its weights in \(weights.path) ---> HINT: run `make weights`") }
        }
        let modes = try Self.list(modes, "--modes").map { name in
            guard let mode = PatchWeightMode(name: name) else {
                throw CLIError("unknown mode '\(name)' in --modes; expected average, unsupervised or semi-supervised")
            }
            return mode
        }
        let taus = try Self.list(taus, "--tau").map { text in
            guard let tau = Double(text), tau >= 0, tau.isFinite else { throw CLIError("--tau values must be numbers ≥ 0 (got '\(text)')") }
            return tau
        }
        guard let clusterChoice = EvaluationSettings.ClusterChoice(argument: clusters) else {
            throw CLIError("--clusters must be 'labels', 'auto' or a positive integer (got '\(clusters)')")
        }
        if let normals, normals < 1 { throw CLIError("--normals must be at least 1 (got \(normals))") }
        if let perClass, perClass < 1 { throw CLIError("--per-class must be at least 1 (got \(perClass))") }
        let outputDirectory = URL(fileURLWithPath: output)
        return EvaluationSettings(
            command: command, roots: roots.map { URL(fileURLWithPath: $0) },
            categories: try categories.map { try Self.list($0, "--categories") }, backbones: specs, modes: modes,
            taus: taus, normals: normals, perClass: perClass, seed: seed,
            exclude: exclude == "none" ? [] : try Self.list(exclude, "--exclude"), clusters: clusterChoice,
            weightsDirectory: weights,
            cacheDirectory: cache.map { URL(fileURLWithPath: $0) } ?? outputDirectory.appendingPathComponent("cache"),
            outputDirectory: outputDirectory)
    }

    /// Splits a comma-separated option; empty items and repeats are errors naming the option.
    static func list(_ text: String, _ option: String) throws -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if items.contains(where: \.isEmpty) { throw CLIError("\(option): empty item in '\(text)'") }
        if Set(items).count != items.count { throw CLIError("\(option): repeated item in '\(text)'") }
        return items
    }

    /// The arguments as one shell line, quoting those that need it.
    static func shellCommand(_ arguments: [String]) -> String {
        arguments.map { argument in
            let plain = !argument.isEmpty && argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,:+@%".contains($0) }
            return plain ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
