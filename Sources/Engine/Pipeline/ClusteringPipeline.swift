// The sequence after feature extraction, shared by the command line and the server's worker so that both
// give the same clusters for the same inputs: patch weights α and image embeddings X from Z (ALGORITHM.md
// §5–6), then exclusion, Ward and metrics (§7). Excluded labels leave the clustering only: as in the
// reference protocol, their images still serve as references for the unsupervised weights.

/// α (N, P) and X (N, D) of a batch.
public struct WeightedEmbeddings: Sendable {
    public let alpha: [Float]
    public let embeddings: ImageEmbeddings
}

/// What clustering the kept images gave.
public struct ClusteringOutcome: Sendable {
    /// Input rows clustered (after exclusion), in order.
    public let kept: [Int]
    /// Labels of the kept rows, when the batch is labelled.
    public let keptLabels: [String]?
    public let clusters: Int
    /// Cluster of each kept row.
    public let assignments: [Int]
    /// How K was decided: "given", "labels" or "auto (Calinski–Harabasz)".
    public let chosenBy: String
    /// Against the kept labels, when the batch is labelled.
    public let metrics: ClusteringMetrics?
}

/// Why the pipeline could not run on its inputs; the message names the problem.
public struct ClusteringPipelineError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

public enum ClusteringPipeline {
    /// How `chosenBy` reports the automatic count.
    public static let automaticChoice = "auto (Calinski–Harabasz)"

    /// α = softmax(s/τ) over each image's patches and X = Σ α·z.
    /// - Parameters:
    ///   - progress: fraction of the nearest-patch search done (0…1).
    ///   - shouldContinue: polled after each distance tile; false throws `EmbeddingsError.cancelled`.
    ///   - search: exact (the default) or the scalable mode's sampling and projection.
    public static func weigh(
        _ z: PatchEmbeddings, mode: PatchWeightMode, tau: Double, references: PatchEmbeddings? = nil,
        search: NeighbourSearch = .exact, progress: ((Double) -> Void)? = nil, shouldContinue: (() -> Bool)? = nil,
        resumption: SearchResumption? = nil
    ) throws(EmbeddingsError) -> WeightedEmbeddings {
        let scores = try PatchWeights.scores(
            z, mode: mode, references: references, search: search, progress: progress, shouldContinue: shouldContinue,
            resumption: resumption)
        let alpha = try PatchWeights.softmax(scores: scores, images: z.images, patches: z.patches, tau: tau)
        return WeightedEmbeddings(alpha: alpha, embeddings: PatchWeights.weightedAverage(z, alpha: alpha))
    }

    /// The count actually used and how it was decided. nil: the number of distinct labels when there are
    /// labels, else automatic (Calinski–Harabasz over 2…20).
    public static func resolveCount(_ count: ClusterCount?, labels: [String]?) -> (ClusterCount, String) {
        switch count {
        case .fixed(let k)?: return (.fixed(k), "given")
        case .automatic(let maxClusters)?: return (.automatic(maxClusters: maxClusters), automaticChoice)
        case nil:
            if let labels { return (.fixed(Set(labels).count), "labels") }
            return (.automatic(maxClusters: 20), automaticChoice)
        }
    }

    /// Ward on the rows of `x` whose label is not excluded, with metrics when labelled.
    /// - Throws: `ClusteringPipelineError` when `exclude` is given without labels or removes every row;
    ///   `EmbeddingsError` when K does not fit the rows left.
    public static func cluster(
        _ x: ImageEmbeddings, labels: [String]?, exclude: Set<String> = [], count: ClusterCount? = nil
    ) throws -> ClusteringOutcome {
        if let labels { precondition(labels.count == x.images, "one label per row") }
        if !exclude.isEmpty && labels == nil {
            throw ClusteringPipelineError("excluding labels needs labelled images")
        }
        let kept = (0..<x.images).filter { labels == nil || !exclude.contains(labels![$0]) }
        guard !kept.isEmpty else {
            throw ClusteringPipelineError("excluding \(exclude.sorted().joined(separator: ", ")) removed every image")
        }
        let keptLabels = labels.map { all in kept.map { all[$0] } }
        let (resolved, chosenBy) = resolveCount(count, labels: keptLabels)
        let result = try ImageClustering(x.selecting(images: kept), count: resolved)
        return ClusteringOutcome(
            kept: kept, keptLabels: keptLabels, clusters: result.clusters, assignments: result.assignments,
            chosenBy: chosenBy,
            metrics: keptLabels.map { ClusteringMetrics(trueLabels: $0, clusters: result.assignments) })
    }
}
