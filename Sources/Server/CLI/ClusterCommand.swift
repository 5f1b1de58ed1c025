// `anomaly-clustering cluster INPUT`: the offline main job. INPUT is a folder of images (sub-folder names
// are the ground-truth labels), an .npy of patch embeddings Z (N×P×D), or one of per-image embeddings X
// (N×D). Images become Z through a backbone; Z becomes X through the patch weights α; X is clustered.
// Errors are one line naming the problem, with a non-zero exit.
import ArgumentParser
import Engine
import Foundation

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Cluster a folder of images, or embeddings stored as .npy.",
        discussion: "Excluded labels (--exclude) are dropped at clustering time; as in the reference protocol they still serve as references for the unsupervised weights. With --clusters auto, K maximises the Calinski–Harabasz index over 2…20 on the Ward tree.")

    @Argument(help: "A folder of PNG/JPEG images (sub-folders = labels), or an .npy of patch embeddings (N×P×D) or image embeddings (N×D).")
    var input: String

    @Option(help: "CSV with `image` and `label` columns, one row per image in INPUT order (.npy input only).")
    var labels: String?

    @Option(help: "Backbone for image folders, from the registry (default: the registry's default).")
    var backbone: String?

    @OptionGroup var model: ModelFiles

    @Option(help: "Write the patch embeddings Z computed from the images (N×P×D) as .npy.")
    var savePatchEmbeddings: String?

    @Option(help: "Drop images with this label before clustering (repeatable; needs labels from --labels or sub-folders).")
    var exclude: [String] = []

    @Option(help: "Number of clusters, or `auto` (default: number of distinct labels, else auto).")
    var clusters: String?

    @Option(help: "Patch weights: unsupervised, semi-supervised (alias supervised) or average (default: unsupervised, or semi-supervised with --normal).")
    var mode: String?

    @Option(help: "Softmax temperature τ ≥ 0 in distance units; 0 is arg-max (default: the backbone's τ for the mode from the registry; 2 for .npy input).")
    var tau: Double?

    @Option(help: "Normal reference images for semi-supervised mode: a folder of images (image input) or an R×P×D .npy.")
    var normal: String?

    @Option(help: "Nearest-patch search: exact (default), auto (pick sampling/projection to fit --time-budget), or scalable (with --references and/or --projection).")
    var search: String?

    @Option(help: "Scalable search: average each image's unsupervised score over this many sampled other images.")
    var references: Int?

    @Option(help: "Scalable search: distances after a seeded random projection to this many dimensions.")
    var projection: Int?

    @Option(help: "Seed of the scalable search's sampling and projection (default 0).")
    var seed: UInt64 = 0

    @Option(help: "Seconds the patch weights should take with --search auto (default 120).")
    var timeBudget: Double = 120

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

    /// What INPUT gave: image names and labels (if known), and either Z or X.
    struct Batch {
        var names: [String?]
        var labels: [String]?
        var patches: PatchEmbeddings?
        var images: ImageEmbeddings?
        var references: PatchEmbeddings?
        /// τ when --tau is not given: the backbone's per mode (registry) for images; nil for .npy input,
        /// which takes the reference's τ = 2.
        var defaultTau: BackboneSpec.DefaultTau?
    }

    func execute() throws -> ClusterReport {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: options.input, isDirectory: &isDirectory)
        // Options are checked before any image is decoded or any weight is computed.
        let mode = try resolveMode()
        if let tau = options.tau, !(tau >= 0) { throw CLIError("--tau must be a number ≥ 0 (got \(tau))") }
        if let text = options.clusters, ClusterCount(argument: text) == nil {
            throw CLIError("--clusters must be a positive integer or 'auto' (got '\(text)')")
        }
        try requireCorrectBLAS()
        let batch = exists && isDirectory.boolValue ? try loadImages() : try loadEmbeddings()
        return try cluster(batch, mode: mode, tau: options.tau ?? batch.defaultTau?.value(for: mode) ?? 2)
    }

    /// A folder of images through the backbone: Z for the images and, with --normal, for the references.
    func loadImages() throws -> Batch {
        let o = options
        if o.labels != nil { throw CLIError("--labels is for .npy input; an image folder takes labels from its sub-folders") }
        let registry = try BackboneRegistry.load(from: URL(fileURLWithPath: o.model.registry))
        let spec = try registry.spec(named: o.backbone ?? registry.defaultBackbone)
        let files = try ImageFolder.list(URL(fileURLWithPath: o.input))
        let labelled = files.allSatisfy { $0.label != nil }
        let normals = try o.normal.map { try ImageFolder.list(URL(fileURLWithPath: $0)) }
        let extractor = try FeatureExtractor(spec: spec, weightsDirectory: URL(fileURLWithPath: o.model.weightsDir))
        let z = try embed(files.map(\.url), with: extractor, what: "images")
        if let path = o.savePatchEmbeddings {
            try NPYArray(shape: [z.images, z.patches, z.dimensions], values: z.values).write(to: URL(fileURLWithPath: path))
        }
        let references = try normals.map { try embed($0.map(\.url), with: extractor, what: "normal references") }
        return Batch(
            names: files.map(\.name), labels: labelled ? files.map { $0.label! } : nil,
            patches: z, images: nil, references: references, defaultTau: spec.tau)
    }

    /// Z through `extractor`, with progress in images/s on stderr.
    func embed(_ urls: [URL], with extractor: FeatureExtractor, what: String) throws -> PatchEmbeddings {
        let start = Date()
        let z = try extractor.patchEmbeddings(of: urls) { done in
            let seconds = Date().timeIntervalSince(start)
            FileHandle.standardError.write(Data(String(
                format: "\r%@ %@: %d/%d images, %.1f images/s", extractor.spec.name, what, done, urls.count,
                Double(done) / max(seconds, 1e-9)).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        return z
    }

    /// An .npy of Z (N×P×D) or X (N×D), with names and labels from --labels.
    func loadEmbeddings() throws -> Batch {
        let o = options
        if o.backbone != nil || o.savePatchEmbeddings != nil {
            throw CLIError("--backbone and --save-patch-embeddings apply to an image folder, but \(o.input) is not a folder")
        }
        let array = try NPYArray.read(from: URL(fileURLWithPath: o.input))
        let table = try o.labels.map { try LabelsCSV.read(from: URL(fileURLWithPath: $0)) }
        let n = array.shape.first ?? 0
        if let table, table.labels.count != n {
            throw CLIError("\(o.labels!) has \(table.labels.count) rows but \(o.input) has \(n) images")
        }
        var batch = Batch(names: table?.images ?? Array(repeating: nil, count: n), labels: table?.labels)
        switch array.shape.count {
        case 2:
            for (flag, given) in [("--mode", o.mode != nil), ("--tau", o.tau != nil), ("--normal", o.normal != nil), ("--save-alpha", o.saveAlpha != nil)] where given {
                throw CLIError("\(flag) applies to patch embeddings (N×P×D), but \(o.input) holds per-image embeddings of shape \(shapeText(array.shape))")
            }
            batch.images = try named(o.input) { () throws(EmbeddingsError) in
                try ImageEmbeddings(images: array.shape[0], dimensions: array.shape[1], values: array.values)
            }
        case 3:
            batch.patches = try named(o.input) { () throws(EmbeddingsError) in
                try PatchEmbeddings(images: array.shape[0], patches: array.shape[1], dimensions: array.shape[2], values: array.values)
            }
            if let path = o.normal {
                let r = try NPYArray.read(from: URL(fileURLWithPath: path))
                guard r.shape.count == 3 else {
                    throw CLIError("\(path) must hold patch embeddings (R×P×D); it has shape \(shapeText(r.shape))")
                }
                guard r.shape[2] == array.shape[2] else {
                    throw CLIError("\(path) has \(r.shape[2]) dimensions per patch but \(o.input) has \(array.shape[2])")
                }
                batch.references = try named(path) { () throws(EmbeddingsError) in
                    try PatchEmbeddings(images: r.shape[0], patches: r.shape[1], dimensions: r.shape[2], values: r.values)
                }
            }
        default:
            throw CLIError("\(o.input) has shape \(shapeText(array.shape)); expected N×D image embeddings or N×P×D patch embeddings")
        }
        return batch
    }

    /// `make`'s result; an `EmbeddingsError` (a NaN, a count mismatch) is prefixed with the file it came from,
    /// since INPUT and --normal report the same problems in the same words.
    func named<T>(_ path: String, _ make: () throws(EmbeddingsError) -> T) throws -> T {
        do { return try make() } catch { throw CLIError("\(path): \(error)") }
    }

    /// α and X from Z (when given), then exclusion, Ward and metrics (`ClusteringPipeline`, as the server).
    func cluster(_ batch: Batch, mode: PatchWeightMode, tau: Double) throws -> ClusterReport {
        let o = options
        if !o.exclude.isEmpty && batch.labels == nil { throw CLIError("--exclude needs labels (--labels, or image sub-folders)") }
        var alpha: [Float]?
        let x: ImageEmbeddings
        var searchUsed: NeighbourSearch?
        if let z = batch.patches {
            let search = try resolveSearch(images: z.images, patches: z.patches, dimensions: z.dimensions, mode: mode)
            searchUsed = search
            let weighted = try ClusteringPipeline.weigh(z, mode: mode, tau: tau, references: batch.references, search: search)
            alpha = weighted.alpha
            x = weighted.embeddings
        } else {
            x = batch.images!
        }
        let count = try o.clusters.map { text in
            guard let count = ClusterCount(argument: text) else {
                throw CLIError("--clusters must be a positive integer or 'auto' (got '\(text)')")
            }
            return count
        }
        let outcome: ClusteringOutcome
        do {
            outcome = try ClusteringPipeline.cluster(x, labels: batch.labels, exclude: Set(o.exclude), count: count)
        } catch is ClusteringPipelineError {
            throw CLIError("--exclude removed every image")  // the only one left: labels were checked above
        }
        if let path = o.saveEmbeddings {
            let clustered = x.selecting(images: outcome.kept)
            try NPYArray(shape: [clustered.images, clustered.dimensions], values: clustered.values)
                .write(to: URL(fileURLWithPath: path))
        }
        if let path = o.saveAlpha, let alpha {
            try NPYArray(shape: [x.images, alpha.count / x.images], values: alpha).write(to: URL(fileURLWithPath: path))
        }
        return ClusterReport(
            clusters: outcome.clusters, chosenBy: outcome.chosenBy, search: searchUsed?.description,
            images: outcome.kept.map { batch.names[$0] }, rows: outcome.kept, labels: outcome.keptLabels,
            assignments: outcome.assignments, metrics: outcome.metrics)
    }

    /// The search from --search, --references, --projection, --seed and --time-budget.
    func resolveSearch(images n: Int, patches p: Int, dimensions d: Int, mode: PatchWeightMode) throws -> NeighbourSearch {
        let o = options
        let sized = o.references != nil || o.projection != nil
        if let m = o.references, m < 1 { throw CLIError("--references must be at least 1 (got \(m))") }
        if let dims = o.projection, dims < 1 || dims > d {
            throw CLIError("--projection must be from 1 to the embeddings' \(d) dimensions (got \(dims))")
        }
        switch o.search ?? (sized ? "scalable" : "exact") {
        case "exact":
            if sized { throw CLIError("--references and --projection go with --search scalable, not exact") }
            return .exact
        case "scalable":
            guard sized else { throw CLIError("--search scalable needs --references and/or --projection") }
            return NeighbourSearch(references: o.references, projection: o.projection, seed: o.seed)
        case "auto":
            if sized { throw CLIError("--references and --projection go with --search scalable, not auto") }
            guard mode == .unsupervised else { return .exact }
            return NeighbourSearch.choose(
                images: n, patches: p, dimensions: d, rate: BLASStatus.current.sgemmRate, budget: o.timeBudget, seed: o.seed)
        case let other:
            throw CLIError("--search must be exact, auto or scalable (got '\(other)')")
        }
    }

    func resolveMode() throws -> PatchWeightMode {
        guard let name = options.mode else { return options.normal == nil ? .unsupervised : .semiSupervised }
        guard let mode = PatchWeightMode(name: name) else {
            throw CLIError("unknown --mode '\(name)'; expected unsupervised, semi-supervised (or supervised) or average")
        }
        if mode == .semiSupervised && options.normal == nil { throw CLIError("--mode semi-supervised needs --normal (a folder of normal images, or their patch embeddings as .npy)") }
        if mode != .semiSupervised && options.normal != nil { throw CLIError("--normal is only used with --mode semi-supervised") }
        return mode
    }
}

/// The start-up BLAS check (BLASStatus) as a command's error: every command that computes calls this first.
func requireCorrectBLAS() throws(CLIError) {
    do { try BLASStatus.current.requirePassed() } catch { throw CLIError(error.description) }
}

/// A one-line command-line error.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

func shapeText(_ shape: [Int]) -> String { "(" + shape.map(String.init).joined(separator: ", ") + ")" }
