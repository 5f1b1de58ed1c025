// `anomaly-clustering cluster INPUT`: the offline main job on stored embeddings. INPUT is an .npy of
// per-image embeddings X (N×D) or of patch embeddings Z (N×P×D); for Z the patch weights α are computed
// first. Errors are one line naming the problem, with a non-zero exit.
import ArgumentParser
import Engine
import Foundation

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Cluster images from embeddings stored as .npy.",
        discussion: """
            Excluded labels (--exclude) are dropped at clustering time; as in the reference protocol they still
            serve as references for the unsupervised weights. With --clusters auto, K maximises the
            Calinski–Harabasz index over 2…20 on the Ward tree.
            """)

    @Argument(help: "Embeddings .npy: per-image (N×D) or patch embeddings (N×P×D), float32 or float64.")
    var input: String

    @Option(help: "CSV with `image` and `label` columns, one row per image in INPUT order.")
    var labels: String?

    @Option(help: "Drop images with this label before clustering (repeatable; needs --labels).")
    var exclude: [String] = []

    @Option(help: "Number of clusters, or `auto` (default: number of distinct labels, else auto).")
    var clusters: String?

    @Option(help: "Patch weights: unsupervised, semi-supervised (alias supervised) or average (default: unsupervised, or semi-supervised with --normal).")
    var mode: String?

    @Option(help: "Softmax temperature τ ≥ 0 in distance units; 0 is arg-max (default 2).")
    var tau: Double?

    @Option(help: "Patch embeddings (R×P×D .npy) of normal reference images, for semi-supervised mode.")
    var normal: String?

    @Option(help: "Write the image embeddings X that were clustered (rows after --exclude) as .npy.")
    var saveEmbeddings: String?

    @Option(help: "Write the patch weights α (N×P, every input image) as .npy.")
    var saveAlpha: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        let report = try ClusterRun(options: self).execute()
        print(json ? report.json() : report.table(), terminator: "")
    }
}

/// The work of `cluster`, separate from argument parsing so tests can call it directly.
struct ClusterRun {
    let options: ClusterCommand

    init(options: ClusterCommand) { self.options = options }

    func execute() throws -> ClusterReport {
        let o = options
        let array = try NPYArray.read(from: URL(fileURLWithPath: o.input))
        let names = try o.labels.map { try LabelsCSV.read(from: URL(fileURLWithPath: $0)) }
        let n = array.shape.first ?? 0
        if let names, names.labels.count != n {
            throw CLIError("\(o.labels!) has \(names.labels.count) rows but \(o.input) has \(n) images")
        }
        if !o.exclude.isEmpty && names == nil { throw CLIError("--exclude needs --labels") }

        // X for every input image (before exclusion), and α when INPUT holds patch embeddings.
        let x: ImageEmbeddings
        var alpha: [Float]?
        switch array.shape.count {
        case 2:
            for (flag, given) in [("--mode", o.mode != nil), ("--tau", o.tau != nil), ("--normal", o.normal != nil), ("--save-alpha", o.saveAlpha != nil)] where given {
                throw CLIError("\(flag) applies to patch embeddings (N×P×D), but \(o.input) holds per-image embeddings of shape \(shapeText(array.shape))")
            }
            x = try ImageEmbeddings(images: array.shape[0], dimensions: array.shape[1], values: array.values)
        case 3:
            let z = try PatchEmbeddings(images: array.shape[0], patches: array.shape[1], dimensions: array.shape[2], values: array.values)
            let mode = try resolveMode()
            var references: PatchEmbeddings?
            if let path = o.normal {
                let r = try NPYArray.read(from: URL(fileURLWithPath: path))
                guard r.shape.count == 3 else {
                    throw CLIError("\(path) must hold patch embeddings (R×P×D); it has shape \(shapeText(r.shape))")
                }
                guard r.shape[2] == z.dimensions else {
                    throw CLIError("\(path) has \(r.shape[2]) dimensions per patch but \(o.input) has \(z.dimensions)")
                }
                references = try PatchEmbeddings(images: r.shape[0], patches: r.shape[1], dimensions: r.shape[2], values: r.values)
            }
            let tau = o.tau ?? 2
            guard tau >= 0, !tau.isNaN else { throw CLIError("--tau must be a number ≥ 0 (got \(tau))") }
            let scores = try PatchWeights.scores(z, mode: mode, references: references)
            let a = try PatchWeights.softmax(scores: scores, images: z.images, patches: z.patches, tau: tau)
            alpha = a
            x = PatchWeights.weightedAverage(z, alpha: a)
        default:
            throw CLIError("\(o.input) has shape \(shapeText(array.shape)); expected N×D image embeddings or N×P×D patch embeddings")
        }

        // Drop excluded labels, then cluster.
        let excluded = Set(o.exclude)
        let kept = (0..<n).filter { names == nil || !excluded.contains(names!.labels[$0]) }
        guard !kept.isEmpty else { throw CLIError("--exclude removed every image") }
        let clustered = x.selecting(images: kept)
        let keptLabels = names.map { n in kept.map { n.labels[$0] } }
        let (count, chosenBy) = try resolveClusterCount(labels: keptLabels)
        let result = try ImageClustering(clustered, count: count)

        if let path = o.saveEmbeddings {
            try NPYArray(shape: [clustered.images, clustered.dimensions], values: clustered.values)
                .write(to: URL(fileURLWithPath: path))
        }
        if let path = o.saveAlpha, let alpha {
            try NPYArray(shape: [n, alpha.count / n], values: alpha).write(to: URL(fileURLWithPath: path))
        }
        let metrics = keptLabels.map { ClusteringMetrics(trueLabels: $0, clusters: result.assignments) }
        return ClusterReport(
            clusters: result.clusters, chosenBy: chosenBy,
            images: kept.map { names?.images[$0] }, rows: kept, labels: keptLabels,
            assignments: result.assignments, metrics: metrics)
    }

    func resolveMode() throws -> PatchWeightMode {
        guard let name = options.mode else { return options.normal == nil ? .unsupervised : .semiSupervised }
        guard let mode = PatchWeightMode(name: name) else {
            throw CLIError("unknown --mode '\(name)'; expected unsupervised, semi-supervised (or supervised) or average")
        }
        if mode == .semiSupervised && options.normal == nil { throw CLIError("--mode semi-supervised needs --normal NPY") }
        if mode != .semiSupervised && options.normal != nil { throw CLIError("--normal is only used with --mode semi-supervised") }
        return mode
    }

    /// K and how it was decided, as reported to the user: "given", "labels" or "auto (…)".
    func resolveClusterCount(labels: [String]?) throws -> (ClusterCount, String) {
        let automatic = "auto (Calinski–Harabasz)"
        if let text = options.clusters {
            guard let count = ClusterCount(argument: text) else {
                throw CLIError("--clusters must be a positive integer or 'auto' (got '\(text)')")
            }
            return (count, text == "auto" ? automatic : "given")
        }
        if let labels { return (.fixed(Set(labels).count), "labels") }
        return (.automatic(maxClusters: 20), automatic)
    }
}

/// A one-line command-line error.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

func shapeText(_ shape: [Int]) -> String { "(" + shape.map(String.init).joined(separator: ", ") + ")" }
