// The evaluation loop: for each category and backbone, Z once (through the feature cache); for each mode,
// the patch scores once (they do not depend on τ); for each τ, α = softmax(s/τ), X = Σ α z, Ward and the
// metrics — the same `PatchWeights` and `ClusteringPipeline` calls as `cluster` and the service. The
// reference protocol (ALGORITHM.md §6): excluded labels leave the clustering but remain references for the
// unsupervised weights; `good` is kept; K = number of labels unless `--clusters` says otherwise.
import Engine
import Foundation

/// The clustering of one run in full, kept for the best run of each category (the report draws it).
struct RunDetail {
    /// Index into `EvaluationResult.records`.
    let record: Int
    let spec: BackboneSpec
    /// Every test image of the category (before exclusion) and the rows that were clustered.
    let images: [ImageFile]
    let kept: [Int]
    let keptLabels: [String]
    let assignments: [Int]
    /// (N, P) for every image in `images`.
    let alpha: [Float]
    let patches: Int
}

struct EvaluationResult {
    let settings: EvaluationSettings
    let categories: [CategorySummary]
    let records: [RunRecord]
    /// Per category name: the run the report draws — the highest NMI among runs with patch weights
    /// (unsupervised, semi-supervised), or among `average` runs when no other mode ran; first of equals.
    let best: [String: RunDetail]
}

final class SweepRunner {
    let settings: EvaluationSettings
    let features: CachedFeatures
    let log: ProgressLog

    init(settings: EvaluationSettings, log: ProgressLog) {
        self.settings = settings
        self.log = log
        features = CachedFeatures(
            cache: FeatureCache(directory: settings.cacheDirectory), weightsDirectory: settings.weightsDirectory, log: log)
    }

    func run() throws -> EvaluationResult {
        let categories = try DatasetLayout.discover(settings.roots, only: settings.categories)
        var summaries = [CategorySummary]()
        var records = [RunRecord]()
        var best = [String: RunDetail]()
        for category in categories {
            let (summary, images, normals) = select(category)
            summaries.append(summary)
            log.line("[\(category.name)] \(summary.images) images (\(summary.labelCounts.map { "\($0.label) \($0.count)" }.joined(separator: ", ")))"
                + (summary.excluded > 0 ? ", \(summary.excluded) excluded" : "")
                + (normals.map { ", \($0.count) normal references" } ?? ", no normal references"))
            for spec in settings.backbones {
                try evaluate(category, images: images, normals: normals, spec: spec, records: &records, best: &best)
            }
        }
        return EvaluationResult(settings: settings, categories: summaries, records: records, best: best)
    }

    /// The images and normal references this evaluation uses for `category` (seeded choices applied).
    func select(_ category: EvaluationCategory) -> (CategorySummary, [ImageFile], [ImageFile]?) {
        var images = category.images
        if let perClass = settings.perClass {
            images = SeededSelection.subset(images, perClass: perClass, seed: settings.seed, category: category.name)
        }
        let normals = category.normals.map {
            SeededSelection.normals($0, count: settings.normals, seed: settings.seed, category: category.name)
        }
        var counts = [(label: String, count: Int)]()
        for image in images {
            if counts.last?.label == image.label { counts[counts.count - 1].count += 1 } else { counts.append((image.label!, 1)) }
        }
        let excluded = images.filter { settings.exclude.contains($0.label!) }.count
        let summary = CategorySummary(
            name: category.name, group: category.group, layout: category.layout, root: category.root.path,
            images: images.count, labelCounts: counts, excluded: excluded, testImages: images.map(\.name),
            normals: normals?.map(\.name),
            normalsAvailable: category.normals?.count ?? 0)
        return (summary, images, normals)
    }

    /// Every mode × τ of one (category, backbone).
    func evaluate(
        _ category: EvaluationCategory, images: [ImageFile], normals: [ImageFile]?, spec: BackboneSpec,
        records: inout [RunRecord], best: inout [String: RunDetail]
    ) throws {
        let labels = images.map { $0.label! }
        let (z, imageSeconds) = try features.patchEmbeddings(of: images, spec: spec, what: "\(category.name) images")
        var featureSeconds = imageSeconds
        var references: PatchEmbeddings?
        if let normals, settings.modes.contains(.semiSupervised) {
            let (r, seconds) = try features.patchEmbeddings(of: normals, spec: spec, what: "\(category.name) normal references")
            references = r
            featureSeconds += seconds
        }
        for mode in settings.modes {
            let taus: [Double?] = mode == .average ? [nil] : settings.taus
            if mode == .semiSupervised && references == nil {
                for tau in taus {
                    records.append(RunRecord(
                        category: category.name, group: category.group, backbone: spec.name, mode: mode, tau: tau,
                        outcome: nil, skipped: "no normal references (\(category.layout) layout)",
                        images: labels.filter { !settings.exclude.contains($0) }.count,
                        featureSeconds: featureSeconds, weightSeconds: 0, clusteringSeconds: 0))
                }
                log.line("  \(spec.name) \(mode.rawValue): skipped, \(category.name) has no normal references")
                continue
            }
            let scoreStart = Date()
            let scores = try PatchWeights.scores(z, mode: mode, references: references, progress: { fraction in
                self.log.status("  \(spec.name) \(mode.rawValue) distances: " + ProgressLog.fractionText(fraction, since: scoreStart))
            })
            let scoreSeconds = Date().timeIntervalSince(scoreStart)
            if mode != .average {
                log.finish(String(format: "  %@ %@ distances: %.1f s", spec.name, mode.rawValue, scoreSeconds))
            }
            for tau in taus {
                let weightStart = Date()
                let alpha = try PatchWeights.softmax(scores: scores, images: z.images, patches: z.patches, tau: tau ?? 1)
                let x = PatchWeights.weightedAverage(z, alpha: alpha)
                let weightSeconds = scoreSeconds + Date().timeIntervalSince(weightStart)
                let clusterStart = Date()
                let outcome: ClusteringOutcome
                do {
                    outcome = try ClusteringPipeline.cluster(
                        x, labels: labels, exclude: Set(settings.exclude), count: settings.clusters.count)
                } catch {
                    throw CLIError("\(category.name), \(spec.name), \(mode.rawValue): \(error)")
                }
                let metrics = outcome.metrics!
                let record = RunRecord(
                    category: category.name, group: category.group, backbone: spec.name, mode: mode, tau: tau,
                    outcome: .init(clusters: outcome.clusters, chosenBy: outcome.chosenBy, metrics: metrics),
                    skipped: nil, images: outcome.kept.count, featureSeconds: featureSeconds,
                    weightSeconds: weightSeconds, clusteringSeconds: Date().timeIntervalSince(clusterStart))
                records.append(record)
                log.line(String(
                    format: "  %@ %@%@: NMI %.3f ARI %.3f F1 %.3f, K = %d (%@); %.2f s weights, %.2f s clustering",
                    spec.name, mode.rawValue, tau.map { " τ=\(tauText($0))" } ?? "", metrics.nmi, metrics.ari, metrics.f1,
                    outcome.clusters, outcome.chosenBy, weightSeconds, record.clusteringSeconds))
                // The report draws one run per category: the highest NMI, preferring runs with patch weights, since
                // an `average` run's α is uniform and its heat maps would be blank.
                let shown = best[category.name].map { records[$0.record] }
                let rank = { (r: RunRecord) in (r.mode == .average ? 0 : 1, r.outcome?.metrics.nmi ?? -.infinity) }
                if shown == nil || rank(record) > rank(shown!) {
                    best[category.name] = RunDetail(
                        record: records.count - 1, spec: spec, images: images, kept: outcome.kept,
                        keptLabels: outcome.keptLabels!, assignments: outcome.assignments, alpha: alpha, patches: z.patches)
                }
            }
        }
    }
}
